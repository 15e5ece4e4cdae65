package manifest_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"wasteledger/manifest"
	"wasteledger/manifest/jcs"
)

func uscc(t testing.TB, first17 string) string {
	c, err := manifest.USCCCheck(first17)
	if err != nil {
		t.Fatal(err)
	}
	return first17 + string(c)
}

type fixture struct {
	producer, carrier0, carrier1, receiver, outsider manifest.Org
	permit0, permit1, licence                        manifest.Permit
	now                                              time.Time
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{now: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	org := func(body, name, region string, r manifest.Role) manifest.Org {
		return manifest.Org{ID: uscc(t, body), Name: name, Region: region, Roles: []manifest.Role{r}, MSP: string(r) + "MSP"}
	}
	f.producer = org("91440112MA5AAAA01", "广州安达汽车零部件有限公司", "440112", manifest.Producer)
	f.carrier0 = org("91440111MA5AAAA02", "广东粤安危险废物运输有限公司", "440111", manifest.Carrier)
	f.carrier1 = org("91440604MA5AAAA03", "佛山南顺危险货物物流有限公司", "440604", manifest.Carrier)
	f.receiver = org("91441300MA5AAAA04", "惠州东江绿源环保科技有限公司", "441300", manifest.Receiver)
	f.outsider = org("91440100MA5AAAA05", "广州某贸易有限公司", "440100", manifest.Producer)
	f.permit0 = manifest.Permit{ID: "粤交运管危000001", Kind: manifest.Transport, Org: f.carrier0.ID, ValidFrom: "2024-01-01", ValidTo: "2029-12-31", Plates: []string{"粤A12345"}}
	f.permit1 = manifest.Permit{ID: "粤交运管危000002", Kind: manifest.Transport, Org: f.carrier1.ID, ValidFrom: "2024-01-01", ValidTo: "2029-12-31", Plates: []string{"粤E34567"}}
	f.licence = manifest.Permit{ID: "GD-HW-0001", Kind: manifest.HWLicence, Org: f.receiver.ID, ValidFrom: "2024-01-01", ValidTo: "2028-12-31",
		Codes: []string{"HW08"}, CapacityT: 1000, Methods: []string{"D10", "R9"}}
	return f
}

func (f *fixture) draft() manifest.Draft {
	return manifest.Draft{
		Producer: f.producer.ID,
		Site:     manifest.Site{Name: "危废暂存间", Address: "广州市黄埔区开发大道 88 号", Region: "440112"},
		Legs: []manifest.Leg{
			{Carrier: f.carrier0.ID, Permit: f.permit0.ID, Plates: []string{"粤A12345"}},
			{Carrier: f.carrier1.ID, Permit: f.permit1.ID, Plates: []string{"粤E34567"}},
		},
		Receiver: f.receiver.ID, ReceiverPermit: f.licence.ID,
		Lines:  []manifest.Line{{No: 1, Code: "900-214-08", Name: "废机油", Form: manifest.Liquid, Hazard: "T,I", Packaging: "drum", Packages: 6, Qty: 1200, Unit: manifest.Kilogram}},
		Method: "D10", Emergency: "吸附棉围堵",
	}
}

func (f *fixture) create(t testing.TB) *manifest.Manifest {
	t.Helper()
	m, err := manifest.NewManifest("20264401000001", f.draft(), manifest.CreateFacts{
		Now: f.now, Config: manifest.DefaultConfig(), Producer: f.producer, Receiver: f.receiver, ReceiverPermit: &f.licence,
		Carriers: []manifest.Org{f.carrier0, f.carrier1}, CarrierPermits: []manifest.Permit{f.permit0, f.permit1},
	})
	if err != nil {
		t.Fatalf("NewManifest: %v", err)
	}
	return m
}

// statement builds a well-formed statement of step signed by from (and to).
func (f *fixture) statement(m *manifest.Manifest, step manifest.Step, from, to manifest.Org, at time.Time) manifest.Statement {
	st := manifest.Statement{V: 1, Manifest: m.ID, Step: step, From: &manifest.Party{Org: from.ID, Key: strings.Repeat("k", 43)}, Time: at, Prev: strings.Repeat("p", 43)}
	if step.Handover() {
		st.To = &manifest.Party{Org: to.ID, Key: strings.Repeat("q", 43)}
	}
	l := m.Lines[0]
	switch step {
	case manifest.StepSign, manifest.StepPickup, manifest.StepRelay, manifest.StepDelivery:
		st.Lines = []manifest.StatementLine{{Line: 1, Code: l.Code, Qty: l.Qty, Unit: l.Unit, Packages: l.Packages}}
	case manifest.StepReceive:
		st.Lines = []manifest.StatementLine{{Line: 1, Code: l.Code, Qty: l.Qty, Unit: l.Unit, Decision: manifest.Accepted}}
	case manifest.StepProcess:
		st.Lines = []manifest.StatementLine{{Line: 1, Code: l.Code, Qty: l.Qty, Unit: l.Unit, Method: "D10"}}
	case manifest.StepCancel:
		st.Reason = "计划变更"
	}
	switch step {
	case manifest.StepPickup:
		st.Vehicle = "粤A12345"
	case manifest.StepRelay, manifest.StepDelivery:
		st.Vehicle = "粤E34567"
	}
	return st
}

func (f *fixture) facts(m *manifest.Manifest, step manifest.Step, at time.Time) manifest.StepFacts {
	sf := manifest.StepFacts{Now: at, Config: manifest.DefaultConfig(), ReceiverPermit: &f.licence, TxID: "tx"}
	switch {
	case step == manifest.StepPickup || (step == manifest.StepRelay && m.Leg < 0):
		sf.CarrierPermit = &f.permit0
	case step.Handover():
		sf.CarrierPermit = &f.permit1
	}
	return sf
}

func (f *fixture) apply(m *manifest.Manifest, step manifest.Step, from, to manifest.Org, at time.Time) error {
	st := f.statement(m, step, from, to, at)
	return m.Apply(st, []byte(fmt.Sprint(st)), []manifest.SignatureRecord{{Org: from.ID}}, f.facts(m, step, at))
}

// state names a point of the lifecycle; in transit is split by leg.
type state string

// reach returns a manifest brought to s by the rightful parties.
func (f *fixture) reach(t *testing.T, s state) *manifest.Manifest {
	t.Helper()
	m := f.create(t)
	at := f.now
	path := []struct {
		name     state
		step     manifest.Step
		from, to manifest.Org
	}{
		{"signed", manifest.StepSign, f.producer, manifest.Org{}},
		{"in_transit/leg0", manifest.StepPickup, f.producer, f.carrier0},
		{"in_transit/leg1", manifest.StepRelay, f.carrier0, f.carrier1},
		{"delivered", manifest.StepDelivery, f.carrier1, f.receiver},
		{"received", manifest.StepReceive, f.receiver, manifest.Org{}},
		{"processed", manifest.StepProcess, f.receiver, manifest.Org{}},
		{"closed", manifest.StepClose, f.producer, manifest.Org{}},
	}
	if s == "draft" {
		return m
	}
	if s == "cancelled" {
		at = at.Add(time.Minute)
		if err := f.apply(m, manifest.StepCancel, f.producer, manifest.Org{}, at); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, p := range path {
		at = at.Add(time.Minute)
		if err := f.apply(m, p.step, p.from, p.to, at); err != nil {
			t.Fatalf("reach %s: %s: %v", s, p.step, err)
		}
		if p.name == s {
			return m
		}
	}
	t.Fatalf("unknown state %s", s)
	return nil
}

// TestTransitions applies every step from every state as every actor. The
// expectations are written here independently of the lifecycle table: a
// step from a state it cannot start from is a conflict; from the right
// state, anyone but the rightful signer is forbidden.
func TestTransitions(t *testing.T) {
	f := newFixture(t)
	states := []state{"draft", "signed", "in_transit/leg0", "in_transit/leg1", "delivered", "received", "processed", "closed", "cancelled"}
	type rule struct {
		from    []state
		actor   func(*fixture) manifest.Org
		to      func(*fixture) manifest.Org
		becomes manifest.Status
	}
	rules := map[manifest.Step]rule{
		manifest.StepSign:     {[]state{"draft"}, func(f *fixture) manifest.Org { return f.producer }, nil, manifest.StatusSigned},
		manifest.StepPickup:   {[]state{"signed"}, func(f *fixture) manifest.Org { return f.producer }, func(f *fixture) manifest.Org { return f.carrier0 }, manifest.StatusInTransit},
		manifest.StepRelay:    {[]state{"in_transit/leg0"}, func(f *fixture) manifest.Org { return f.carrier0 }, func(f *fixture) manifest.Org { return f.carrier1 }, manifest.StatusInTransit},
		manifest.StepDelivery: {[]state{"in_transit/leg1"}, func(f *fixture) manifest.Org { return f.carrier1 }, func(f *fixture) manifest.Org { return f.receiver }, manifest.StatusDelivered},
		manifest.StepReceive:  {[]state{"delivered"}, func(f *fixture) manifest.Org { return f.receiver }, nil, manifest.StatusReceived},
		manifest.StepProcess:  {[]state{"received"}, func(f *fixture) manifest.Org { return f.receiver }, nil, manifest.StatusProcessed},
		manifest.StepClose:    {[]state{"processed"}, func(f *fixture) manifest.Org { return f.producer }, nil, manifest.StatusClosed},
		manifest.StepCancel:   {[]state{"draft", "signed"}, func(f *fixture) manifest.Org { return f.producer }, nil, manifest.StatusCancelled},
	}
	actors := map[string]manifest.Org{"producer": f.producer, "carrier0": f.carrier0, "carrier1": f.carrier1, "receiver": f.receiver, "outsider": f.outsider}
	for _, step := range manifest.Steps {
		r := rules[step]
		for _, s := range states {
			for name, actor := range actors {
				t.Run(fmt.Sprintf("%s/from=%s/by=%s", step, s, name), func(t *testing.T) {
					m := f.reach(t, s)
					before := *m
					var to manifest.Org
					if r.to != nil {
						to = r.to(f)
					}
					err := f.apply(m, step, actor, to, m.Updated.Add(time.Minute))
					rightState := false
					for _, from := range r.from {
						rightState = rightState || from == s
					}
					var want manifest.Code
					switch {
					case !rightState:
						want = manifest.Conflict
					case actor.ID != r.actor(f).ID:
						want = manifest.Forbidden
					}
					if got := manifest.CodeOf(err); got != want {
						t.Fatalf("Apply(%s from %s by %s) = %v, want %q", step, s, name, err, want)
					}
					if want != "" {
						if m.Version != before.Version || m.Status != before.Status || len(m.Steps) != len(before.Steps) {
							t.Fatalf("a refused step changed the manifest")
						}
						return
					}
					if m.Status != r.becomes || m.Version != before.Version+1 || len(m.Steps) != len(before.Steps)+1 {
						t.Fatalf("after %s: status %s version %d, want %s version %d", step, m.Status, m.Version, r.becomes, before.Version+1)
					}
				})
			}
		}
	}
}

// TestHandoverToWrongParty refuses a handover to anyone but the next planned
// holder.
func TestHandoverToWrongParty(t *testing.T) {
	f := newFixture(t)
	m := f.reach(t, "signed")
	err := f.apply(m, manifest.StepPickup, f.producer, f.carrier1, m.Updated.Add(time.Minute))
	if manifest.CodeOf(err) != manifest.Forbidden {
		t.Fatalf("pickup to the second carrier = %v, want forbidden", err)
	}
}

func TestNextStep(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		state    state
		step     manifest.Step
		from, to string
		ok       bool
	}{
		{"draft", manifest.StepSign, f.producer.ID, "", true},
		{"signed", manifest.StepPickup, f.producer.ID, f.carrier0.ID, true},
		{"in_transit/leg0", manifest.StepRelay, f.carrier0.ID, f.carrier1.ID, true},
		{"in_transit/leg1", manifest.StepDelivery, f.carrier1.ID, f.receiver.ID, true},
		{"delivered", manifest.StepReceive, f.receiver.ID, "", true},
		{"received", manifest.StepProcess, f.receiver.ID, "", true},
		{"processed", manifest.StepClose, f.producer.ID, "", true},
		{"closed", "", "", "", false},
		{"cancelled", "", "", "", false},
	}
	for _, tc := range tests {
		m := f.reach(t, tc.state)
		step, from, to, ok := m.NextStep()
		if step != tc.step || from != tc.from || to != tc.to || ok != tc.ok {
			t.Errorf("NextStep() at %s = %s %s→%s %v, want %s %s→%s %v", tc.state, step, from, to, ok, tc.step, tc.from, tc.to, tc.ok)
		}
		if !ok {
			continue
		}
		st, err := m.Template(step, "prev", f.now)
		if err != nil || st.Step != step || st.From.Org != from || (to != "" && st.To.Org != to) {
			t.Errorf("Template(%s) = %+v, %v", step, st, err)
		}
	}
}

// TestDecodeRoundTrip decodes stored manifests at every point of the
// lifecycle with manifest.Decode and with encoding/json, and expects the
// same value back.
func TestDecodeRoundTrip(t *testing.T) {
	f := newFixture(t)
	for _, s := range []state{"draft", "cancelled", "signed", "in_transit/leg1", "received", "closed"} {
		b, err := jcs.Marshal(f.reach(t, s))
		if err != nil {
			t.Fatal(err)
		}
		var fast, std manifest.Manifest
		if err := manifest.Decode(b, &fast); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if err := json.Unmarshal(b, &std); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Errorf("%s: manifest.Decode\n%+v\nencoding/json\n%+v", s, fast, std)
		}
		var shared manifest.Manifest
		if err := manifest.DecodeShared(b, &shared); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if !reflect.DeepEqual(shared, std) {
			t.Errorf("%s: manifest.DecodeShared\n%+v\nencoding/json\n%+v", s, shared, std)
		}
	}
}
