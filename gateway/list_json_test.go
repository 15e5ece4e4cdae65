package gateway

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"wasteledger/gateway/index"
	"wasteledger/manifest"
)

// appendPage writes what encoding/json writes, byte for byte.
func TestAppendPageIsEncodingJSON(t *testing.T) {
	odd := []string{"", "plain", "废机油 电镀污泥", `q"uo\te`, "<script>&amp;</script>", "ctl\x00\x01\x08\x0c\n\r\t\x1f\x7f",
		"bad\xff\xfeutf8", "\u2028line\u2029para", "emoji 🚚", "a\xe2\x80", string([]byte{0xed, 0xa0, 0x80})}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return odd[rng.IntN(len(odd))] }
	picks := func() []string {
		switch rng.IntN(4) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		out := make([]string, 1+rng.IntN(3))
		for i := range out {
			out[i] = pick()
		}
		return out
	}
	var pages []index.Page
	pages = append(pages, index.Page{}, index.Page{Items: []index.Summary{}}, index.Page{Items: []index.Summary{}, Next: "tok"})
	for n := 0; n < 200; n++ {
		var p index.Page
		if rng.IntN(2) == 0 {
			p.Next = pick()
		}
		for i := rng.IntN(4); i > 0; i-- {
			s := index.Summary{ID: pick(), Status: manifest.Status(pick()), Stream: pick(), Version: rng.IntN(100) - 5, Hash: pick(),
				Producer: pick(), ProducerName: pick(), Receiver: pick(), ReceiverName: pick(), Carriers: picks(), Region: pick(),
				Codes: picks(), DeclaredG: rng.Int64() - rng.Int64(), AcceptedG: rng.Int64N(1 << 40), Flags: rng.IntN(3),
				WaitingFor: picks(), Created: time.Unix(0, rng.Int64N(1<<62)).UTC(), Updated: time.Unix(0, rng.Int64N(1<<62)).In(time.FixedZone("CST", 8*3600))}
			if rng.IntN(2) == 0 {
				s.NextStep = manifest.Step(pick())
			}
			if rng.IntN(5) == 0 {
				s.Created = time.Time{}
			}
			p.Items = append(p.Items, s)
		}
		pages = append(pages, p)
	}
	for _, p := range pages {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(p); err != nil {
			t.Fatal(err)
		}
		got, err := appendPage(nil, p)
		if err != nil {
			t.Fatal(err)
		}
		if got = append(got, '\n'); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("appendPage =\n%s\nencoding/json =\n%s", got, want.Bytes())
		}
	}
}
