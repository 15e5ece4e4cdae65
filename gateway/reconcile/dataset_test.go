package reconcile_test

import (
	"context"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/index"
	"wasteledger/gateway/index/indextest"
	"wasteledger/manifest"
)

// cst is a time in China.
func cst(y int, mo time.Month, d, h, mi int) time.Time {
	return time.Date(y, mo, d, h, mi, 0, 0, manifest.China)
}

// spec is what the test itself knows of a trip: what it declared, what the
// receiver recorded and when, written down as the trip is planned. The
// expected figures are computed from specs alone.
type spec struct {
	name      string
	trip      *scenario.Trip
	region    string // producer's site
	stream    string
	paper     bool
	times     indextest.Times
	cancelled bool
	to        manifest.Status
	lines     []specLine
	onTime    *bool // expected receipt confirmation verdict, reasoned by hand
}

type specLine struct {
	code      string
	declG     int64
	weighedG  int64
	acceptedG int64
	generated time.Time
	units     []string
	bucket    string // landfill, incineration, cement_kiln, recovery, treatment; "" if not processed
	outputsG  int64
}

type dataset struct {
	ledger *indextest.Ledger
	world  *scenario.World
	specs  []*spec
	byName map[string]*spec
	asOf   time.Time
	// extra parties
	guangxi, collector *scenario.Party
	guangxiLicence     manifest.Permit
	online             time.Time // statement time of the online trips
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// buildDataset runs the trips on a fresh embedded ledger.
func buildDataset(t *testing.T) *dataset {
	t.Helper()
	ctx := context.Background()
	l := indextest.Open(t)
	h := l.Host()
	w := scenario.NewWorld()
	if err := w.Setup(ctx, h); err != nil {
		t.Fatal(err)
	}
	d := &dataset{ledger: l, world: w, byName: map[string]*spec{}}
	// A receiver in Guangxi (province 45), and a battery collection point
	// that is not a dismantler.
	d.guangxi = scenario.NewParty("广西桂环再生资源有限公司", "450100", scenario.ReceiverMSP, manifest.Receiver)
	d.collector = scenario.NewParty("广州城北新能源电池回收服务网点", "440111", scenario.ProducerMSP, manifest.Producer)
	for _, p := range []*scenario.Party{d.guangxi, d.collector} {
		if err := scenario.Register(ctx, h, w.RegulatorCaller(), p); err != nil {
			t.Fatal(err)
		}
	}
	d.guangxiLicence = manifest.Permit{ID: "GX-HW-" + d.guangxi.Org.ID[10:17], Kind: manifest.HWLicence, Org: d.guangxi.Org.ID,
		ValidFrom: "2024-01-01", ValidTo: "2028-12-31", Codes: []string{"HW08", "HW17"}, CapacityT: 5, Methods: []string{"D10"}}
	if err := scenario.Issue(ctx, h, w.RegulatorCaller(), d.guangxiLicence); err != nil {
		t.Fatal(err)
	}
	d.online = time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	on := indextest.Times{Sign: d.online, Pickup: d.online, Relay: d.online, Delivery: d.online, Receive: d.online, Process: d.online, Close: d.online}
	paper := func(tr *scenario.Trip, no, completed string) *scenario.Trip {
		tr.Draft.Paper = &manifest.Paper{Number: no, Completed: completed}
		return tr
	}
	oil := func() []specLine {
		return []specLine{{code: "900-214-08", declG: 1_200_000}, {code: "336-063-17", declG: 3_000_000}}
	}
	run := func(s *spec, p indextest.Plan) {
		t.Helper()
		p.Times, p.To = s.times, s.to
		if err := indextest.Run(ctx, h, s.trip, p); err != nil {
			t.Fatalf("trip %s: %v", s.name, err)
		}
		d.specs = append(d.specs, s)
		d.byName[s.name] = s
	}

	// A: relayed, on paper; picked up on the last evening of Q3, delivered
	// 30 minutes after midnight on 1 October (a holiday: still 30 September
	// in UTC), confirmed 9 October, within the 5 working days (8, 9, 10 Sat
	// worked, 12, 13 October).
	a := &spec{name: "A", trip: paper(w.OilTrip(true), "粤纸联-2026-0001", "2026-10-12"), region: "440112", stream: "industrial", paper: true, to: manifest.StatusClosed,
		times: indextest.Times{Sign: cst(2026, 9, 30, 18, 0), Pickup: cst(2026, 9, 30, 23, 30), Relay: cst(2026, 9, 30, 23, 50), Delivery: cst(2026, 10, 1, 0, 30),
			Receive: cst(2026, 10, 9, 10, 0), Process: cst(2026, 10, 10, 9, 0), Close: cst(2026, 10, 12, 17, 0)},
		onTime: yes()}
	a.lines = oil()
	a.lines[0].weighedG, a.lines[0].acceptedG = 1_150_000, 1_150_000 // 50 kg lost, within 5 %
	a.lines[1].weighedG, a.lines[1].acceptedG = 3_000_000, 3_000_000
	a.lines[0].bucket, a.lines[1].bucket = "incineration", "incineration"
	run(a, indextest.Plan{Weighed: []int64{1150, 3000}})

	// B1: delivered Tuesday 29 September, confirmed Monday 12 October: the
	// fifth working day after the 29th (30 Sep, 8, 9, 10 Sat worked, 12 Oct).
	// Counting weekends only it would be late.
	b1 := &spec{name: "B1", trip: paper(w.OilTrip(false), "粤纸联-2026-0002", "2026-10-13"), region: "440112", stream: "industrial", paper: true, to: manifest.StatusClosed,
		times: indextest.Times{Sign: cst(2026, 9, 29, 8, 0), Pickup: cst(2026, 9, 29, 9, 0), Delivery: cst(2026, 9, 29, 15, 0),
			Receive: cst(2026, 10, 12, 16, 0), Process: cst(2026, 10, 13, 9, 0), Close: cst(2026, 10, 14, 9, 0)},
		onTime: yes()}
	b1.lines = oil()
	for i := range b1.lines {
		b1.lines[i].weighedG, b1.lines[i].acceptedG, b1.lines[i].bucket = b1.lines[i].declG, b1.lines[i].declG, "incineration"
	}
	run(b1, indextest.Plan{})

	// B2: delivered Wednesday 30 September, confirmed Wednesday 14 October:
	// one working day late. 200 kg of line 1 refused and never moved on.
	b2 := &spec{name: "B2", trip: paper(w.OilTrip(false), "粤纸联-2026-0003", "2026-10-14"), region: "440112", stream: "industrial", paper: true, to: manifest.StatusProcessed,
		times: indextest.Times{Sign: cst(2026, 9, 30, 8, 0), Pickup: cst(2026, 9, 30, 9, 0), Delivery: cst(2026, 9, 30, 10, 0),
			Receive: cst(2026, 10, 14, 9, 0), Process: cst(2026, 10, 15, 9, 0)},
		onTime: no()}
	b2.lines = oil()
	b2.lines[0].weighedG, b2.lines[0].acceptedG, b2.lines[0].bucket = 1_200_000, 1_000_000, "incineration"
	b2.lines[1].weighedG, b2.lines[1].acceptedG, b2.lines[1].bucket = 3_000_000, 3_000_000, "incineration"
	run(b2, indextest.Plan{Accept: []int64{1000, 3000}})

	// C: online; 200 kg of line 1 refused and carried on by an onward
	// manifest (C-onward), processed by R9.
	c := &spec{name: "C", trip: w.OilTrip(false), region: "440112", stream: "industrial", to: manifest.StatusClosed, times: on, onTime: yes()}
	c.lines = oil()
	c.lines[0].weighedG, c.lines[0].acceptedG, c.lines[0].bucket = 1_200_000, 1_000_000, "recovery"
	c.lines[1].weighedG, c.lines[1].acceptedG, c.lines[1].bucket = 3_000_000, 3_000_000, "recovery"
	run(c, indextest.Plan{Accept: []int64{1000, 3000}, Method: "R9"})
	onward := w.OilTrip(false)
	onward.Draft.Lines = []manifest.Line{{No: 1, Code: "900-214-08", Name: "废机油（拒收部分）", Form: manifest.Liquid, Hazard: "T,I", Packaging: "drum", Packages: 1, Qty: 200, Unit: manifest.Kilogram, OriginLine: 1}}
	onward.Draft.Ref = &manifest.Ref{Original: c.trip.ID(), Kind: "onward"}
	co := &spec{name: "C-onward", trip: onward, region: "440112", stream: "industrial", to: manifest.StatusClosed, times: on, onTime: yes(),
		lines: []specLine{{code: "900-214-08", declG: 200_000, weighedG: 200_000, acceptedG: 200_000, bucket: "incineration"}}}
	run(co, indextest.Plan{})

	// D: cancelled after signing.
	dd := &spec{name: "D", trip: w.LeadTrip(), region: "440606", stream: "battery", to: manifest.StatusCancelled, times: on, cancelled: true,
		lines: []specLine{{code: "900-052-31", declG: 2_600_000}}}
	run(dd, indextest.Plan{})

	// E1, E2: medical waste generated 10 h and 60 h before disposal.
	for _, m := range []struct {
		name string
		ago  time.Duration
	}{{"E1", 10 * time.Hour}, {"E2", 60 * time.Hour}} {
		tr := w.MedicalTrip(0)
		gen := d.online.Add(-m.ago)
		for i := range tr.Draft.Lines {
			tr.Draft.Lines[i].Generated = &gen
		}
		s := &spec{name: m.name, trip: tr, region: "440111", stream: "medical", to: manifest.StatusClosed, times: on, onTime: yes(),
			lines: []specLine{
				{code: "841-001-01", declG: 180_000, weighedG: 180_000, acceptedG: 180_000, generated: gen, bucket: "incineration"},
				{code: "841-002-01", declG: 24_000, weighedG: 24_000, acceptedG: 24_000, generated: gen, bucket: "incineration"}}}
		run(s, indextest.Plan{})
	}

	// F: fly ash to the cement kiln.
	f := &spec{name: "F", trip: w.FlyAshTrip(8000), region: "440111", stream: "fly_ash", to: manifest.StatusClosed, times: on, onTime: yes(),
		lines: []specLine{{code: "772-002-18", declG: 8_000_000, weighedG: 7_900_000, acceptedG: 7_900_000, bucket: "cement_kiln"}}}
	run(f, indextest.Plan{Weighed: []int64{7900}})

	// G1: traction batteries from the dismantler, recycled with recorded
	// outputs; G2: from a collection point that is not a dismantler.
	u1, u2, u3 := scenario.BatteryCode(1), scenario.BatteryCode(2), "0AZPB01CATL001N5A0000003"
	g1 := &spec{name: "G1", trip: w.BatteryTrip(u1, u2), region: "440606", stream: "battery", to: manifest.StatusClosed, times: on, onTime: yes(),
		lines: []specLine{{code: "EV-BATTERY", declG: 840_000, weighedG: 840_000, acceptedG: 840_000, units: []string{u1, u2}, bucket: "recovery", outputsG: 60_000}}}
	run(g1, indextest.Plan{Outputs: []manifest.Output{{Material: "碳酸锂", Qty: 60, Unit: manifest.Kilogram}}})
	g2trip := w.BatteryTrip(u3)
	g2trip.Producer = d.collector
	g2trip.Draft.Producer = d.collector.Org.ID
	g2trip.Draft.Site = manifest.Site{Name: "回收网点暂存区", Address: "广州市白云区太和镇 3 号", Region: "440111"}
	g2 := &spec{name: "G2", trip: g2trip, region: "440111", stream: "battery", to: manifest.StatusClosed, times: on, onTime: yes(),
		lines: []specLine{{code: "EV-BATTERY", declG: 420_000, weighedG: 420_000, acceptedG: 420_000, units: []string{u3}, bucket: "recovery"}}}
	run(g2, indextest.Plan{})

	// H: to Guangxi without a cross-province approval; 4.6 t against a
	// 5 t/yr licence (92 %); the licence is revoked after the receipt and
	// the waste processed anyway.
	ht := w.OilTrip(false)
	ht.Receiver = d.guangxi
	ht.Draft.Receiver, ht.Draft.ReceiverPermit = d.guangxi.Org.ID, d.guangxiLicence.ID
	ht.Draft.Lines[1].Qty = 3400
	hs := &spec{name: "H", trip: ht, region: "440112", stream: "industrial", to: manifest.StatusReceived, times: on, onTime: yes(),
		lines: []specLine{{code: "900-214-08", declG: 1_200_000, weighedG: 1_200_000, acceptedG: 1_200_000, bucket: "incineration"},
			{code: "336-063-17", declG: 3_400_000, weighedG: 3_400_000, acceptedG: 3_400_000, bucket: "incineration"}}}
	run(hs, indextest.Plan{})
	if _, err := h.Submit(ctx, w.RegulatorCaller(), "RevokePermit", []byte(`{"id":"`+d.guangxiLicence.ID+`","reason":"超范围经营，吊销许可"}`)); err != nil {
		t.Fatal(err)
	}
	later := time.Now().UTC().Add(2 * time.Second).Truncate(time.Second) // after the revocation
	hs.times.Process = later
	if err := indextest.Continue(ctx, h, ht, indextest.Plan{To: manifest.StatusProcessed, Times: indextest.Times{Process: later}}); err != nil {
		t.Fatal(err)
	}
	hs.to = manifest.StatusProcessed

	// I: on paper, five days between pickup and delivery.
	it := &spec{name: "I", trip: paper(w.OilTrip(false), "粤纸联-2026-0004", "2026-10-26"), region: "440112", stream: "industrial", paper: true, to: manifest.StatusClosed,
		times: indextest.Times{Sign: cst(2026, 10, 20, 8, 0), Pickup: cst(2026, 10, 20, 9, 0), Delivery: cst(2026, 10, 25, 9, 0),
			Receive: cst(2026, 10, 26, 9, 0), Process: cst(2026, 10, 27, 9, 0), Close: cst(2026, 10, 28, 9, 0)},
		onTime: yes()}
	it.lines = oil()
	for i := range it.lines {
		it.lines[i].weighedG, it.lines[i].acceptedG, it.lines[i].bucket = it.lines[i].declG, it.lines[i].declG, "incineration"
	}
	run(it, indextest.Plan{})

	d.asOf = time.Now().UTC().Add(time.Minute)
	return d
}

// follow indexes the dataset's ledger.
func (d *dataset) index(t *testing.T) *index.Index {
	t.Helper()
	ix, err := index.Open(context.Background(), index.Config{Path: filepath.Join(t.TempDir(), index.DefaultFile)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	if _, err := ix.CatchUp(context.Background(), d.ledger, nil); err != nil {
		t.Fatal(err)
	}
	return ix
}

// --- the expected figures, from the specs --------------------------------

func inRegion(region, code string) bool {
	switch {
	case region[2:] == "0000":
		return code[:2] == region[:2]
	case region[4:] == "00":
		return code[:4] == region[:4]
	}
	return code == region
}

// tonnesOf formats grams as tonnes with six decimals.
func tonnesOf(g int64) string { return new(big.Rat).SetFrac64(g, 1_000_000).FloatString(6) }

// pctOf formats num/den as a percentage with two decimals; "" when den is 0.
func pctOf(num, den int64) string {
	if den == 0 {
		return ""
	}
	return new(big.Rat).SetFrac64(num*100, den).FloatString(2)
}

type expected map[string]string // indicator → value ("" for null)

func (d *dataset) expect(region string, from, to time.Time) expected {
	in := func(t time.Time) bool { return !t.IsZero() && !t.Before(from) && t.Before(to) }
	var transferred, accepted, lossNum, lossDen, picked, closed, onTime, due, medNum, medDen, ashUtil, outNum, outDen int64
	buckets := map[string]int64{}
	collected, recycled := map[string]bool{}, map[string]bool{}
	for _, s := range d.specs {
		if !inRegion(region, s.region) {
			continue
		}
		tm := s.times
		reached := func(st manifest.Status) bool {
			if s.cancelled {
				return false
			}
			order := []manifest.Status{manifest.StatusDraft, manifest.StatusSigned, manifest.StatusInTransit, manifest.StatusDelivered, manifest.StatusReceived, manifest.StatusProcessed, manifest.StatusClosed}
			want, have := 0, 0
			for i, o := range order {
				if o == st {
					want = i
				}
				if o == s.to {
					have = i
				}
			}
			return have >= want
		}
		if reached(manifest.StatusInTransit) && in(tm.Pickup) {
			picked++
			if reached(manifest.StatusClosed) {
				closed++
			}
			for _, l := range s.lines {
				if l.code != "EV-BATTERY" {
					transferred += l.declG
				}
				for _, u := range l.units {
					collected[u] = true
				}
			}
		}
		if reached(manifest.StatusReceived) && in(tm.Receive) {
			for _, l := range s.lines {
				if l.code != "EV-BATTERY" {
					accepted += l.acceptedG
				}
				lossDen += l.declG
				if l.declG > l.weighedG {
					lossNum += l.declG - l.weighedG
				}
			}
		}
		if reached(manifest.StatusReceived) && in(tm.Delivery) {
			due++
			if *s.onTime {
				onTime++
			}
		}
		procAt := tm.Process
		if reached(manifest.StatusProcessed) {
			for _, l := range s.lines {
				if s.stream == "medical" && in(l.generated) {
					medDen += l.declG
					if !tm.Process.After(l.generated.Add(48 * time.Hour)) {
						medNum += l.declG
					}
				}
				if l.acceptedG == 0 || !in(procAt) {
					continue
				}
				if l.code != "EV-BATTERY" {
					buckets[l.bucket] += l.acceptedG
				}
				if l.code == "772-002-18" && (l.bucket == "cement_kiln" || l.bucket == "recovery") {
					ashUtil += l.acceptedG
				}
				if l.bucket == "recovery" {
					for _, u := range l.units {
						recycled[u] = true
					}
				}
				if l.outputsG > 0 {
					outNum += l.outputsG
					outDen += l.acceptedG
				}
			}
		}
	}
	var all int64
	for _, v := range buckets {
		all += v
	}
	e := expected{
		"hw_transferred":            tonnesOf(transferred),
		"hw_accepted":               tonnesOf(accepted),
		"processed_recovery":        tonnesOf(buckets["recovery"]),
		"processed_cement_kiln":     tonnesOf(buckets["cement_kiln"]),
		"processed_incineration":    tonnesOf(buckets["incineration"]),
		"processed_landfill":        tonnesOf(buckets["landfill"]),
		"utilisation_share":         pctOf(buckets["recovery"], all),
		"landfill_share":            pctOf(buckets["landfill"], all),
		"loss_rate":                 pctOf(lossNum, lossDen),
		"closure_rate":              pctOf(closed, picked),
		"on_time_confirmation_rate": pctOf(onTime, due),
		"medical_48h_compliance":    pctOf(medNum, medDen),
		"fly_ash_utilised":          tonnesOf(ashUtil),
		"battery_units_collected":   big.NewInt(int64(len(collected))).String(),
		"battery_units_recycled":    big.NewInt(int64(len(recycled))).String(),
	}
	if outDen > 0 {
		e["recovered_material_per_tonne"] = new(big.Rat).SetFrac64(outNum*1000, outDen).FloatString(2)
	} else {
		e["recovered_material_per_tonne"] = ""
	}
	return e
}
