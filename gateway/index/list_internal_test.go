package index

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The quick decoders agree with encoding/json on what they accept, and
// leave the rest to it.
func TestQuickDecodersAgreeWithJSON(t *testing.T) {
	strs := []any{
		[]string{}, []string{"900-214-08"}, []string{"900-214-08", "336-063-17"}, []string{"", "a,b", "废机油", `x"y`, `back\\slash`, "tab\there", "<&>"},
		nil,
	}
	for _, v := range strs {
		j := mustJSON(v)
		var want []string
		if err := json.Unmarshal([]byte(j), &want); err != nil {
			t.Fatal(err)
		}
		if got, ok := quickStrings(j); ok && !reflect.DeepEqual(got, want) {
			t.Errorf("quickStrings(%s) = %q, want %q", j, got, want)
		}
	}
	for _, bad := range []string{`["a",]`, `["a"`, `[1]`, `["a" ,"b"]`, `["a"]x`, `[ "a"]`, "[\"\xff\"]"} {
		if got, ok := quickStrings(bad); ok {
			t.Errorf("quickStrings(%s) = %q, true; want false", bad, got)
		}
	}
	legs := []any{
		[]FactLeg{}, []FactLeg{{Carrier: "91440111MA59AAAA1X", Permit: "粤交运管危440100001"}},
		[]FactLeg{{Carrier: "A", Permit: "P1"}, {Carrier: "B", Permit: ""}}, []FactLeg{{Carrier: `q"uote`, Permit: "p}"}},
		[]FactLeg{{Carrier: "c", Permit: `","permit":"`}}, nil,
	}
	for _, v := range legs {
		j := mustJSON(v)
		var ls []FactLeg
		if err := json.Unmarshal([]byte(j), &ls); err != nil {
			t.Fatal(err)
		}
		want := []string{}
		for _, l := range ls {
			want = append(want, l.Carrier)
		}
		if got, ok := quickCarriers(j); ok && !reflect.DeepEqual(got, want) {
			t.Errorf("quickCarriers(%s) = %q, want %q", j, got, want)
		}
	}
	for _, ok := range []string{`[]`, `[{"carrier":"A","permit":"P"}]`, `[{"carrier":"A","permit":"P"},{"carrier":"B","permit":""}]`} {
		if _, got := quickCarriers(ok); !got {
			t.Errorf("quickCarriers(%s) refused the projection's own form", ok)
		}
	}
	for _, bad := range []string{`[{"permit":"P","carrier":"A"}]`, `[{"carrier":"A"}]`, `[{"carrier":"A","permit":"P"},]`, `[{"carrier":"A","permit":"P","x":1}]`} {
		if got, ok := quickCarriers(bad); ok {
			t.Errorf("quickCarriers(%s) = %q, true; want false", bad, got)
		}
	}
}
