package indicator

import (
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"wasteledger/gateway/index"
	"wasteledger/gateway/reconcile/calendar"
	"wasteledger/manifest"
	"wasteledger/manifest/catalog"
)

// Quantity is a numerator or denominator.
type Quantity struct {
	Value string `json:"value"`
	Unit  string `json:"unit"`
	Label string `json:"label"`
}

// Item is one entry of a breakdown (by chemistry, by material).
type Item struct {
	Key   string `json:"key"`
	Name  string `json:"name,omitempty"`
	Value string `json:"value"`
	Unit  string `json:"unit"`
}

// Indicator is one figure.
type Indicator struct {
	ID          string    `json:"id"`
	NameZH      string    `json:"name_zh"`
	NameEN      string    `json:"name_en"`
	Formula     string    `json:"formula"`
	FormulaZH   string    `json:"formula_zh"`
	Numerator   Quantity  `json:"numerator"`
	Denominator *Quantity `json:"denominator,omitempty"`
	Value       *string   `json:"value"` // null when the denominator is zero or unknown
	Unit        string    `json:"unit"`
	Manifests   int       `json:"manifests"` // contributing manifests
	Breakdown   []Item    `json:"breakdown,omitempty"`
	Note        string    `json:"note,omitempty"`
	DrillDown   string    `json:"drilldown"`
}

// Report is every indicator of a region and period, as of a time.
type Report struct {
	Region     string      `json:"region"`
	RegionName string      `json:"region_name"`
	Period     string      `json:"period"`
	From       time.Time   `json:"from"`
	To         time.Time   `json:"to"`
	AsOf       time.Time   `json:"as_of"` // ledger data committed after this is not counted
	Indicators []Indicator `json:"indicators"`
}

// Institution is a registered medical institution (卫健委 registry), the
// denominator of the coverage indicator.
type Institution struct {
	ID     string // unified social credit code
	Region string // GB/T 2260
	Name   string
}

// Params are the inputs besides the facts.
type Params struct {
	Region       string
	Period       Period
	AsOf         time.Time // required: the figures are reproducible for the same AsOf
	Calendar     *calendar.Calendar
	Config       manifest.Config // medical limit
	ConfirmDays  int             // receiver confirmation limit, working days (default 5)
	Institutions []Institution   // nil: coverage has no denominator
	// Base prefixes drill-down links; default "/api/v1/indicators".
	Base string
}

// The indicators, in report order.
const (
	HWTransferred       = "hw_transferred"
	HWAccepted          = "hw_accepted"
	ProcessedRecovery   = "processed_recovery"
	ProcessedCementKiln = "processed_cement_kiln"
	ProcessedIncinerate = "processed_incineration"
	ProcessedLandfill   = "processed_landfill"
	ProcessedTreatment  = "processed_treatment"
	UtilisationShare    = "utilisation_share"
	LandfillShare       = "landfill_share"
	LossRate            = "loss_rate"
	ClosureRate         = "closure_rate"
	MedianClosure       = "median_closure_hours"
	OnTimeConfirmation  = "on_time_confirmation_rate"
	MedicalCoverage     = "medical_institutions_served"
	Medical48h          = "medical_48h_compliance"
	FlyAshUtilised      = "fly_ash_utilised"
	FlyAshLandfilled    = "fly_ash_landfilled"
	FlyAshUtilisation   = "fly_ash_utilisation_share"
	BatteryCollected    = "battery_units_collected"
	BatteryRecycled     = "battery_units_recycled"
	RecoveredPerTonne   = "recovered_material_per_tonne"
	numIndicators       = 21
	unitT               = "t"
	unitPercent         = "%"
	unitManifests       = "manifests"
	unitUnits           = "units"
	unitInstitutions    = "institutions"
	unitHours           = "h"
	unitKgPerT          = "kg/t"
)

type def struct {
	id, zh, en, formula, formulaZH, unit string
}

