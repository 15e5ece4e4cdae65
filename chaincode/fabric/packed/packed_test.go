package packed

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wasteledger/internal/recent"
)

// manifestDoc is a manifest version as the contract stores it: the closed
// manifest of the chaincode's golden events, in canonical form.
func manifestDoc(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "events", "17-manifest-closed.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var ev struct{ Manifest json.RawMessage }
	if err := json.Unmarshal(b, &ev); err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, ev.Manifest); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// inflate reads a packed value with the standard library alone: the
// format is plain DEFLATE after the marker.
func inflate(t *testing.T, b []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(flate.NewReader(bytes.NewReader(b[1:])))
	if err != nil {
		t.Fatalf("compress/flate cannot read the packed form: %v", err)
	}
	return out
}

func TestEncodeDecode(t *testing.T) {
	doc := manifestDoc(t)
	rnd := make([]byte, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range rnd {
		rnd[i] = byte(r.Uint32())
	}
	long := bytes.Repeat([]byte(`{"step":"relay","org":"91440111MAP50LKAK2"},`), 2000) // matches far longer than 258, chains far longer than the window
	for _, tc := range []struct {
		name   string
		value  []byte
		packed bool
	}{
		{"manifest version", doc, true},
		{"repetitive, 88 KB", long, true},
		{"just at MinLen", bytes.Repeat([]byte("a"), MinLen), true},
		{"just below MinLen", bytes.Repeat([]byte("a"), MinLen-1), false},
		{"small record", []byte(`{"id":"91440112MAWJCLNNCM","msp":"ProducerMSP"}`), false},
		{"capacity counter", []byte("1200000"), false},
		{"incompressible stays literal", rnd, false},
		{"empty", nil, false},
		{"starts with 0, short: packed anyway", []byte{0, 1, 2}, true},
		{"starts with 0, incompressible: packed anyway", append([]byte{0}, rnd...), true},
		{"every byte value", func() []byte {
			b := make([]byte, 0, 1024)
			for i := range 1024 {
				b = append(b, byte(i*7))
			}
			return b
		}(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := Encode(tc.value)
			if Packed(enc) != tc.packed {
				t.Fatalf("packed = %v, want %v (%d → %d bytes)", Packed(enc), tc.packed, len(tc.value), len(enc))
			}
			if !tc.packed && !bytes.Equal(enc, tc.value) {
				t.Fatal("a literal value was changed")
			}
			if tc.packed {
				if got := inflate(t, enc); !bytes.Equal(got, tc.value) {
					t.Fatalf("compress/flate reads back %d bytes that differ from the %d written", len(got), len(tc.value))
				}
			}
			dec, err := Decode(enc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dec, tc.value) {
				t.Fatal("Decode(Encode(v)) != v")
			}
		})
	}
}

// TestSmaller is what the package is for: a manifest version stored in
// less than half its size, and within a few per cent of what
// compress/flate's default level makes of it.
func TestSmaller(t *testing.T) {
	doc := manifestDoc(t)
	enc := Encode(doc)
	var ref bytes.Buffer
	w, _ := flate.NewWriter(&ref, flate.DefaultCompression)
	w.Write(doc)
	w.Close()
	t.Logf("manifest version: %d bytes, packed %d (%.0f %%); compress/flate %d", len(doc), len(enc), 100*float64(len(enc))/float64(len(doc)), ref.Len())
	if len(enc)*2 > len(doc) {
		t.Fatalf("packed %d bytes into %d: less than half expected", len(doc), len(enc))
	}
	if len(enc)-1 > ref.Len()*104/100 {
		t.Fatalf("packed %d bytes into %d, compress/flate into %d", len(doc), len(enc)-1, ref.Len())
	}
}

// The block takes the codes that make it shorter: codes built for a
// manifest version, the fixed ones for bytes that are all different.
func TestBlockType(t *testing.T) {
	distinct := make([]byte, 256)
	for i := range distinct {
		distinct[i] = byte(i * 7)
	}
	for _, tc := range []struct {
		name  string
		value []byte
		btype byte
	}{
		{"manifest version", manifestDoc(t), 2},
		{"256 different bytes", distinct, 1},
	} {
		enc := Encode(tc.value)
		if !Packed(enc) {
			t.Fatalf("%s: not packed", tc.name)
		}
		if got := enc[1] >> 1 & 3; got != tc.btype {
			t.Errorf("%s: block type %d, want %d", tc.name, got, tc.btype)
		}
		if !bytes.Equal(inflate(t, enc), tc.value) {
			t.Errorf("%s: compress/flate reads back something else", tc.name)
		}
	}
}

// The code lengths fit DEFLATE's limits whatever the counts, and the
// codes are complete (Kraft sum 1), as inflaters require.
func TestHuffLengths(t *testing.T) {
	fib := make([]int, 40) // Fibonacci counts: an unlimited Huffman code would be 39 bits deep
	fib[0], fib[1] = 1, 1
	for i := 2; i < len(fib); i++ {
		fib[i] = fib[i-1] + fib[i-2]
	}
	for _, tc := range []struct {
		name  string
		freq  []int
		limit int
	}{
		{"fibonacci, 15 bits", fib, maxCodeBits},
		{"fibonacci, 7 bits", fib[:19], maxCLBits},
		{"one symbol", []int{0, 0, 5, 0}, maxCodeBits},
		{"none", make([]int, numDist), maxCodeBits},
		{"equal", []int{3, 3, 3, 3, 3}, maxCodeBits},
	} {
		lens := huffLengths(tc.freq, tc.limit)
		sum, used := 0.0, 0
		for s, l := range lens {
			if int(l) > tc.limit {
				t.Errorf("%s: symbol %d has %d bits, limit %d", tc.name, s, l, tc.limit)
			}
			if tc.freq[s] > 0 && l == 0 {
				t.Errorf("%s: symbol %d is used and has no code", tc.name, s)
			}
			if l > 0 {
				sum += 1 / float64(uint(1)<<l)
				used++
			}
		}
		if sum != 1 || used < 2 {
			t.Errorf("%s: Kraft sum %v over %d codes, want 1 over at least 2", tc.name, sum, used)
		}
	}
}

// TestEncodingPinned pins the encoder's output: endorsing peers must write
// the same bytes, so a change here is a change of what the chaincode
// writes (see the package documentation) and needs a new chaincode
// version, not a new golden value.
func TestEncodingPinned(t *testing.T) {
	inputs := [][]byte{manifestDoc(t), bytes.Repeat([]byte(`{"line":1,"qty":1200,"unit":"kg"},`), 300), []byte(strings.Repeat("废机油 900-214-08 ", 40))}
	h := sha256.New()
	for _, in := range inputs {
		h.Write(Encode(in))
	}
	const want = "47ed52c7a9f13fb628e0266958453096af8078bffb365b23b1b405d4299fe42b"
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Fatalf("the encoder's output changed: sha256 %s, want %s", got, want)
	}
}

