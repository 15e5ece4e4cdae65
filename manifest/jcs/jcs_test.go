package jcs_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"wasteledger/manifest/jcs"
)

// RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical form.
func TestCanonicalizeNumbersRFC8785AppendixB(t *testing.T) {
	tests := []struct{ bits, want string }{
		{"0000000000000000", "0"},
		{"8000000000000000", "0"}, // minus zero
		{"0000000000000001", "5e-324"},
		{"8000000000000001", "-5e-324"},
		{"7fefffffffffffff", "1.7976931348623157e+308"},
		{"ffefffffffffffff", "-1.7976931348623157e+308"},
		{"4340000000000000", "9007199254740992"},
		{"c340000000000000", "-9007199254740992"},
		{"4430000000000000", "295147905179352830000"},
		{"44b52d02c7e14af5", "9.999999999999997e+22"},
		{"44b52d02c7e14af6", "1e+23"},
		{"44b52d02c7e14af7", "1.0000000000000001e+23"},
		{"444b1ae4d6e2ef4e", "999999999999999700000"},
		{"444b1ae4d6e2ef4f", "999999999999999900000"},
		{"444b1ae4d6e2ef50", "1e+21"},
		{"3eb0c6f7a0b5ed8c", "9.999999999999997e-7"},
		{"3eb0c6f7a0b5ed8d", "0.000001"},
		{"41b3de4355555553", "333333333.3333332"},
		{"41b3de4355555554", "333333333.33333325"},
		{"41b3de4355555555", "333333333.3333333"},
		{"41b3de4355555556", "333333333.3333334"},
		{"41b3de4355555557", "333333333.33333343"},
		{"becbf647612f3696", "-0.0000033333333333333333"},
		{"43143ff3c1cb0959", "1424953923781206.2"}, // round to even
	}
	for _, tt := range tests {
		t.Run(tt.bits, func(t *testing.T) {
			checkBits(t, tt.bits, tt.want)
		})
	}
}

