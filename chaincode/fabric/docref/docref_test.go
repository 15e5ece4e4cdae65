package docref

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func lookup(ws []Write) func(string) ([]byte, bool) {
	return func(k string) ([]byte, bool) {
		for _, w := range ws {
			if w.Key == k {
				return w.Value, true
			}
		}
		return nil, false
	}
}

func TestEncodeDecode(t *testing.T) {
	doc := []byte(`{"id":"20264401000001","steps":[` + strings.Repeat(`{"step":"pickup"},`, 30) + `{}]}`)
	orig := []byte(`{"id":"20264401000000","note":"` + strings.Repeat("原", 120) + `"}`)
	small := []byte(`{"n":1}`)
	ws := []Write{{"manifest~20264401000001", doc}, {"manifest~20264401000000", orig}, {"cap~x", small}}
	event := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name    string
		payload []byte
		refs    int // references expected in the encoding; -1: left literal
	}{
		{"response is the document", doc, 1},
		{"event ends with the document", event([]byte(`{"hash":"h","manifest":`), doc, []byte(`}`)), 1},
		{"event with two documents", event([]byte(`{"manifest":`), doc, []byte(`,"original":`), orig, []byte(`}`)), 2},
		{"the same document twice: first occurrence", event(doc, []byte(","), doc), 1},
		{"small values stay literal", event([]byte(`{"cap":`), small, []byte(`}`)), -1},
		{"no written value", []byte(`{"type":"org.registered"}`), -1},
		{"empty", nil, -1},
		{"a literal starting with byte 0", []byte("\x00\x05abc"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := Encode(tc.payload, ws)
			if tc.refs < 0 {
				if !bytes.Equal(enc, tc.payload) {
					t.Fatalf("Encode changed a payload with nothing to reference: %q", enc)
				}
			} else {
				if !Encoded(enc) || enc[1] != byte(tc.refs) {
					t.Fatalf("Encode = %q, want %d reference(s)", enc, tc.refs)
				}
				if tc.refs > 0 && len(enc) >= len(tc.payload) {
					t.Errorf("encoded %d bytes, no shorter than the payload's %d", len(enc), len(tc.payload))
				}
			}
			dec, err := Decode(enc, lookup(ws))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dec, tc.payload) {
				t.Errorf("Decode(Encode(p)) = %q, want %q", dec, tc.payload)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	doc := bytes.Repeat([]byte("d"), MinLen)
	ws := []Write{{"k", doc}, {"j", doc}}
	good := Encode(append([]byte("ab"), doc...), ws) // 0, 1, at 2, len 1, "k", "ab"
	if want := "\x00\x01\x02\x01kab"; string(good) != want {
		t.Fatalf("Encode = %q, want %q", good, want)
	}
	for _, tc := range []struct {
		name, payload, err string
	}{
		{"unknown key", "\x00\x01\x00\x01zab", `writes no "z"`},
		{"offset beyond the payload", "\x00\x01\x09\x01kab", "offset 9"},
		{"offsets out of order", "\x00\x02\x02\x01k\x00\x01jab", "offset 0"},
		{"a value referenced twice", "\x00\x02\x00\x01k\x05\x01kab", "referenced twice"},
		{"key beyond the payload", "\x00\x01\x00\x09k", "key beyond"},
		{"count beyond the payload", "\x00\x7f", "count exceeds"},
		{"truncated count", "\x00\x80", "bad count"},
		{"truncated offset", "\x00\x01\x80", "bad offset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.payload), lookup(ws))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Decode(%q) = %v, want an error with %q", tc.payload, err, tc.err)
			}
		})
	}
}

// Whatever the payload and the values written, decoding the encoding
// gives the payload back, and the decoder never panics on what it gets.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte(`{"manifest":`+strings.Repeat("x", 300)+`}`), []byte(strings.Repeat("x", 300)), []byte("y"))
	f.Add([]byte("\x00\x01\x02"), []byte{}, []byte{0})
	f.Fuzz(func(t *testing.T, payload, v1, v2 []byte) {
		// Values long enough to be referenced, taken from the payload so
		// that they occur in it.
		ws := []Write{{"a", v1}, {"b", v2}}
		if len(payload) >= MinLen {
			ws = append(ws, Write{"c", payload[len(payload)/3:]}, Write{"d", payload[:MinLen]})
		}
		dec, err := Decode(Encode(payload, ws), lookup(ws))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dec, payload) {
			t.Fatalf("round trip changed the payload")
		}
		Decode(payload, lookup(ws)) // arbitrary input: an error at most
	})
}

// An event names its transaction's id, time and submitter like written
// documents, and restores from the same facts; a fact too short to be
// worth a reference stays literal.
func TestFacts(t *testing.T) {
	doc := []byte(`{"id":"20264401000001","steps":[` + strings.Repeat(`{"step":"pickup"},`, 30) + `{}]}`)
	at := time.Date(2026, 11, 29, 4, 6, 24, 123456789, time.UTC)
	txID := strings.Repeat("3f", 32)
	caller := strings.Repeat("eDUwOTo6Q049", 18)
	ws := append([]Write{{"manifest~20264401000001", doc}}, Facts(txID, at, caller)...)
	ev := []byte(`{"v":1,"type":"manifest.pickup","tx_id":"` + txID + `","time":"2026-11-29T04:06:24.123456789Z","caller":{"msp":"CarrierMSP","id":"` +
		caller + `"},"manifest":` + string(doc) + `,"hash":"h"}`)
	enc := Encode(ev, ws)
	if !Encoded(enc) || enc[1] != 4 {
		t.Fatalf("Encode = %q, want 4 references", enc)
	}
	if want := len(ev) - len(doc) - len(txID) - len(caller) - len("2026-11-29T04:06:24.123456789Z"); len(enc) > want+60 {
		t.Errorf("encoded %d bytes, want about %d", len(enc), want)
	}
	if dec, err := Decode(enc, lookup(ws)); err != nil || !bytes.Equal(dec, ev) {
		t.Fatalf("Decode = %q, %v; want the event", dec, err)
	}
	// Another transaction's facts do not restore it.
	other := append([]Write{{"manifest~20264401000001", doc}}, Facts(strings.Repeat("00", 32), at, caller)...)
	if dec, err := Decode(enc, lookup(other)); err == nil && bytes.Equal(dec, ev) {
		t.Error("the event restored from another transaction's facts")
	}
	short := Facts(txID, at, "x509::a")
	if enc := Encode([]byte(`{"id":"x509::a"}`), short); Encoded(enc) {
		t.Errorf("a 7-byte fact was referenced: %q", enc)
	}
	for _, f := range short {
		if !isFact(f.Key) || utf8.ValidString(f.Key) {
			t.Errorf("fact key %q could be a written key", f.Key)
		}
	}
}
