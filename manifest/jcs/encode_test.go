package jcs_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/manifest"
	"wasteledger/manifest/jcs"
)

type inner struct {
	A string `json:"a"`
	Z int    `json:"z,omitempty"`
}

type Embedded struct {
	E1 string `json:"e1"`
	E2 []int  `json:"e2,omitempty"`
}

type sample struct {
	Embedded
	*inner   `json:"inner_ptr,omitempty"`
	Str      string          `json:"str"`
	Empty    string          `json:"empty,omitempty"`
	Int      int64           `json:"int"`
	Big      int64           `json:"big"`
	Neg      int64           `json:"neg"`
	Uint     uint64          `json:"uint"`
	Float    float64         `json:"float"`
	Bool     bool            `json:"bool"`
	Bytes    []byte          `json:"bytes"`
	NilBytes []byte          `json:"nil_bytes"`
	Slice    []inner         `json:"slice"`
	NilSlice []string        `json:"nil_slice"`
	Map      map[string]any  `json:"map"`
	IntMap   map[int]string  `json:"int_map"`
	Ptr      *inner          `json:"ptr"`
	NilPtr   *inner          `json:"nil_ptr"`
	Omit     *inner          `json:"omit,omitempty"`
	Raw      json.RawMessage `json:"raw"`
	Time     time.Time       `json:"time"`
	TimePtr  *time.Time      `json:"time_ptr,omitempty"`
	Any      any             `json:"any"`
	Array    [3]byte         `json:"array"`
	Skip     string          `json:"-"`
	Dash     string          `json:"-,"`
	NoTag    string
	Unicode  map[string]string `json:"unicode"`
	private  string
}

func samples() []any {
	cst := time.FixedZone("CST", 8*3600)
	tm := time.Date(2026, 11, 28, 9, 30, 0, 123456000, cst)
	gen := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	s := sample{
		Embedded: Embedded{E1: "embedded", E2: []int{3, 1}},
		inner:    &inner{A: "x"},
		Str:      "广州市 \"quoted\" \\ <html> & \u2028 \u0001 \t\n tab 😀 \xff\xfe invalid",
		Int:      42, Big: 9007199254740993, Neg: math.MinInt64, Uint: math.MaxUint64,
		Float: 0.1, Bool: true, Bytes: []byte{0, 1, 2, 250}, Slice: []inner{{A: "b", Z: 2}, {A: "a"}},
		Map:     map[string]any{"b": 1, "a": []any{"x", 2.5, nil, true}, "€": "euro", "\U0001F600": "emoji", "\uffff": "last bmp"},
		IntMap:  map[int]string{10: "ten", 2: "two", -1: "minus"},
		Ptr:     &inner{A: "p"},
		Raw:     json.RawMessage(` { "z" : 1 , "a" : [ 1e2 , "s" ] } `),
		Time:    tm,
		TimePtr: &gen,
		Any:     map[string]int{"k": 1},
		Array:   [3]byte{1, 2, 3},
		Skip:    "never", Dash: "dash", NoTag: "notag",
		Unicode: map[string]string{"é": "1", "e": "2", "\u00e9\u0301": "3"},
		private: "hidden",
	}
	m := manifest.Manifest{ID: "20264401000001", Version: 3, Status: manifest.StatusInTransit, Stream: "medical",
		Draft: manifest.Draft{Producer: "91440112MA5AAAA01X", Site: manifest.Site{Name: "暂存间", Address: "广州市", Region: "440111"},
			Legs:     []manifest.Leg{{Carrier: "c", Permit: "粤交运", Plates: []string{"粤A12345"}}},
			Receiver: "r", ReceiverPermit: "GD", Method: "Y10", Emergency: "拨打 12369",
			Lines: []manifest.Line{{No: 1, Code: "841-001-01", Name: "感染性废物", Form: manifest.Solid, Hazard: "In", Packaging: "box", Packages: 20, Qty: 180, Unit: manifest.Kilogram, Medical: "infectious", Generated: &gen}},
			Ref:   &manifest.Ref{Original: "20264401000000", Kind: "return"}, Paper: &manifest.Paper{Number: "P1", Completed: "2026-11-01"}},
		Created: tm, Updated: tm.Add(time.Hour), Custody: "c", Leg: 0,
		Steps: []manifest.Record{{Step: manifest.StepPickup, TxID: "tx", Committed: tm, Time: gen, From: "a", To: "b", Vehicle: "粤A12345",
			Place: &manifest.Place{LatE6: 23129110, LonE6: 113264385, Text: "装卸区"}, Digest: "d", Statement: `{"a":1}`,
			Signatures: []manifest.SignatureRecord{{Org: "a", Key: "k", Sig: "s", SignedBy: "device"}}}},
		Receipt:   []manifest.Receipt{{Line: 1, Weighed: 170, Accepted: 100, Refused: 70, Unit: manifest.Kilogram, Decision: manifest.PartiallyRefused, Reason: "破损"}},
		Processed: []manifest.Processing{{Line: 1, Method: "Y10", Qty: 100, Unit: manifest.Kilogram, Time: tm, Outputs: []manifest.Output{{Material: "灰渣", Qty: 10, Unit: manifest.Kilogram}}}},
		Flags:     []manifest.Flag{{Rule: manifest.FlagMedicalLate, Line: 1, Detail: "late", At: tm}},
		Followups: []manifest.Followup{{Manifest: "x", Kind: "return", Lines: []manifest.FollowupLine{{Line: 1, Grams: 70000}}}},
	}
	cfg := manifest.DefaultConfig()
	key := manifest.Key{ID: "k", Org: "o", Holder: "h", Kind: manifest.Device, JWK: []byte(`{"kty":"EC"}`), Registered: tm}
	permit := manifest.Permit{ID: "p", Kind: manifest.HWLicence, Org: "o", ValidFrom: "2024-01-01", ValidTo: "2028-12-31", Codes: []string{"HW08"}, CapacityT: 5, Methods: []string{"D10"}, Issued: tm}
	ev := chaincode.Event{V: 1, Type: "manifest.pickup", TxID: "t", Time: tm, Caller: chaincode.Caller{MSP: "m", ID: "i"}, Manifest: json.RawMessage(`{"b":1,"a":2}`), Org: &manifest.Org{ID: "o", Roles: []manifest.Role{manifest.Producer}}}
	return []any{s, &s, m, &m, cfg, key, permit, ev, chaincode.HistoryEntry{TxID: "t", Time: tm, Version: 1},
		nil, 1, "s", []any{}, map[string]any{}, []byte(nil), math.Inf(1), math.NaN(), float32(0.1),
		struct{ F float64 }{1e21}, struct{ F float64 }{-0.0}, struct{ F float64 }{5e-324}, struct{ N json.Number }{"1.50"}}
}

