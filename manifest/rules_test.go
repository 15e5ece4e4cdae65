package manifest_test

import (
	"testing"
	"time"

	"wasteledger/manifest"
)

func TestValidUSCC(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"91350100M000100Y43", true}, // the example of GB 32100-2015
		{"91110000802100433B", true},
		{"914403001922038216", true},
		{"91440300708461136T", true},
		{"91440300708461136X", false}, // wrong check character
		{"9144030070846113", false},   // short
		{"914403007084611I6T", false}, // I is not in the alphabet
		{"91AB0300708461136T", false}, // region must be digits
		{"", false},
	}
	for _, tc := range tests {
		if err := manifest.ValidUSCC(tc.in); (err == nil) != tc.ok {
			t.Errorf("ValidUSCC(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func TestNumber(t *testing.T) {
	got, err := manifest.Number(2026, "440111", 123)
	if err != nil || got != "20264401000123" {
		t.Fatalf("Number(2026, 440111, 123) = %q, %v, want 20264401000123", got, err)
	}
	if _, err := manifest.Number(2026, "440111", 1_000_000); manifest.CodeOf(err) != manifest.RuleViolation {
		t.Fatalf("serial 1000000 = %v, want rule_violation", err)
	}
	for _, bad := range []string{"2026440100012", "2026440100012a", "20264401000000"} {
		if manifest.ValidNumber(bad) == nil {
			t.Errorf("ValidNumber(%q) = nil, want an error", bad)
		}
	}
}

func TestPermitValidOn(t *testing.T) {
	p := manifest.Permit{ValidFrom: "2024-01-01", ValidTo: "2028-12-31"}
	cst := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, manifest.China)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		at   time.Time
		want bool
	}{
		{cst("2023-12-31 23:59:59"), false},
		{cst("2024-01-01 00:00:00"), true},
		{cst("2028-12-31 23:59:59"), true},
		{cst("2029-01-01 00:00:00"), false},
		{time.Date(2028, 12, 31, 16, 0, 0, 0, time.UTC), false}, // 2029-01-01 00:00 in China
	}
	for _, tc := range tests {
		if got := p.ValidOn(tc.at); got != tc.want {
			t.Errorf("ValidOn(%s) = %v, want %v", tc.at, got, tc.want)
		}
	}
	revoked := cst("2026-06-01 12:00:00")
	p.Revoked = &revoked
	if p.ValidOn(cst("2026-06-01 12:00:00")) || !p.ValidOn(cst("2026-06-01 11:59:59")) {
		t.Errorf("a permit stops at its revocation")
	}
}

func TestPlates(t *testing.T) {
	p := manifest.Permit{Plates: []string{"粤A12345"}}
	for _, in := range []string{"粤A12345", "粤a 12345", "粤A·12345", "粤A-12345"} {
		if !p.HasPlate(in) {
			t.Errorf("HasPlate(%q) = false, want true", in)
		}
	}
	if p.HasPlate("粤A12346") {
		t.Errorf("HasPlate(粤A12346) = true")
	}
}