func TestDecodeRefuses(t *testing.T) {
	doc := Encode(manifestDoc(t))
	bomb := func() []byte { // MaxLen+1 zero bytes in a few KB
		var buf bytes.Buffer
		buf.WriteByte(marker)
		w, _ := flate.NewWriter(&buf, flate.BestCompression)
		w.Write(make([]byte, MaxLen+1))
		w.Close()
		return buf.Bytes()
	}()
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"truncated", doc[:len(doc)/2]},
		{"trailing bytes", append(append([]byte{}, doc...), 1, 2, 3)},
		{"not DEFLATE", []byte("\x00\xff\xff\xff\xff")},
		{"only the marker", []byte{0}},
		{"larger than MaxLen", bomb},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if v, err := Decode(tc.b); err == nil {
				t.Fatalf("decoded %d bytes, want an error", len(v))
			}
		})
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add(manifestDoc(f))
	f.Add([]byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, v []byte) {
		enc := Encode(v)
		dec, err := Decode(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dec, v) {
			t.Fatal("Decode(Encode(v)) != v")
		}
		if Packed(enc) {
			if got := inflate(t, enc); !bytes.Equal(got, v) {
				t.Fatal("compress/flate reads back something else")
			}
		}
		// Arbitrary stored bytes never crash the reader.
		_, _ = Decode(append([]byte{marker}, v...))
	})
}

func BenchmarkEncode(b *testing.B) {
	doc := manifestDoc(b)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		Encode(doc)
	}
}

func BenchmarkDecode(b *testing.B) {
	doc := manifestDoc(b)
	enc := Encode(doc)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// A Cache answers what Encode and Decode answer, from memory on the
// second asking, and remembers nothing that failed.
func TestCache(t *testing.T) {
	doc := manifestDoc(t)
	var c Cache
	enc := c.Encode(doc)
	if !bytes.Equal(enc, Encode(doc)) {
		t.Fatal("Cache.Encode differs from Encode")
	}
	if again := c.Encode(doc); &again[0] != &enc[0] {
		t.Error("the second Encode of the same value was not remembered")
	}
	dec, err := c.Decode(enc)
	if err != nil || !bytes.Equal(dec, doc) {
		t.Fatalf("Cache.Decode = %v; want the value", err)
	}
	if &dec[0] != &doc[0] {
		t.Error("decoding what the Cache packed inflated it again")
	}
	var cold Cache
	if dec, err := cold.Decode(enc); err != nil || !bytes.Equal(dec, doc) {
		t.Fatalf("a cold Cache.Decode = %v; want the value", err)
	}
	small := []byte(`{"id":"x"}`)
	if got := c.Encode(small); !bytes.Equal(got, small) {
		t.Error("a small value was changed")
	}
	bad := enc[:len(enc)/2]
	for range 2 {
		if _, err := c.Decode(bad); err == nil {
			t.Fatal("a truncated packed value decoded")
		}
	}
	for i := range recent.DefaultLimit + 10 { // past the bound: emptied, still right
		v := append([]byte(strings.Repeat("x", MinLen)), fmt.Sprint(i)...)
		if got, err := c.Decode(c.Encode(v)); err != nil || !bytes.Equal(got, v) {
			t.Fatalf("value %d: %v", i, err)
		}
	}
}

// DecodeMax refuses a value above its bound and reads one at it.
func TestDecodeMax(t *testing.T) {
	v := bytes.Repeat([]byte("a"), 1000)
	enc := Encode(v)
	if _, err := DecodeMax(enc, len(v)-1); err == nil {
		t.Error("a value one byte over the bound was read")
	}
	if got, err := DecodeMax(enc, len(v)); err != nil || !bytes.Equal(got, v) {
		t.Errorf("a value at the bound: %v", err)
	}
	if got, err := DecodeMax([]byte(`{"a":1}`), 3); err != nil || string(got) != `{"a":1}` {
		t.Errorf("a literal value is not bounded: %q, %v", got, err)
	}

}
