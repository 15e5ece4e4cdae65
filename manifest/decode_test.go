package manifest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// TestDecodersAgree holds the faster decoder behind strictJSON and Decode to
// encoding/json's behaviour: same acceptance, same values, on the inputs
// where JSON decoders are known to differ.
func TestDecodersAgree(t *testing.T) {
	std := func(b []byte, v any) error {
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		if err := d.Decode(v); err != nil {
			return err
		}
		if d.More() {
			return errTrailing
		}
		return nil
	}
	inputs := []string{
		`{"v":1,"manifest":"GD202600000001","step":"pickup","time":"2026-01-02T03:04:05+08:00","prev":"ab"}`,
		`{"v":1.0}`, `{"v":1e0}`, `{"v":"1"}`, `{"v":null}`, `{"V":1}`, `{"MANIFEST":"x"}`, `{"step":1}`,
		`{"v":1,"x":2}`, `{"v":1} {}`, `{"v":1}  `, `{"v":1}x`, `{"v":1,"v":2}`, `{"v":1,}`, `{"v":1`, ``, ` `, `[]`, `null`,
		`{"lines":[{"qty":9223372036854775807}]}`, `{"lines":[{"qty":9223372036854775808}]}`,
		`{"lines":[{"qty":-1,"accepted":null}]}`, `{"lines":[{"accepted":0}]}`, `{"lines":null}`, `{"lines":[{"line":01}]}`,
		`{"from":{"org":"a","key":"b","z":1}}`, `{"from":null}`, `{"lines":[{"outputs":[{}]}]}`,
		`{"time":"2026-01-02"}`, `{"time":"2026-01-02T03:04:05.123456789Z"}`,
		`{"manifest":"\ud800"}`, "{\"manifest\":\"\xff\"}", `{"manifest":"a\u0000b"}`, `{"manifest":"\u00e9\u4e2d"}`,
		`{"place":{"lat_e6":1.5}}`, `{"place":{"lat_e6":-0}}`, `{"place":{"lat_e6":23123456,"lon_e6":-113000001}}`,
	}
	for _, in := range inputs {
		var a, b Statement
		ea, eb := std([]byte(in), &a), strictJSON([]byte(in), &b)
		if (ea == nil) != (eb == nil) || (ea == nil && !reflect.DeepEqual(a, b)) {
			t.Errorf("%q:\nencoding/json %v %+v\nstrictJSON    %v %+v", in, ea, a, eb, b)
		}
		var m1, m2, m3 Manifest
		ea, eb = json.Unmarshal([]byte(in), &m1), Decode([]byte(in), &m2)
		if (ea == nil) != (eb == nil) || (ea == nil && !reflect.DeepEqual(m1, m2)) {
			t.Errorf("%q as a manifest:\nencoding/json %v %+v\nDecode        %v %+v", in, ea, m1, eb, m2)
		}
		ec := DecodeShared([]byte(in), &m3)
		if (ea == nil) != (ec == nil) || (ea == nil && !reflect.DeepEqual(m1, m3)) {
			t.Errorf("%q as a manifest:\nencoding/json %v %+v\nDecodeShared  %v %+v", in, ea, m1, ec, m3)
		}
	}
}

// TestDecodeShadowing: a field of an outer struct hides the embedded one's
// field of the same name, as the index's event documents rely on.
func TestDecodeShadowing(t *testing.T) {
	type outer struct {
		Manifest
		Steps []struct {
			Step Step `json:"step"`
		} `json:"steps"`
	}
	in := []byte(`{"id":"GD202600000001","version":3,"steps":[{"step":"sign","tx_id":"t1"}]}`)
	var a, b outer
	if err := json.Unmarshal(in, &a); err != nil {
		t.Fatal(err)
	}
	if err := Decode(in, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) || len(b.Steps) != 1 || b.Manifest.Steps != nil || b.ID == "" {
		t.Errorf("encoding/json %+v\nDecode        %+v", a, b)
	}
}