// TestFastPathMatchesEncodingJSON: the direct encoder writes exactly what
// encoding/json followed by Canonicalize writes, or refuses alike.
func TestFastPathMatchesEncodingJSON(t *testing.T) {
	for i, v := range samples() {
		slow, slowErr := jcs.SlowMarshal(v)
		fast, fastErr := jcs.Marshal(v)
		if (slowErr == nil) != (fastErr == nil) || !bytes.Equal(fast, slow) {
			t.Errorf("sample %d (%T):\nfast %s (%v)\nslow %s (%v)", i, v, fast, fastErr, slow, slowErr)
		}
	}
	// The fast path itself handles every type the contract stores.
	for _, v := range samples()[:9] {
		if _, err := jcs.FastMarshal(v); err != nil {
			t.Errorf("fast path refused %T: %v", v, err)
		}
	}
}

func FuzzFastPath(f *testing.F) {
	f.Add("广州", int64(1), 0.5, []byte{1})
	f.Add("\xff\u2028<", int64(-1<<60), 1e21, []byte(nil))
	f.Fuzz(func(t *testing.T, s string, i int64, fl float64, b []byte) {
		v := struct {
			S  string         `json:"s"`
			K  map[string]int `json:"k"`
			I  int64          `json:"i"`
			F  float64        `json:"f"`
			B  []byte         `json:"b,omitempty"`
			SS []string       `json:"ss"`
		}{s, map[string]int{s: 1, "a" + s: 2}, i, fl, b, []string{s, s + s}}
		slow, slowErr := jcs.SlowMarshal(v)
		fast, fastErr := jcs.Marshal(v)
		if (slowErr == nil) != (fastErr == nil) || !bytes.Equal(fast, slow) {
			t.Fatalf("fast %s (%v)\nslow %s (%v)", fast, fastErr, slow, slowErr)
		}
	})
}

func BenchmarkMarshalManifest(b *testing.B) {
	m := samples()[3]
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			jcs.Marshal(m)
		}
	})
	b.Run("slow", func(b *testing.B) {
		for b.Loop() {
			jcs.SlowMarshal(m)
		}
	})
}