// defs describe each indicator. Region: the producer's site is in the
// division. Times are the parties' statement times, counted only when the
// step was committed to the ledger by AsOf.
var defs = [numIndicators]def{
	{HWTransferred, "危险废物转移量", "Hazardous waste transferred",
		"Σ declared mass of hazardous-waste lines (all codes of the national list; not EV-BATTERY) on manifests picked up from the producer in the period",
		"本期移出人交运（首次交接）的联单中危险废物申报量之和", unitT},
	{HWAccepted, "危险废物接收量", "Hazardous waste accepted",
		"Σ accepted mass of hazardous-waste lines on manifests whose receipt was recorded in the period",
		"本期接受人确认接收的危险废物接收量之和", unitT},
	{ProcessedRecovery, "资源化利用量", "Utilised (recovery: R*, C2, C3)",
		"Σ processed mass of hazardous-waste lines processed in the period by a recovery method (R1–R15, C2, C3)",
		"本期以利用方式（R类、C2、C3）处理的危险废物量之和", unitT},
	{ProcessedCementKiln, "水泥窑协同处置量", "Cement-kiln co-processing (C1)",
		"Σ processed mass of hazardous-waste lines processed in the period by C1",
		"本期水泥窑协同处置（C1）的危险废物量之和", unitT},
	{ProcessedIncinerate, "焚烧处置量", "Incinerated (D10, Y10)",
		"Σ processed mass of hazardous-waste lines processed in the period by D10 or Y10",
		"本期焚烧处置（D10、Y10）的危险废物量之和", unitT},
	{ProcessedLandfill, "填埋处置量", "Landfilled (D1)",
		"Σ processed mass of hazardous-waste lines processed in the period by D1",
		"本期填埋处置（D1）的危险废物量之和", unitT},
	{ProcessedTreatment, "其他处置量", "Other treatment (D9, D16, Y11–Y16)",
		"Σ processed mass of hazardous-waste lines processed in the period by D9, D16 or Y11–Y16",
		"本期以物化等其他方式处置的危险废物量之和", unitT},
	{UtilisationShare, "利用占比", "Utilisation share",
		"processed by recovery ÷ all processed in the period × 100 %",
		"利用量 ÷ 利用处置总量 × 100%", unitPercent},
	{LandfillShare, "填埋占比", "Landfill share",
		"processed by D1 ÷ all processed in the period × 100 %",
		"填埋处置量 ÷ 利用处置总量 × 100%", unitPercent},
	{LossRate, "转移损耗率", "Loss rate in transfer",
		"Σ max(0, declared − weighed) ÷ Σ declared, over the lines of manifests whose receipt was recorded in the period × 100 %",
		"Σ max(0, 申报量 − 接收称重量) ÷ Σ 申报量 × 100%（本期确认接收的联单）", unitPercent},
	{ClosureRate, "联单闭环率", "Manifest closure rate",
		"manifests closed by the producer ÷ manifests picked up in the period × 100 %",
		"本期交运联单中已由移出人确认办结的数量 ÷ 本期交运联单数 × 100%", unitPercent},
	{MedianClosure, "联单闭环时长中位数", "Median closure time",
		"median of (close − pickup) over the manifests picked up in the period and closed",
		"本期交运且已办结联单的（办结时间 − 交运时间）中位数", unitHours},
	{OnTimeConfirmation, "接收按时确认率", "On-time receipt confirmation rate",
		"manifests whose receipt was confirmed on the ledger within the confirmation limit (working days after the day of delivery) ÷ manifests delivered in the period that are confirmed or overdue × 100 %",
		"按时（到货之日起规定工作日内）在系统确认接收的联单数 ÷ 本期到货且已确认或已逾期的联单数 × 100%", unitPercent},
	{MedicalCoverage, "医疗废物收集处置体系覆盖率", "Medical institutions served",
		"registered medical institutions that handed over medical waste (HW01) on a manifest picked up in the period ÷ registered medical institutions in the region × 100 %",
		"本期有医疗废物联单交运的已登记医疗卫生机构数 ÷ 辖区医疗卫生机构总数 × 100%", unitPercent},
	{Medical48h, "医疗废物48小时处置合规率", "Medical waste disposed within the limit",
		"Σ declared mass of medical lines generated in the period and processed within the limit after generation ÷ Σ declared mass of those lines that are processed or overdue × 100 %",
		"本期产生且在规定时限内处置的医疗废物量 ÷ 本期产生且已处置或已超时的医疗废物量 × 100%", unitPercent},
	{FlyAshUtilised, "飞灰资源化利用量", "Fly ash utilised",
		"Σ processed mass of 772-002-18 processed in the period by recovery or cement-kiln co-processing (R*, C1, C2, C3)",
		"本期以利用或水泥窑协同处置方式处理的生活垃圾焚烧飞灰量", unitT},
	{FlyAshLandfilled, "飞灰安全填埋量", "Fly ash safely landfilled",
		"Σ processed mass of 772-002-18 processed in the period by D1",
		"本期安全填埋（D1）的生活垃圾焚烧飞灰量", unitT},
	{FlyAshUtilisation, "飞灰利用占比", "Fly ash utilisation share",
		"fly ash utilised ÷ all fly ash processed in the period × 100 %",
		"飞灰利用量 ÷ 飞灰利用处置总量 × 100%", unitPercent},
	{BatteryCollected, "废旧电池收集量（编码）", "Battery units collected",
		"distinct GB/T 34014 unit codes on battery manifests picked up in the period, by chemistry",
		"本期交运的电池联单中的电池编码数（按电池类型）", unitUnits},
	{BatteryRecycled, "废旧电池再生利用量（编码）", "Battery units recycled",
		"distinct unit codes on battery lines processed in the period by a recovery method, by chemistry",
		"本期以利用方式处理的电池编码数（按电池类型）", unitUnits},
	{RecoveredPerTonne, "吨废物再生材料产出", "Recovered material per tonne received",
		"Σ recorded output mass ÷ Σ accepted mass of the lines processed in the period whose recycler recorded outputs, in kg per tonne",
		"本期记录产出的处理行：再生产品产出量 ÷ 接收量（千克/吨）", unitKgPerT},
}

