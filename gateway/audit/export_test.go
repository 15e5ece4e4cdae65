package audit

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func emptyExport(t testing.TB) []byte {
	var b bytes.Buffer
	x := NewWriter(&b, "440000", "2026", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, 0).UTC(), &LedgerRef{Kind: "fabric"})
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestVerifyExportStructure(t *testing.T) {
	good := emptyExport(t)
	if rep, err := VerifyExport(bytes.NewReader(good)); err != nil || rep.Lines != 2 || rep.Region != "440000" {
		t.Fatalf("VerifyExport(empty export) = %+v, %v", rep, err)
	}
	lines := strings.SplitAfter(string(good), "\n")
	tests := []struct {
		name, in, want string
	}{
		{"no header", lines[1], "line 1 (end): the first record must be the header"},
		{"no trailer", lines[0], "line 2 (end): the export is truncated"},
		{"changed header", strings.Replace(string(good), "440000", "440100", 1), "line 2 (end): the lines before the trailer hash to"},
		{"not JSON", "{\n", "line 1 (?)"},
		{"unknown record", lines[0] + `{"type":"surprise"}` + "\n" + lines[1], "unknown record type"},
		{"keyless key", lines[0] + `{"type":"key"}` + "\n" + lines[1], "line 2 (key): no key"},
		{"bad JWK", lines[0] + `{"type":"key","key":{"kid":"x","org":"o","holder":"h","kind":"device","jwk":"e30=","registered":"2026-01-01T00:00:00Z"}}` + "\n" + lines[1], "line 2 (key x): JWK does not parse"},
		{"empty manifest", lines[0] + `{"type":"manifest","id":"20264401000001"}` + "\n" + lines[1], "line 2 (manifest 20264401000001): no versions"},
		{"after trailer", string(good) + lines[0], "data after the trailer"},
	}
	for _, tt := range tests {
		_, err := VerifyExport(strings.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: VerifyExport = %v, want %q", tt.name, err, tt.want)
		}
	}
}

// FuzzVerifyExport feeds arbitrary bytes to the offline verifier, which
// reads files from outside: it must fail cleanly, never panic.
func FuzzVerifyExport(f *testing.F) {
	good := emptyExport(f)
	f.Add(good)
	f.Add([]byte(strings.Split(string(good), "\n")[0] + "\n" + `{"type":"manifest","id":"20264401000001","versions":[{"version":1,"doc":{"id":"20264401000001","version":1,"steps":[{"step":"sign","statement":"{}","signatures":[{"org":"o","kid":"k","sig":"s"}]}]}}]}` + "\n"))
	f.Add([]byte(`{"type":"header","format":"wasteledger-export/1"}` + "\n" + `{"type":"manifest","id":"x","versions":[{"version":1,"doc":null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := VerifyExport(bytes.NewReader(b))
		if err == nil && rep.Lines < 2 {
			t.Errorf("accepted an export of %d lines", rep.Lines)
		}
	})
}