// checkBits canonicalises the double with the given bits, written the way Go
// writes it, and compares with want.
func checkBits(t *testing.T, hexBits, want string) {
	t.Helper()
	bits, err := strconv.ParseUint(hexBits, 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	in := strconv.FormatFloat(math.Float64frombits(bits), 'g', -1, 64)
	got, err := jcs.Canonicalize([]byte(in))
	if err != nil {
		t.Fatalf("Canonicalize(%s) error: %v", in, err)
	}
	if string(got) != want {
		t.Errorf("Canonicalize(%s) (bits %s) = %s, want %s", in, hexBits, got, want)
	}
}

// testdata/es_numbers.txt holds 2000 doubles as Node.js's own
// Number::toString writes them.
func TestCanonicalizeNumbersMatchECMAScript(t *testing.T) {
	f, err := os.Open("testdata/es_numbers.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		hexBits, want, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		checkBits(t, hexBits, want)
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 2000 {
		t.Fatalf("read %d numbers, want at least 2000", n)
	}
}

func TestCanonicalizeNumbers(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1e21", "1e+21"},
		{"1e20", "100000000000000000000"},
		{"123456789012345678901", "123456789012345680000"},
		{"1e-7", "1e-7"},
		{"1e-6", "0.000001"},
		{"0.0000012345", "0.0000012345"},
		{"1.5e-7", "1.5e-7"},
		{"5e-324", "5e-324"},
		{"2.4703282292062328e-324", "5e-324"}, // rounds up to the smallest subnormal
		{"1e-400", "0"},                       // underflows to zero, as in JavaScript
		{"-1e-400", "0"},
		{"9007199254740993", "9007199254740992"},
		{"9007199254740995", "9007199254740996"},
		{"-0", "0"},
		{"-0.0", "0"},
		{"0e10", "0"},
		{"4.50", "4.5"},
		{"1E30", "1e+30"},
		{"1E+2", "100"},
		{"2e-3", "0.002"},
		{"0.000000000000000000000000001", "1e-27"},
		{"333333333.33333329", "333333333.3333333"},
		{"100", "100"},
		{"-12.5", "-12.5"},
		{"0.1", "0.1"},
		{"1200", "1200"},
		{"23129110", "23129110"},
		{"999999999999999", "999999999999999"}, // 15 digits: written as read
		{"-999999999999999", "-999999999999999"},
		{"1234567890123456", "1234567890123456"},
		{"9999999999999999", "10000000000000000"}, // 16 digits: rounded to a double
		{"-9999999999999999", "-10000000000000000"},
		{"1.7976931348623157e308", "1.7976931348623157e+308"},
	}
	for _, tt := range tests {
		got, err := jcs.Canonicalize([]byte(tt.in))
		if err != nil {
			t.Errorf("Canonicalize(%s) error: %v", tt.in, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("Canonicalize(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// RFC 8785 §3.2.2 (and the example of §3.2.4).
func TestCanonicalizeRFC8785Example(t *testing.T) {
	in := `{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`
	want := `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`
	got, err := jcs.Canonicalize([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Canonicalize = %s, want %s", got, want)
	}
}

// RFC 8785 §3.2.3: member names sort as UTF-16 code unit arrays, so the
// emoji (a surrogate pair, 0xD83D…) sorts before U+FB33.
func TestCanonicalizeRFC8785Sorting(t *testing.T) {
	in := `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`
	want := "{" +
		`"\r":"Carriage Return",` +
		`"1":"One",` +
		"\"\u0080\":\"Control\"," +
		`"ö":"Latin Small Letter O With Diaeresis",` +
		`"€":"Euro Sign",` +
		`"😀":"Emoji: Grinning Face",` +
		"\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"" +
		"}"
	got, err := jcs.Canonicalize([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Canonicalize = %s, want %s", got, want)
	}
}

func TestCanonicalize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"scalar true", " true ", "true"},
		{"scalar null", "null", "null"},
		{"scalar string", `"x"`, `"x"`},
		{"empty object", "{ }", "{}"},
		{"empty array", "[ ]", "[]"},
		{"whitespace everywhere", " \t\r\n{ \"b\" :\n[ 1 , 2 ] ,\t\"a\" : { } }\n", `{"a":{},"b":[1,2]}`},
		{"nested sort", `{"z":{"y":1,"x":2},"a":[{"d":1,"c":2}]}`, `{"a":[{"c":2,"d":1}],"z":{"x":2,"y":1}}`},
		{"array order kept", `[3,1,2]`, `[3,1,2]`},
		{"prefix sorts first", `{"ab":1,"a":2,"":3}`, `{"":3,"a":2,"ab":1}`},
		{"byte order, not locale", `{"b":1,"B":2,"a":3}`, `{"B":2,"a":3,"b":1}`},
		{"chinese literal", `{"地址":"广州市白云区"}`, `{"地址":"广州市白云区"}`},
		{"chinese escaped", `{"\u5730\u5740":"\u5e7f\u5dde\u5e02\u767d\u4e91\u533a"}`, `{"地址":"广州市白云区"}`},
		{"html characters literal", `"\u003c\u003e\u0026<>&"`, `"<>&<>&"`},
		{"line separators literal", `"\u2028\u2029"`, "\"\u2028\u2029\""},
		{"slash unescaped", `"a\/b"`, `"a/b"`},
		{"short escapes", `"\b\f\n\r\t"`, `"\b\f\n\r\t"`},
		{"other controls lowercase hex", `"\u0000\u0001\u001F\u000B"`, `"\u0000\u0001\u001f\u000b"`},
		{"DEL literal", `"\u007f"`, "\"\x7f\""},
		{"quote and backslash", `"\"\\"`, `"\"\\"`},
		{"uppercase hex escape", `"\u00E9"`, `"é"`},
		{"surrogate pair", `"\uD83D\uDE00"`, `"😀"`},
		{"non-BMP literal", `"𝄞"`, `"𝄞"`},
		{"noncharacter kept", `"\uffff"`, "\"\uffff\""},
		{"duplicate names in different objects", `[{"a":1},{"a":2}]`, `[{"a":1},{"a":2}]`},
		{"integers", `{"qty":1200,"packages":4,"neg":-7}`, `{"neg":-7,"packages":4,"qty":1200}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jcs.Canonicalize([]byte(tt.in))
			if err != nil {
				t.Fatalf("Canonicalize(%s) error: %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("Canonicalize(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestCanonicalizeRejects(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   error
		offset int
	}{
		{"empty", "", jcs.ErrSyntax, 0},
		{"only whitespace", "  ", jcs.ErrSyntax, 2},
		{"invalid UTF-8 in string", "{\"a\":\"\xff\"}", jcs.ErrUTF8, 6},
		{"invalid UTF-8 after escape", "\"\\n\xc3\"", jcs.ErrUTF8, 3},
		{"UTF-8 encoded surrogate", "\"\xed\xa0\x80\"", jcs.ErrUTF8, 1},
		{"overlong UTF-8", "\"\xc0\xaf\"", jcs.ErrUTF8, 1},
		{"truncated UTF-8", "\"\xe5\xb9\"", jcs.ErrUTF8, 1},
		{"invalid UTF-8 in name", "{\"\xfe\":1}", jcs.ErrUTF8, 2},
		{"lone high surrogate", `"ab\ud800"`, jcs.ErrSurrogate, 3},
		{"high surrogate then letter", `"\ud800x"`, jcs.ErrSurrogate, 1},
		{"high surrogate then high", `"\ud800\ud800"`, jcs.ErrSurrogate, 1},
		{"lone low surrogate", `"\udc00"`, jcs.ErrSurrogate, 1},
		{"lone surrogate in name", `{"\ud83d":1}`, jcs.ErrSurrogate, 2},
		{"duplicate name", `{"a":1,"b":2,"a":3}`, jcs.ErrDuplicate, 13},
		{"duplicate after unescaping", `{"a":1,"\u0061":2}`, jcs.ErrDuplicate, 7},
		{"duplicate nested", `[{"x":{"k":1,"k":1}}]`, jcs.ErrDuplicate, 13},
		{"overflow", `[1e400]`, jcs.ErrNumber, 1},
		{"negative overflow", `-1.8e308`, jcs.ErrNumber, 0},
		{"NaN", `NaN`, jcs.ErrSyntax, 0},
		{"Infinity", `[Infinity]`, jcs.ErrSyntax, 1},
		{"leading zero", `01`, jcs.ErrSyntax, 0},
		{"leading plus", `+1`, jcs.ErrSyntax, 0},
		{"bare minus", `-`, jcs.ErrSyntax, 0},
		{"trailing point", `1.`, jcs.ErrSyntax, 0},
		{"leading point", `.5`, jcs.ErrSyntax, 0},
		{"empty exponent", `1e`, jcs.ErrSyntax, 0},
		{"hex number", `0x10`, jcs.ErrTrailing, 1},
		{"trailing data", `{} x`, jcs.ErrTrailing, 3},
		{"two values", `1 2`, jcs.ErrTrailing, 2},
		{"trailing comma array", `[1,]`, jcs.ErrSyntax, 3},
		{"trailing comma object", `{"a":1,}`, jcs.ErrSyntax, 7},
		{"missing colon", `{"a" 1}`, jcs.ErrSyntax, 5},
		{"unquoted name", `{a:1}`, jcs.ErrSyntax, 1},
		{"single quotes", `'a'`, jcs.ErrSyntax, 0},
		{"raw newline in string", "\"a\nb\"", jcs.ErrSyntax, 2},
		{"raw tab in string", "\"a\tb\"", jcs.ErrSyntax, 2},
		{"bad escape", `"\x41"`, jcs.ErrSyntax, 1},
		{"short unicode escape", `"\u12"`, jcs.ErrSyntax, 1},
		{"unterminated string", `"abc`, jcs.ErrSyntax, 4},
		{"unterminated array", `[1`, jcs.ErrSyntax, 2},
		{"unterminated object", `{"a":1`, jcs.ErrSyntax, 6},
		{"byte order mark", "\ufeff{}", jcs.ErrSyntax, 0},
		{"truncated literal", `tru`, jcs.ErrSyntax, 0},
		{"comment", `{} // x`, jcs.ErrTrailing, 3},
		{"too deep arrays", strings.Repeat("[", 129) + strings.Repeat("]", 129), jcs.ErrDepth, 128},
		{"too deep objects", strings.Repeat(`{"a":`, 129) + "1" + strings.Repeat("}", 129), jcs.ErrDepth, 128 * 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jcs.Canonicalize([]byte(tt.in))
			if err == nil {
				t.Fatalf("Canonicalize(%q) = %s, want error %v", tt.in, got, tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Canonicalize(%q) error = %v, want %v", tt.in, err, tt.want)
			}
			var e *jcs.Error
			if !errors.As(err, &e) {
				t.Fatalf("Canonicalize(%q) error = %T, want *jcs.Error", tt.in, err)
			}
			if e.Offset != tt.offset {
				t.Errorf("Canonicalize(%q) error offset = %d, want %d (%v)", tt.in, e.Offset, tt.offset, err)
			}
			if !strings.Contains(err.Error(), "offset "+strconv.Itoa(tt.offset)) {
				t.Errorf("Canonicalize(%q) error %q does not name the offset", tt.in, err)
			}
		})
	}
}

func TestCanonicalizeDepthLimit(t *testing.T) {
	in := strings.Repeat("[", jcs.MaxDepth) + strings.Repeat("]", jcs.MaxDepth)
	got, err := jcs.Canonicalize([]byte(in))
	if err != nil {
		t.Fatalf("Canonicalize(depth %d) error: %v", jcs.MaxDepth, err)
	}
	if string(got) != in {
		t.Errorf("Canonicalize(depth %d) = %s, want the input back", jcs.MaxDepth, got)
	}
	// Depth is nesting, not the number of containers.
	wide := "[" + strings.Repeat("[[]],", 1000) + "[]]"
	if _, err := jcs.Canonicalize([]byte(wide)); err != nil {
		t.Errorf("Canonicalize(1000 siblings) error: %v", err)
	}
}

func TestCanonicalizeErrorMessage(t *testing.T) {
	_, err := jcs.Canonicalize([]byte(`{"manifest":"1","manifest":"2"}`))
	want := `jcs: duplicate member name: "manifest" at byte offset 16`
	if err == nil || err.Error() != want {
		t.Errorf("Canonicalize error = %v, want %s", err, want)
	}
}

func TestCanonicalizeDoesNotAliasInput(t *testing.T) {
	in := []byte(`"abc"`)
	out, err := jcs.Canonicalize(in)
	if err != nil {
		t.Fatal(err)
	}
	in[1] = 'X'
	if string(out) != `"abc"` {
		t.Errorf("output changed with the input: %s", out)
	}
}

func TestMarshal(t *testing.T) {
	type line struct {
		Line int    `json:"line"`
		Code string `json:"code"`
		Qty  int64  `json:"qty"`
		Unit string `json:"unit"`
	}
	v := struct {
		V       int            `json:"v"`
		Vehicle string         `json:"vehicle"`
		Lines   []line         `json:"lines"`
		Note    string         `json:"note"`
		Extra   map[string]any `json:"extra"`
		Ratio   float64        `json:"ratio"`
	}{
		V: 1, Vehicle: "粤A12345",
		Lines: []line{{Line: 1, Code: "900-214-08", Qty: 1200, Unit: "kg"}},
		Note:  "<a&b>", Extra: map[string]any{"z": true, "a": nil}, Ratio: 1e21,
	}
	got, err := jcs.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"extra":{"a":null,"z":true},"lines":[{"code":"900-214-08","line":1,"qty":1200,"unit":"kg"}],"note":"<a&b>","ratio":1e+21,"v":1,"vehicle":"粤A12345"}`
	if string(got) != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	if _, err := jcs.Marshal(math.NaN()); err == nil {
		t.Error("Marshal(NaN) succeeded, want error")
	}
}

// checkCanonical asserts the properties every output must have: it is its
// own canonical form, and it decodes to the same value as the input.
func checkCanonical(t *testing.T, in, out []byte) {
	t.Helper()
	again, err := jcs.Canonicalize(out)
	if err != nil {
		t.Fatalf("Canonicalize(output %q) error: %v", out, err)
	}
	if !bytes.Equal(again, out) {
		t.Fatalf("not idempotent: Canonicalize(%q) = %q", out, again)
	}
	var vin, vout any
	if err := json.Unmarshal(in, &vin); err != nil {
		t.Fatalf("encoding/json rejects accepted input %q: %v", in, err)
	}
	if err := json.Unmarshal(out, &vout); err != nil {
		t.Fatalf("encoding/json rejects output %q: %v", out, err)
	}
	if !reflect.DeepEqual(vin, vout) {
		t.Fatalf("output %q decodes to %#v, input %q to %#v", out, vout, in, vin)
	}
}

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{
		`{"b":[1,2.5,-0,1e21,1e-7],"a":{"\u00e9":"\ud83d\ude00","\r":null},"c":"\u0000\"\\/"}`,
		`[true,false,null,"广州市白云区",{"":{}}]`,
		`{"v":1,"manifest":"20264401000123","lines":[{"qty":1200,"unit":"kg"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := jcs.Canonicalize(in)
		if err != nil {
			var e *jcs.Error
			if !errors.As(err, &e) || e.Offset < 0 || e.Offset > len(in) {
				t.Fatalf("Canonicalize(%q) error %v has no valid offset", in, err)
			}
			return
		}
		checkCanonical(t, in, out)
	})
}