// IDs lists the indicators in report order.
func IDs() []string {
	out := make([]string, len(defs))
	for i, d := range defs {
		out[i] = d.id
	}
	return out
}

// Known reports whether id names an indicator.
func Known(id string) bool { return indexOf(id) >= 0 }

func indexOf(id string) int {
	for i, d := range defs {
		if d.id == id {
			return i
		}
	}
	return -1
}

// Mask has bit i set for the i-th indicator a manifest contributes to.
type Mask uint32

// Has reports whether the mask includes indicator id.
func (m Mask) Has(id string) bool {
	i := indexOf(id)
	return i >= 0 && m&(1<<i) != 0
}

// Calculator accumulates facts into the indicators.
type Calculator struct {
	p          Params
	lo, hi     string
	from, to   int64
	asOf       int64
	medicalLim int64 // ns

	transferred, accepted          int64
	bucket                         map[catalog.Indicator]int64
	lossNum, lossDen               int64
	pickedUp, closed               int64
	closeSecs                      []int64
	onTime, confirmDue             int64
	served                         map[string]bool
	unregistered                   map[string]bool
	med48Num, med48Den             int64
	ashUtil, ashFill, ashAll       int64
	collected, recycled            map[string]bool
	outNum, outDen                 int64
	materials                      map[string]int64
	registry                       map[string]bool
	registryInRegion               int64
	contributors                   [numIndicators]int
	pendingConfirm, pendingMedical int64
	deadlines                      map[int64]int64 // China calendar day → confirmation deadline
}

// deadline is the confirmation deadline of a delivery, memoised by day.
func (c *Calculator) deadline(delivered int64) int64 {
	const day = int64(24 * time.Hour)
	k := (delivered + 8*int64(time.Hour)) / day
	if d, ok := c.deadlines[k]; ok {
		return d
	}
	d := c.p.Calendar.Deadline(index.T(delivered), c.p.ConfirmDays).UnixNano()
	c.deadlines[k] = d
	return d
}

// New returns a calculator for the region and period.
func New(p Params) (*Calculator, error) {
	lo, hi, err := index.RegionRange(p.Region)
	if err != nil {
		return nil, err
	}
	if p.AsOf.IsZero() {
		return nil, manifest.FieldError(manifest.Invalid, "as_of", "as_of is required")
	}
	if p.ConfirmDays <= 0 {
		p.ConfirmDays = 5
	}
	if p.Config.MedicalMaxHours <= 0 {
		p.Config.MedicalMaxHours = manifest.DefaultConfig().MedicalMaxHours
	}
	if p.Base == "" {
		p.Base = "/api/v1/indicators"
	}
	c := &Calculator{p: p, lo: lo, hi: hi, from: p.Period.From.UnixNano(), to: p.Period.To.UnixNano(), asOf: p.AsOf.UnixNano(),
		medicalLim: p.Config.MedicalMaxHours * int64(time.Hour),
		bucket:     map[catalog.Indicator]int64{}, served: map[string]bool{}, unregistered: map[string]bool{},
		collected: map[string]bool{}, recycled: map[string]bool{}, materials: map[string]int64{}, deadlines: map[int64]int64{}}
	if p.Institutions != nil {
		c.registry = map[string]bool{}
		for _, in := range p.Institutions {
			c.registry[in.ID] = true
			if in.Region >= lo && in.Region < hi {
				c.registryInRegion++
			}
		}
	}
	return c, nil
}