// TestReceiveRules covers tolerance, refusals and capacity at the receipt.
func TestReceiveRules(t *testing.T) {
	f := newFixture(t)
	accepted := func(q int64) *int64 { return &q }
	tests := []struct {
		name     string
		line     manifest.StatementLine
		used     int64 // grams already accepted this year
		wantCode manifest.Code
		flags    []string
	}{
		{"exact", manifest.StatementLine{Qty: 1200, Decision: manifest.Accepted}, 0, "", nil},
		{"5 % short is within tolerance", manifest.StatementLine{Qty: 1140, Decision: manifest.Accepted}, 0, "", nil},
		{"5.1 % short is flagged", manifest.StatementLine{Qty: 1138, Decision: manifest.Accepted}, 0, "", []string{manifest.FlagDiscrepancy}},
		{"10 % over is flagged", manifest.StatementLine{Qty: 1320, Decision: manifest.Accepted}, 0, "", []string{manifest.FlagDiscrepancy}},
		{"partial refusal", manifest.StatementLine{Qty: 1200, Decision: manifest.PartiallyRefused, Accepted: accepted(800), Reason: "含水率超标"}, 0, "", []string{manifest.FlagRefused}},
		{"refusal", manifest.StatementLine{Qty: 1200, Decision: manifest.Refused, Reason: "与联单不符"}, 0, "", []string{manifest.FlagRefused}},
		{"refusal needs a reason", manifest.StatementLine{Qty: 1200, Decision: manifest.Refused}, 0, manifest.Invalid, nil},
		{"partial must be partial", manifest.StatementLine{Qty: 1200, Decision: manifest.PartiallyRefused, Accepted: accepted(1200), Reason: "x"}, 0, manifest.Invalid, nil},
		{"unknown decision", manifest.StatementLine{Qty: 1200, Decision: "maybe"}, 0, manifest.Invalid, nil},
		{"negative weight", manifest.StatementLine{Qty: -1, Decision: manifest.Accepted}, 0, manifest.Invalid, nil},
		{"capacity reached", manifest.StatementLine{Qty: 1200, Decision: manifest.Accepted}, 999_000_000, manifest.RuleViolation, nil},
		{"capacity just enough", manifest.StatementLine{Qty: 1200, Decision: manifest.Accepted}, 998_800_000, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := f.reach(t, "delivered")
			at := m.Updated.Add(time.Hour)
			st := f.statement(m, manifest.StepReceive, f.receiver, manifest.Org{}, at)
			tc.line.Line, tc.line.Code, tc.line.Unit = 1, "900-214-08", manifest.Kilogram
			st.Lines = []manifest.StatementLine{tc.line}
			facts := f.facts(m, manifest.StepReceive, at)
			facts.CapacityUsedG = tc.used
			err := m.Apply(st, []byte("x"), nil, facts)
			if got := manifest.CodeOf(err); got != tc.wantCode {
				t.Fatalf("receive = %v, want %q", err, tc.wantCode)
			}
			if err != nil {
				return
			}
			var got []string
			for _, fl := range m.Flags {
				got = append(got, fl.Rule)
			}
			if len(got) != len(tc.flags) {
				t.Fatalf("flags %v, want %v", got, tc.flags)
			}
			for i := range got {
				if got[i] != tc.flags[i] {
					t.Fatalf("flags %v, want %v", got, tc.flags)
				}
			}
		})
	}
}

