package reconcile

import (
	"strings"
	"testing"
	"time"

	"wasteledger/gateway/index"
	"wasteledger/gateway/reconcile/calendar"
	"wasteledger/manifest"
)

func at(y int, mo time.Month, d, h int) int64 {
	return time.Date(y, mo, d, h, 0, 0, 0, manifest.China).UnixNano()
}

func ms(t int64) index.Milestone { return index.Milestone{At: t, Tx: t} }

func findings(env Env, facts ...index.Fact) map[string][]index.Finding {
	c := NewChecker(env)
	for i := range facts {
		c.Add(&facts[i])
	}
	out := map[string][]index.Finding{}
	for _, f := range c.Findings() {
		out[f.Rule] = append(out[f.Rule], f)
	}
	return out
}

func received(id string, delivered, confirmed int64, acceptedG int64) index.Fact {
	return index.Fact{ID: id, Status: manifest.StatusReceived, Stream: "industrial", Region: "440106", Receiver: "R", ReceiverPermit: "L1",
		Created: delivered - 2*int64(time.Hour), PickedUp: ms(delivered - int64(time.Hour)), Delivered: ms(delivered), Received: ms(confirmed),
		Lines: []index.FactLine{{No: 1, Code: "900-214-08", DeclaredG: acceptedG, Received: true, WeighedG: acceptedG, AcceptedG: acceptedG}}}
}

func TestReceiptDeadlineAcrossHolidays(t *testing.T) {
	cal := calendar.Default()
	env := Env{AsOf: index.T(at(2026, 10, 20, 0)), Calendar: cal, Config: manifest.DefaultConfig()}
	tests := []struct {
		name                 string
		delivered, confirmed int64
		late                 bool
	}{
		{"13 Oct is the 5th working day", at(2026, 9, 30, 16), at(2026, 10, 13, 23), false},
		{"14 Oct is late", at(2026, 9, 30, 16), at(2026, 10, 14, 8), true},
		{"Friday before 国庆, confirmed on the Saturday worked", at(2026, 9, 25, 10), at(2026, 10, 10, 9), true}, // 28, 29, 30 Sep, 8, 9 Oct
		{"not confirmed, overdue", at(2026, 10, 8, 10), 0, true},
		{"not confirmed, not yet due", at(2026, 10, 16, 10), 0, false},
	}
	for _, tt := range tests {
		f := received("20264401000001", tt.delivered, tt.confirmed, 1000)
		if tt.confirmed == 0 {
			f.Received, f.Status = index.Milestone{}, manifest.StatusDelivered
		}
		got := len(findings(env, f)[RuleReceiptLate]) > 0
		if got != tt.late {
			t.Errorf("%s: receipt_late = %v, want %v", tt.name, got, tt.late)
		}
	}
}

