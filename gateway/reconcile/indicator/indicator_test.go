package indicator

import (
	"testing"
	"time"

	"wasteledger/gateway/index"
	"wasteledger/gateway/reconcile/calendar"
	"wasteledger/manifest"
)

func at(y int, mo time.Month, d, h, mi int) int64 {
	return time.Date(y, mo, d, h, mi, 0, 0, manifest.China).UnixNano()
}

func ms(t int64) index.Milestone { return index.Milestone{At: t, Tx: t} }

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in       string
		from, to string
	}{
		{"2026", "2026-01-01", "2027-01-01"},
		{"2026-Q3", "2026-07-01", "2026-10-01"},
		{"2026-Q4", "2026-10-01", "2027-01-01"},
		{"2026-11", "2026-11-01", "2026-12-01"},
		{"2026-12", "2026-12-01", "2027-01-01"},
	}
	for _, tt := range tests {
		p, err := ParsePeriod(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if p.From.Format("2006-01-02") != tt.from || p.To.Format("2006-01-02") != tt.to || p.From.Location() != manifest.China {
			t.Errorf("ParsePeriod(%s) = [%s, %s), want [%s, %s) China time", tt.in, p.From, p.To, tt.from, tt.to)
		}
	}
	for _, bad := range []string{"26", "2026-Q5", "2026-13", "2026-1", "2026Q1", ""} {
		if _, err := ParsePeriod(bad); manifest.CodeOf(err) != manifest.Invalid {
			t.Errorf("ParsePeriod(%q) error = %v, want invalid", bad, err)
		}
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		num, den, scale int64
		places          int
		want            string
	}{
		{1, 3, 100, 2, "33.33"},
		{2, 3, 100, 2, "66.67"},
		{1, 8, 100, 2, "12.50"},
		{1, 200000, 100, 2, "0.00"},
		{1, 20000, 100, 2, "0.01"}, // 0.005 rounds up
		{5, 5, 100, 2, "100.00"},
		{60_000, 840_000, 1000, 2, "71.43"},
	}
	for _, tt := range tests {
		if got, _ := ratio(tt.num, tt.den, tt.scale, tt.places); got != tt.want {
			t.Errorf("ratio(%d, %d, %d, %d) = %s, want %s", tt.num, tt.den, tt.scale, tt.places, got, tt.want)
		}
	}
	if _, ok := ratio(1, 0, 100, 2); ok {
		t.Error("ratio(1, 0) ok, want not")
	}
	if got := tonnes(1_234_567_891); got != "1234.567891" {
		t.Errorf("tonnes = %s", got)
	}
	if got := tonnes(5); got != "0.000005" {
		t.Errorf("tonnes(5) = %s", got)
	}
}

// oil is a crafted closed manifest: 1 t declared, weighed and accepted as
// given, processed by method at the given time.
func oil(id, region string, picked, received, processed, closed int64, weighed, accepted int64, method string) index.Fact {
	f := index.Fact{ID: id, Status: manifest.StatusClosed, Stream: "industrial", Region: region, Producer: "P", Created: picked - int64(time.Hour),
		PickedUp: ms(picked), Delivered: ms(received - int64(time.Hour)), Received: ms(received), Closed: ms(closed),
		Lines: []index.FactLine{{No: 1, Code: "900-214-08", DeclaredG: 1_000_000, Received: true, WeighedG: weighed, AcceptedG: accepted, RefusedG: weighed - accepted,
			Processing: &index.FactProcessing{Method: method, QtyG: accepted, At: processed, Tx: processed}}}}
	if closed == 0 {
		f.Status = manifest.StatusProcessed
	}
	return f
}

func value(t *testing.T, r Report, id string) string {
	t.Helper()
	in, ok := r.Find(id)
	if !ok {
		t.Fatalf("no %s", id)
	}
	if in.Value == nil {
		return "null"
	}
	return *in.Value
}

func TestPeriodBoundaries(t *testing.T) {
	// Picked up one minute before midnight on 30 September (China time),
	// received one minute after: Q3 transferred it, Q4 accepted it.
	facts := []index.Fact{
		oil("20264401000001", "440106", at(2026, 9, 30, 23, 59), at(2026, 10, 1, 0, 1), at(2026, 10, 2, 9, 0), at(2026, 10, 3, 9, 0), 980_000, 980_000, "D1"),
		oil("20264401000002", "440106", at(2026, 10, 8, 9, 0), at(2026, 10, 8, 15, 0), at(2026, 12, 31, 23, 59), 0, 1_000_000, 900_000, "R9"),
		oil("20264406000001", "440604", at(2027, 1, 1, 0, 0), at(2027, 1, 1, 3, 0), at(2027, 1, 2, 3, 0), 0, 1_000_000, 1_000_000, "C1"),
	}
	asOf := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	run := func(region, period string) Report {
		p, err := ParsePeriod(period)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Compute(Params{Region: region, Period: p, AsOf: asOf, Calendar: calendar.Default()}, facts)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		region, period, id, want string
	}{
		{"440000", "2026-Q3", HWTransferred, "1.000000"},
		{"440000", "2026-Q3", HWAccepted, "0.000000"},
		{"440000", "2026-Q4", HWTransferred, "1.000000"},
		{"440000", "2026-Q4", HWAccepted, "1.880000"},
		{"440000", "2026-10", ProcessedLandfill, "0.980000"},
		{"440000", "2026-12", ProcessedRecovery, "0.900000"},
		{"440000", "2026", LandfillShare, "52.13"},    // 0.98 / 1.88
		{"440000", "2026", UtilisationShare, "47.87"}, // 0.90 / 1.88
		{"440000", "2026-Q4", LossRate, "1.00"},       // 20 kg of 2 t
		{"440000", "2026-Q3", ClosureRate, "100.00"},
		{"440000", "2026-Q4", ClosureRate, "0.00"},
		{"440000", "2026-Q3", MedianClosure, "57.02"}, // 30 Sep 23:59 → 3 Oct 09:00: 57 h 01 min
		{"440000", "2027", ProcessedCementKiln, "1.000000"},
		{"440100", "2027", ProcessedCementKiln, "0.000000"}, // the Foshan one is not Guangzhou's
		{"440600", "2027-01", ProcessedCementKiln, "1.000000"},
		{"440106", "2026", HWTransferred, "2.000000"},
		{"440000", "2026-Q3", UtilisationShare, "null"}, // nothing processed
	}
	for _, tt := range tests {
		if got := value(t, run(tt.region, tt.period), tt.id); got != tt.want {
			t.Errorf("%s(%s, %s) = %s, want %s", tt.id, tt.region, tt.period, got, tt.want)
		}
	}
}