func TestStatementTime(t *testing.T) {
	f := newFixture(t)
	m := f.reach(t, "signed")
	last := m.Steps[len(m.Steps)-1].Time
	tests := []struct {
		name string
		at   time.Time // statement time
		now  time.Time // ledger time
		want manifest.Code
	}{
		{"on time", last.Add(time.Minute), last.Add(2 * time.Minute), ""},
		{"slightly ahead of the ledger", last.Add(4 * time.Minute), last.Add(time.Minute), ""},
		{"far ahead of the ledger", last.Add(10 * time.Minute), last.Add(time.Minute), manifest.Invalid},
		{"signed offline a day ago", last.Add(time.Minute), last.Add(24 * time.Hour), ""},
		{"signed offline too long ago", last.Add(time.Minute), last.Add(8 * 24 * time.Hour), manifest.RuleViolation},
		{"before the previous step", last.Add(-time.Minute), last.Add(time.Minute), manifest.Conflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := f.reach(t, "signed")
			st := f.statement(m, manifest.StepPickup, f.producer, f.carrier0, tc.at)
			err := m.Apply(st, []byte("x"), nil, f.facts(m, manifest.StepPickup, tc.now))
			if got := manifest.CodeOf(err); got != tc.want {
				t.Fatalf("pickup = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDraftRules(t *testing.T) {
	f := newFixture(t)
	gen := f.now.Add(-time.Hour)
	tests := []struct {
		name string
		edit func(*manifest.Draft)
		want manifest.Code
	}{
		{"valid", func(*manifest.Draft) {}, ""},
		{"zero quantity", func(d *manifest.Draft) { d.Lines[0].Qty = 0 }, manifest.Invalid},
		{"over the line bound", func(d *manifest.Draft) { d.Lines[0].Qty = 200_001 }, manifest.RuleViolation},
		{"grams are fine", func(d *manifest.Draft) { d.Lines[0].Qty, d.Lines[0].Unit = 1_200_000, manifest.Gram }, ""},
		{"tonnes are not a unit", func(d *manifest.Draft) { d.Lines[0].Unit = "t" }, manifest.Invalid},
		{"unknown code", func(d *manifest.Draft) { d.Lines[0].Code = "900-999-08" }, manifest.Invalid},
		{"hazard not of the code", func(d *manifest.Draft) { d.Lines[0].Hazard = "In" }, manifest.Invalid},
		{"identified code declares its hazard", func(d *manifest.Draft) { d.Lines[0].Code, d.Lines[0].Hazard = "900-000-08", "" }, manifest.Invalid},
		{"identified code in a licensed category", func(d *manifest.Draft) { d.Lines[0].Code, d.Lines[0].Hazard = "900-000-08", "T,I" }, ""},
		{"identified code outside the licence", func(d *manifest.Draft) { d.Lines[0].Code, d.Lines[0].Hazard = "900-000-17", "T" }, manifest.RuleViolation},
		{"lines numbered in order", func(d *manifest.Draft) { d.Lines[0].No = 2 }, manifest.Invalid},
		{"code not on the licence", func(d *manifest.Draft) { d.Lines[0].Code, d.Lines[0].Hazard = "336-063-17", "T" }, manifest.RuleViolation},
		{"method not on the licence", func(d *manifest.Draft) { d.Method = "D1" }, manifest.RuleViolation},
		{"medical method for oil", func(d *manifest.Draft) { d.Method = "Y10" }, manifest.RuleViolation},
		{"plate not on the permit", func(d *manifest.Draft) { d.Legs[0].Plates = []string{"粤B00001"} }, manifest.RuleViolation},
		{"two streams on one manifest", func(d *manifest.Draft) {
			d.Lines = append(d.Lines, manifest.Line{No: 2, Code: "841-001-01", Name: "感染性废物", Form: manifest.Solid, Packaging: "box", Packages: 1, Qty: 10, Unit: manifest.Kilogram, Medical: "infectious", Generated: &gen})
		}, manifest.Invalid},
		{"medical fields on oil", func(d *manifest.Draft) { d.Lines[0].Generated = &gen }, manifest.Invalid},
		{"unit codes on oil", func(d *manifest.Draft) { d.Lines[0].Units = []string{"0AZPE01CATL001N5A0000001"} }, manifest.Invalid},
		{"no emergency measures", func(d *manifest.Draft) { d.Emergency = " " }, manifest.Invalid},
		{"same carrier twice in a row", func(d *manifest.Draft) { d.Legs[1] = d.Legs[0] }, manifest.Invalid},
		{"producer as receiver", func(d *manifest.Draft) { d.Receiver = d.Producer }, manifest.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := f.draft()
			tc.edit(&d)
			_, err := manifest.NewManifest("20264401000001", d, manifest.CreateFacts{
				Now: f.now, Config: manifest.DefaultConfig(), Producer: f.producer, Receiver: f.receiver, ReceiverPermit: &f.licence,
				Carriers: []manifest.Org{f.carrier0, f.carrier1}, CarrierPermits: []manifest.Permit{f.permit0, f.permit1},
			})
			if got := manifest.CodeOf(err); got != tc.want {
				t.Fatalf("NewManifest = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestExpiredPermitsAtTransition(t *testing.T) {
	f := newFixture(t)
	m := f.reach(t, "signed")
	at := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC) // the transport permit ended 2029-12-31
	st := f.statement(m, manifest.StepPickup, f.producer, f.carrier0, at)
	err := m.Apply(st, []byte("x"), nil, f.facts(m, manifest.StepPickup, at))
	if manifest.CodeOf(err) != manifest.RuleViolation {
		t.Fatalf("pickup with an expired transport permit = %v, want rule_violation", err)
	}
	m = f.reach(t, "in_transit/leg1")
	f.permit1.ValidTo = "2030-12-31"
	at = time.Date(2029, 6, 1, 0, 0, 0, 0, time.UTC) // the licence ended 2028-12-31
	st = f.statement(m, manifest.StepDelivery, f.carrier1, f.receiver, at)
	err = m.Apply(st, []byte("x"), nil, f.facts(m, manifest.StepDelivery, at))
	if manifest.CodeOf(err) != manifest.RuleViolation {
		t.Fatalf("delivery to an expired licence = %v, want rule_violation", err)
	}
}
