package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wasteledger/gateway/problem"
)

func TestDecode(t *testing.T) {
	type body struct {
		Name string `json:"name"`
		Qty  int64  `json:"qty"`
	}
	tests := []struct {
		in, ct string
		max    int64
		code   string
		field  string
	}{
		{`{"name":"a","qty":1}`, "application/json", 0, "", ""},
		{`{"name":"a",`, "application/json", 0, problem.BadRequest, ""},
		{`{"name":"a","colour":"red"}`, "application/json", 0, problem.BadRequest, "colour"},
		{`{"qty":"many"}`, "application/json", 0, problem.BadRequest, "qty"},
		{`{"name":"a"} {}`, "application/json", 0, problem.BadRequest, ""},
		{``, "application/json", 0, problem.BadRequest, ""},
		{`{"name":"` + strings.Repeat("x", 100) + `"}`, "application/json", 50, problem.TooLarge, ""},
		{`name=a`, "application/x-www-form-urlencoded", 0, problem.BadRequest, ""},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.in))
		r.Header.Set("Content-Type", tc.ct)
		var b body
		err := Decode(httptest.NewRecorder(), r, &b, tc.max)
		code, field := "", ""
		if e, ok := err.(*Error); ok {
			code, field = e.Code, e.Field
		} else if err != nil {
			code = "?"
		}
		if code != tc.code || field != tc.field {
			t.Errorf("Decode(%.30q) = %v (%s %s), want %s %s", tc.in, err, code, field, tc.code, tc.field)
		}
	}
}
