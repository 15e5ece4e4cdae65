package httpx

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"wasteledger/manifest"
)

// The shapes request bodies take: the signed statement envelope (with a
// raw statement), a manifest draft (nested structs, slices, pointers) and
// a catch-all of other field types.
type shapes struct {
	Name    string            `json:"name"`
	Qty     int64             `json:"qty"`
	Small   int8              `json:"small"`
	Ratio   float64           `json:"ratio"`
	On      bool              `json:"on"`
	Opt     *int              `json:"opt"`
	Tags    []string          `json:"tags"`
	Labels  map[string]string `json:"labels"`
	At      time.Time         `json:"at"`
	Raw     json.RawMessage   `json:"raw"`
	Inner   struct{ A int }   `json:"inner"`
	Omitted string            `json:"-"`
}

var decodeCorpus = []string{
	`{}`, `{"name":"a","qty":1}`, `{"NAME":"a"}`, `{"name":"a","name":"b"}`, `{"qty":1.0}`, `{"qty":1e0}`, `{"qty":"1"}`,
	`{"qty":9223372036854775808}`, `{"small":200}`, `{"ratio":1e400}`, `{"ratio":-0}`, `{"on":1}`, `{"on":null}`,
	`{"opt":null}`, `{"opt":3}`, `{"tags":null}`, `{"tags":["a",1]}`, `{"labels":{"a":"b","a":"c"}}`, `{"labels":{"a":1}}`,
	`{"at":"2026-01-02T03:04:05+08:00"}`, `{"at":"2026-01-02"}`, `{"at":null}`, `{"raw":{"b":[1, 2 ]}}`, `{"raw":nul}`,
	`{"raw":"\u00e9"}`, `{"inner":{"A":1,"B":2}}`, `{"inner":{"a":1}}`, `{"Omitted":"x"}`, `{"-":"x"}`,
	`{"name":"\ud800"}`, "{\"name\":\"\xff\"}", "{\"name\":\"a\nb\"}", `{"name":"a\u0000b"}`, `{"name":"\x"}`,
	`{"name":"a"} {}`, `{"name":"a"}}`, `{"name":"a"}]`, `{"name":"a"}x`, `{"name":"a",}`, `[]`, `null`, `"x"`, `1`, ` {"name" : "a" } `,
	`{"statement":{"v":1,"step":"pickup"},"signatures":[{"kid":"k","sig":"s"}]}`, `{"statement":"{}","signatures":null}`,
	`{"statement":{"v":1},"signatures":[{"kid":"k","sig":"s","x":1}]}`, `{"statement":[1,2,3]}`, `{"statement":{"a":1e999}}`,
	`{"producer":"p","site":{"name":"n","region":"440100"},"legs":[{"carrier":"c","plates":["粤A1"]}],"lines":[{"line":1,"qty":5}]}`,
	`{"lines":[{"line":1,"qty":-5,"units":null}],"ref":null,"paper":{}}`, `{"lines":[{"qty":1.5}]}`, `{"legs":{}}`,
}

// TestFastDecodeAccepts: whatever manifest.DecodeStrict (segmentio)
// accepts, the encoding/json decoder DecodeBytes falls back to accepts too,
// into the same value. (What it refuses goes to encoding/json anyway.)
func TestFastDecodeAccepts(t *testing.T) {
	for _, in := range decodeCorpus {
		checkFastDecode(t, []byte(in))
	}
}

func FuzzFastDecodeAccepts(f *testing.F) {
	for _, in := range decodeCorpus {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkFastDecode(t, in) })
}

func checkFastDecode(t *testing.T, in []byte) {
	t.Helper()
	check := func(fast, std any) {
		if manifest.DecodeStrict(in, fast) != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(in))
		dec.DisallowUnknownFields()
		if err := dec.Decode(std); err != nil {
			t.Fatalf("%q into %T: segmentio accepts, encoding/json refuses: %v", in, fast, err)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Fatalf("%q into %T:\nsegmentio     %+v\nencoding/json %+v", in, fast, fast, std)
		}
	}
	check(new(shapes), new(shapes))
	check(new(manifest.Signed), new(manifest.Signed))
	check(new(manifest.Draft), new(manifest.Draft))
}

// TestDecodeBytesRefusalsAsBefore: a body the fast decoder refuses gets
// encoding/json's verdict and message, into a value left as encoding/json
// leaves it.
func TestDecodeBytesRefusalsAsBefore(t *testing.T) {
	var v shapes
	err := DecodeBytes([]byte(`{"name":"a","colour":"red"}`), &v)
	if e, ok := err.(*Error); !ok || e.Field != "colour" {
		t.Fatalf("unknown field: %v", err)
	}
	v = shapes{}
	if err := DecodeBytes([]byte(`{"name":"a"}}`), &v); err != nil || v.Name != "a" {
		t.Fatalf(`{"name":"a"}} (encoding/json's Decoder takes it): %v %+v`, err, v)
	}
	if err := DecodeBytes([]byte(`{"qty":"many"}`), &v); err == nil {
		t.Fatal(`{"qty":"many"} accepted`)
	} else if e := err.(*Error); e.Field != "qty" {
		t.Fatalf(`{"qty":"many"}: field %q, want qty`, e.Field)
	}
}