func (c *Calculator) in(t int64) bool { return t != 0 && t >= c.from && t < c.to }

func hw(code string) bool { return code != catalog.EVBattery }

func bucketOf(method string) catalog.Indicator {
	m, ok := catalog.LookupMethod(method)
	if !ok {
		return ""
	}
	return m.Indicator
}

// Add counts one manifest and returns the indicators it contributed to.
func (c *Calculator) Add(f *index.Fact) Mask {
	if f.Region < c.lo || f.Region >= c.hi || f.Created > c.asOf {
		return 0
	}
	var mask Mask
	hit := func(id string) { mask |= 1 << indexOf(id) }
	picked := f.PickedUp.Done(c.asOf) && c.in(f.PickedUp.At)
	received := f.Received.Done(c.asOf) && c.in(f.Received.At)

	if picked {
		var g int64
		for _, l := range f.Lines {
			if hw(l.Code) {
				g += l.DeclaredG
			}
		}
		if g > 0 {
			c.transferred += g
			hit(HWTransferred)
		}
		c.pickedUp++
		hit(ClosureRate)
		if f.Closed.Done(c.asOf) {
			c.closed++
			c.closeSecs = append(c.closeSecs, (f.Closed.At-f.PickedUp.At)/int64(time.Second))
			hit(MedianClosure)
		}
		if f.Stream == catalog.Medical {
			switch {
			case c.registry == nil:
				c.served[f.Producer] = true
				hit(MedicalCoverage)
			case c.registry[f.Producer]:
				c.served[f.Producer] = true
				hit(MedicalCoverage)
			default:
				c.unregistered[f.Producer] = true
			}
		}
		if f.Stream == catalog.Battery {
			for _, l := range f.Lines {
				for _, u := range l.Units {
					c.collected[u] = true
					hit(BatteryCollected)
				}
			}
		}
	}
	if received {
		var acc int64
		for _, l := range f.Lines {
			if !l.Received {
				continue
			}
			if hw(l.Code) {
				acc += l.AcceptedG
			}
			c.lossDen += l.DeclaredG
			if d := l.DeclaredG - l.WeighedG; d > 0 {
				c.lossNum += d
			}
		}
		if acc > 0 {
			c.accepted += acc
			hit(HWAccepted)
		}
		hit(LossRate)
	}
	if f.Delivered.Done(c.asOf) && c.in(f.Delivered.At) {
		deadline := c.deadline(f.Delivered.At)
		conf := f.Received.Tx
		if f.PaperNumber != "" {
			conf = f.Received.At
		}
		switch {
		case f.Received.Done(c.asOf):
			c.confirmDue++
			if conf < deadline {
				c.onTime++
			}
			hit(OnTimeConfirmation)
		case c.asOf >= deadline:
			c.confirmDue++
			hit(OnTimeConfirmation)
		default:
			c.pendingConfirm++
		}
	}
	if f.Stream == catalog.Medical && !f.Cancelled.Done(c.asOf) {
		for _, l := range f.Lines {
			if !c.in(l.Generated) || (l.Received && f.Received.Done(c.asOf) && l.AcceptedG == 0) {
				continue
			}
			due := l.Generated + c.medicalLim
			p := l.Processing
			switch {
			case p != nil && p.Tx != 0 && p.Tx <= c.asOf:
				c.med48Den += l.DeclaredG
				if p.At <= due {
					c.med48Num += l.DeclaredG
				}
				hit(Medical48h)
			case c.asOf > due:
				c.med48Den += l.DeclaredG
				hit(Medical48h)
			default:
				c.pendingMedical++
			}
		}
	}
	for _, l := range f.Lines {
		p := l.Processing
		if p == nil || p.Tx == 0 || p.Tx > c.asOf || !c.in(p.At) {
			continue
		}
		b := bucketOf(p.Method)
		if hw(l.Code) && b != "" {
			c.bucket[b] += p.QtyG
			switch b {
			case catalog.Recovery:
				hit(ProcessedRecovery)
			case catalog.CementKiln:
				hit(ProcessedCementKiln)
			case catalog.Incineration:
				hit(ProcessedIncinerate)
			case catalog.Landfill:
				hit(ProcessedLandfill)
			case catalog.Treatment:
				hit(ProcessedTreatment)
			}
			hit(UtilisationShare)
			hit(LandfillShare)
		}
		if l.Code == "772-002-18" {
			c.ashAll += p.QtyG
			switch b {
			case catalog.Recovery, catalog.CementKiln:
				c.ashUtil += p.QtyG
				hit(FlyAshUtilised)
			case catalog.Landfill:
				c.ashFill += p.QtyG
				hit(FlyAshLandfilled)
			}
			hit(FlyAshUtilisation)
		}
		if f.Stream == catalog.Battery && b == catalog.Recovery {
			for _, u := range l.Units {
				c.recycled[u] = true
				hit(BatteryRecycled)
			}
		}
		if len(p.Outputs) > 0 {
			c.outDen += l.AcceptedG
			for _, o := range p.Outputs {
				c.outNum += o.G
				c.materials[o.Material] += o.G
			}
			hit(RecoveredPerTonne)
		}
	}
	for i := range defs {
		if mask&(1<<i) != 0 {
			c.contributors[i]++
		}
	}
	return mask
}