func TestAsOfIgnoresLaterCommits(t *testing.T) {
	f := oil("20264401000001", "440106", at(2026, 10, 8, 9, 0), at(2026, 10, 8, 15, 0), at(2026, 10, 9, 9, 0), 0, 1_000_000, 1_000_000, "D10")
	// The receipt was signed on 8 October but committed on the 20th (an
	// offline device): as of the 10th it is not yet on the ledger.
	f.Received.Tx = at(2026, 10, 20, 9, 0)
	p, _ := ParsePeriod("2026-10")
	for _, tt := range []struct {
		asOf time.Time
		want string
	}{{time.Date(2026, 10, 10, 0, 0, 0, 0, manifest.China), "0.000000"}, {time.Date(2026, 10, 21, 0, 0, 0, 0, manifest.China), "1.000000"}} {
		r, err := Compute(Params{Region: "440000", Period: p, AsOf: tt.asOf, Calendar: calendar.Default()}, []index.Fact{f})
		if err != nil {
			t.Fatal(err)
		}
		if got := value(t, r, HWAccepted); got != tt.want {
			t.Errorf("accepted as of %s = %s, want %s", tt.asOf, got, tt.want)
		}
	}
}

func TestMedicalAndCoverage(t *testing.T) {
	gen := at(2026, 11, 1, 8, 0)
	med := func(id, producer string, processed int64) index.Fact {
		f := index.Fact{ID: id, Status: manifest.StatusProcessed, Stream: "medical", Region: "440111", Producer: producer, Created: gen,
			PickedUp: ms(gen + int64(time.Hour)), Delivered: ms(gen + 2*int64(time.Hour)), Received: ms(gen + 3*int64(time.Hour)),
			Lines: []index.FactLine{{No: 1, Code: "841-001-01", DeclaredG: 100_000, Generated: gen, Received: true, WeighedG: 100_000, AcceptedG: 100_000}}}
		if processed != 0 {
			f.Lines[0].Processing = &index.FactProcessing{Method: "Y10", QtyG: 100_000, At: processed, Tx: processed}
		}
		return f
	}
	facts := []index.Fact{
		med("20264401000001", "H1", gen+47*int64(time.Hour)), // in time
		med("20264401000002", "H2", gen+49*int64(time.Hour)), // late
		med("20264401000003", "H3", 0),                       // not yet processed
	}
	p, _ := ParsePeriod("2026-11")
	reg := []Institution{{ID: "H1", Region: "440111"}, {ID: "H2", Region: "440104"}, {ID: "H9", Region: "440106"}, {ID: "H8", Region: "440300"}}
	tests := []struct {
		asOf     time.Time
		compl    string
		coverage string
	}{
		// 47.5 h after generation only H1 is disposed; H2 and H3 are not
		// overdue yet and do not count.
		{index.T(gen + 95*int64(time.Hour)/2), "100.00", "66.67"},
		// at 60 h H2 was disposed late and H3 is overdue: 1 of 3 in time.
		{index.T(gen + 60*int64(time.Hour)), "33.33", "66.67"},
	}
	for _, tt := range tests {
		r, err := Compute(Params{Region: "440100", Period: p, AsOf: tt.asOf, Calendar: calendar.Default(), Institutions: reg}, facts)
		if err != nil {
			t.Fatal(err)
		}
		if got := value(t, r, Medical48h); got != tt.compl {
			t.Errorf("48 h compliance as of %s = %s, want %s", tt.asOf, got, tt.compl)
		}
		// H1 and H2 are registered in Guangzhou (3 registered there): 2 of 3;
		// H3 is not registered and is noted, not counted.
		in, _ := r.Find(MedicalCoverage)
		if got := value(t, r, MedicalCoverage); got != tt.coverage || in.Note == "" {
			t.Errorf("coverage = %s (%s), want %s with a note on the unregistered producer", got, in.Note, tt.coverage)
		}
	}
	r, _ := Compute(Params{Region: "440100", Period: p, AsOf: time.Now(), Calendar: calendar.Default()}, facts)
	if got := value(t, r, MedicalCoverage); got != "null" {
		t.Errorf("coverage without a registry = %s, want null", got)
	}
}
