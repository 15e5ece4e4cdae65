package jcs_test

import (
	"testing"

	"wasteledger/manifest/jcs"
)

func BenchmarkCanonicalizeHandover(b *testing.B) {
	in := []byte(`{
  "v": 1, "manifest": "20264401000123", "step": "pickup",
  "from": { "org": "91440101MA5CXXXX1X", "key": "Ch56_tAuhTc-KR0yq1EtxF84TzYCb3WMvqDWOg3sB6Q" },
  "to":   { "org": "91440111MA59ABCD2K", "key": "HQoO7BGULaKLc1b0AJFTXxixLjJnPSV_6i_GiswSF0k" },
  "vehicle": "粤A12345",
  "lines": [ { "line": 1, "code": "900-214-08", "qty": 1200, "unit": "kg", "packages": 4 } ],
  "time": "2026-11-28T09:30:00Z",
  "place": { "lat_e6": 23129110, "lon_e6": 113264385 },
  "prev": "5PC0RS1kuHxJZYbK38deR__C2Ag84CjLFeoeRnduLcI"
}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := jcs.Canonicalize(in); err != nil {
			b.Fatal(err)
		}
	}
}