func TestCapacityAndBatteries(t *testing.T) {
	permits := map[string]manifest.Permit{"L1": {ID: "L1", Org: "R", Kind: manifest.HWLicence, ValidFrom: "2024-01-01", ValidTo: "2030-12-31", CapacityT: 10}}
	env := Env{AsOf: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Calendar: calendar.Default(), Config: manifest.DefaultConfig(), Permits: permits,
		Orgs: map[string]manifest.Org{"D": {ID: "D", Name: "佛山报废机动车回收拆解有限公司"}, "X": {ID: "X", Name: "某回收网点"}}}
	// 4 t + 4 t + 3 t in 2026 against 10 t/yr: the third takes it over.
	// In 2027 a new year starts.
	fs := []index.Fact{
		received("20264401000001", at(2026, 3, 1, 9), at(2026, 3, 1, 10), 4_000_000),
		received("20264401000002", at(2026, 6, 1, 9), at(2026, 6, 1, 10), 4_000_000),
		received("20264401000003", at(2026, 9, 1, 9), at(2026, 9, 1, 10), 3_000_000),
	}
	got := findings(env, fs...)
	if c := got[RuleCapacity]; len(c) != 1 || len(c[0].Manifests) != 1 || c[0].Manifests[0] != "20264401000003" || !strings.Contains(c[0].Detail, "11.000 t") {
		t.Errorf("capacity findings = %+v, want one naming the third manifest and 11 t", c)
	}
	env.Permits = map[string]manifest.Permit{"L1": {ID: "L1", Org: "R", Kind: manifest.HWLicence, ValidFrom: "2024-01-01", ValidTo: "2030-12-31", CapacityT: 12}}
	if c := findings(env, fs...); len(c[RuleCapacity]) != 0 || len(c[RuleCapacityNear]) != 1 {
		t.Errorf("11 t of 12: %+v, want only a capacity_near", c)
	}

	unit := "0AZPE01CATL001N5A0000001"
	bat := func(id, producer string, st manifest.Status, recycled bool) index.Fact {
		f := index.Fact{ID: id, Status: st, Stream: "battery", Region: "440606", Producer: producer, Created: at(2026, 5, 1, 9),
			Lines: []index.FactLine{{No: 1, Code: "EV-BATTERY", DeclaredG: 420_000, Units: []string{unit}}}}
		if recycled {
			f.Lines[0].Processing = &index.FactProcessing{Method: "R4", QtyG: 420_000, At: at(2026, 5, 3, 9), Tx: at(2026, 5, 3, 9)}
		}
		return f
	}
	got = findings(env, bat("20264406000001", "D", manifest.StatusInTransit, false), bat("20264406000002", "X", manifest.StatusSigned, false))
	if d := got[RuleBatteryDup]; len(d) != 1 || len(d[0].Manifests) != 2 {
		t.Errorf("duplicate unit findings = %+v, want one naming both manifests", d)
	}
	got = findings(env, bat("20264406000001", "D", manifest.StatusClosed, false), bat("20264406000002", "X", manifest.StatusClosed, true))
	if len(got[RuleBatteryDup]) != 0 || len(got[RuleBatteryNoOrigin]) != 0 {
		t.Errorf("closed manifests, dismantled then recycled: %+v, want no findings", got)
	}
	got = findings(env, bat("20264406000002", "X", manifest.StatusClosed, true))
	if len(got[RuleBatteryNoOrigin]) != 1 {
		t.Errorf("recycled from a collection point only: %+v, want battery_no_dismantling", got)
	}
}

func TestRefusalGrace(t *testing.T) {
	f := received("20264401000001", at(2026, 10, 8, 9), at(2026, 10, 8, 10), 1_000_000)
	f.Lines[0].AcceptedG, f.Lines[0].RefusedG = 800_000, 200_000
	env := Env{Calendar: calendar.Default(), Config: manifest.DefaultConfig()}
	// Received Thursday 8 October: the 5 working days are 9, 10 (Saturday
	// worked), 12, 13 and 14 October.
	for _, tt := range []struct {
		asOf      time.Time
		followups []index.FactFollowup
		want      bool
	}{
		{time.Date(2026, 10, 14, 23, 0, 0, 0, manifest.China), nil, false},
		{time.Date(2026, 10, 15, 0, 0, 0, 0, manifest.China), nil, true},
		{time.Date(2026, 10, 15, 0, 0, 0, 0, manifest.China), []index.FactFollowup{{Manifest: "20264401000009", Kind: "return", Line: 1, Grams: 150_000}}, true},
		{time.Date(2026, 10, 15, 0, 0, 0, 0, manifest.China), []index.FactFollowup{{Manifest: "20264401000009", Kind: "return", Line: 1, Grams: 200_000}}, false},
	} {
		env.AsOf = tt.asOf
		f.Followups = tt.followups
		if got := len(findings(env, f)[RuleRefused]) > 0; got != tt.want {
			t.Errorf("as of %s with %v: refused_without_followup = %v, want %v", tt.asOf, tt.followups, got, tt.want)
		}
	}
}