func pct(num, den int64) *string {
	s, ok := ratio(num, den, 100, 2)
	if !ok {
		return nil
	}
	return &s
}

func str(s string) *string { return &s }

// median returns the median of xs (sorted in place) as its double, so that
// the mean of the middle two stays an integer.
func median2(xs []int64) int64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return 2 * xs[n/2]
	}
	return xs[n/2-1] + xs[n/2]
}

// Report returns the indicators.
func (c *Calculator) Report() Report {
	r := Report{Region: c.p.Region, Period: c.p.Period.Code, From: c.p.Period.From, To: c.p.Period.To, AsOf: c.p.AsOf.UTC()}
	if reg, ok := catalog.LookupRegion(c.p.Region); ok {
		r.RegionName = reg.Name
	}
	processed := int64(0)
	for _, v := range c.bucket {
		processed += v
	}
	mass := func(g int64, label string) Quantity { return Quantity{Value: tonnes(g), Unit: unitT, Label: label} }
	n := func(v int64, unit, label string) Quantity { return Quantity{Value: count(v), Unit: unit, Label: label} }
	out := make([]Indicator, 0, numIndicators)
	add := func(id string, num Quantity, den *Quantity, value *string, fill func(*Indicator)) {
		d := defs[indexOf(id)]
		in := Indicator{ID: id, NameZH: d.zh, NameEN: d.en, Formula: d.formula, FormulaZH: d.formulaZH, Numerator: num, Denominator: den,
			Value: value, Unit: d.unit, Manifests: c.contributors[indexOf(id)], DrillDown: c.drill(id)}
		if fill != nil {
			fill(&in)
		}
		out = append(out, in)
	}
	massInd := func(id string, g int64, label string) { add(id, mass(g, label), nil, str(tonnes(g)), nil) }
	massInd(HWTransferred, c.transferred, "declared mass picked up")
	massInd(HWAccepted, c.accepted, "accepted mass")
	massInd(ProcessedRecovery, c.bucket[catalog.Recovery], "processed by recovery")
	massInd(ProcessedCementKiln, c.bucket[catalog.CementKiln], "processed by C1")
	massInd(ProcessedIncinerate, c.bucket[catalog.Incineration], "processed by D10/Y10")
	massInd(ProcessedLandfill, c.bucket[catalog.Landfill], "processed by D1")
	massInd(ProcessedTreatment, c.bucket[catalog.Treatment], "processed by other treatment")
	allProc := mass(processed, "all processed")
	add(UtilisationShare, mass(c.bucket[catalog.Recovery], "processed by recovery"), &allProc, pct(c.bucket[catalog.Recovery], processed), nil)
	add(LandfillShare, mass(c.bucket[catalog.Landfill], "processed by D1"), &allProc, pct(c.bucket[catalog.Landfill], processed), nil)
	lossDen := mass(c.lossDen, "declared mass received")
	add(LossRate, mass(c.lossNum, "declared minus weighed, where positive"), &lossDen, pct(c.lossNum, c.lossDen), nil)
	pickDen := n(c.pickedUp, unitManifests, "manifests picked up")
	add(ClosureRate, n(c.closed, unitManifests, "closed"), &pickDen, pct(c.closed, c.pickedUp), nil)
	var med *string
	if len(c.closeSecs) > 0 {
		s, _ := ratio(median2(slices.Clone(c.closeSecs)), 2*3600, 1, 2)
		med = &s
	}
	add(MedianClosure, n(int64(len(c.closeSecs)), unitManifests, "closed manifests measured"), nil, med, nil)
	confDen := n(c.confirmDue, unitManifests, "delivered, confirmed or overdue")
	add(OnTimeConfirmation, n(c.onTime, unitManifests, "confirmed on time"), &confDen, pct(c.onTime, c.confirmDue), func(in *Indicator) {
		if c.pendingConfirm > 0 {
			in.Note = count(c.pendingConfirm) + " delivered manifests are not yet due and not counted"
		}
		if !c.p.Calendar.Covers(c.p.Period.From.Year()) {
			in.Note = strings.TrimSpace(in.Note + "; the holiday calendar does not cover " + c.p.Period.Code + ": weekends only")
		}
	})
	served := n(int64(len(c.served)), unitInstitutions, "institutions that handed over medical waste")
	if c.registry == nil {
		add(MedicalCoverage, served, nil, nil, func(in *Indicator) {
			in.Note = "denominator unknown: no registry of medical institutions is configured"
		})
	} else {
		den := n(c.registryInRegion, unitInstitutions, "registered medical institutions in the region")
		add(MedicalCoverage, served, &den, pct(int64(len(c.served)), c.registryInRegion), func(in *Indicator) {
			if len(c.unregistered) > 0 {
				in.Note = count(int64(len(c.unregistered))) + " producers of medical waste are not in the registry and not counted"
			}
		})
	}
	medDen := mass(c.med48Den, "medical waste processed or overdue")
	add(Medical48h, mass(c.med48Num, "processed within the limit"), &medDen, pct(c.med48Num, c.med48Den), func(in *Indicator) {
		in.Formula = strings.Replace(in.Formula, "the limit", "the limit ("+count(c.p.Config.MedicalMaxHours)+" h)", 1)
	})
	massInd(FlyAshUtilised, c.ashUtil, "fly ash utilised")
	massInd(FlyAshLandfilled, c.ashFill, "fly ash landfilled")
	ashDen := mass(c.ashAll, "fly ash processed")
	add(FlyAshUtilisation, mass(c.ashUtil, "fly ash utilised"), &ashDen, pct(c.ashUtil, c.ashAll), nil)
	add(BatteryCollected, n(int64(len(c.collected)), unitUnits, "unit codes picked up"), nil, str(count(int64(len(c.collected)))),
		func(in *Indicator) { in.Breakdown = byChemistry(c.collected) })
	add(BatteryRecycled, n(int64(len(c.recycled)), unitUnits, "unit codes recycled"), nil, str(count(int64(len(c.recycled)))),
		func(in *Indicator) { in.Breakdown = byChemistry(c.recycled) })
	outDen := mass(c.outDen, "accepted mass of lines with outputs")
	var perT *string
	if s, ok := ratio(c.outNum, c.outDen, 1000, 2); ok {
		perT = &s
	}
	add(RecoveredPerTonne, mass(c.outNum, "recovered material"), &outDen, perT, func(in *Indicator) {
		keys := make([]string, 0, len(c.materials))
		for k := range c.materials {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			in.Breakdown = append(in.Breakdown, Item{Key: k, Value: tonnes(c.materials[k]), Unit: unitT})
		}
	})
	r.Indicators = out
	return r
}

func byChemistry(units map[string]bool) []Item {
	counts := map[string]int64{}
	for u := range units {
		chem := "?"
		if bu, err := catalog.ParseBatteryCode(u); err == nil {
			chem = string(bu.Chemistry)
		}
		counts[chem]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Item
	for _, k := range keys {
		out = append(out, Item{Key: k, Name: catalog.Chemistry(k).Name(), Value: count(counts[k]), Unit: unitUnits})
	}
	return out
}

func (c *Calculator) drill(id string) string {
	q := url.Values{"region": {c.p.Region}, "period": {c.p.Period.Code}, "as_of": {c.p.AsOf.UTC().Format(time.RFC3339Nano)}}
	return c.p.Base + "/" + id + "/manifests?" + q.Encode()
}

// Compute runs the calculator over facts.
func Compute(p Params, facts []index.Fact) (Report, error) {
	c, err := New(p)
	if err != nil {
		return Report{}, err
	}
	for i := range facts {
		c.Add(&facts[i])
	}
	return c.Report(), nil
}

// Find returns the indicator id of a report.
func (r Report) Find(id string) (Indicator, bool) {
	for _, in := range r.Indicators {
		if in.ID == id {
			return in, true
		}
	}
	return Indicator{}, false
}
