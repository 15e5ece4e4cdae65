package scenario

import (
	"context"
	"fmt"
	"time"

	"wasteledger/chaincode"
	"wasteledger/manifest"
)

// World is a Guangdong cast: the regulators, a producer for each of the four
// waste streams, carriers with registered vehicles, and receivers with
// licences. Names are fictitious.
type World struct {
	Province, City *Party // 广东省生态环境厅, 广州市生态环境局

	Factory     *Party // waste mineral oil (HW08) and electroplating sludge (HW17)
	Hospital    *Party // medical waste (HW01)
	Incinerator *Party // a municipal waste incineration plant: fly ash (772-002-18)
	Dismantler  *Party // an end-of-life vehicle dismantler: traction and lead-acid batteries

	Hauler  *Party // hazardous-waste carrier, Guangzhou
	Relay   *Party // second carrier for relay legs, Foshan
	Medical *Party // medical-waste carrier

	HWPlant     *Party // hazardous-waste incineration and oil regeneration
	MedPlant    *Party // medical-waste disposal centre
	CementKiln  *Party // cement kiln co-processing fly ash
	Recycler    *Party // traction-battery recycler
	LeadSmelter *Party // secondary lead smelter

	// Permits by holder.
	HaulerPermit, RelayPermit, MedicalPermit                        manifest.Permit
	HWLicence, MedLicence, KilnLicence, RecyclerPermit, LeadLicence manifest.Permit
}

// Plates of the carriers' vehicles.
const (
	HaulerPlate  = "粤A12345"
	HaulerPlate2 = "粤A23456"
	RelayPlate   = "粤E34567"
	MedicalPlate = "粤A45678"
)

// NewWorld makes the cast with fresh keys and organisation ids.
func NewWorld() *World {
	w := &World{
		Province:    NewParty("广东省生态环境厅", "440000", RegulatorMSP, manifest.Regulator),
		City:        NewParty("广州市生态环境局", "440100", RegulatorMSP, manifest.Regulator),
		Factory:     NewParty("广州安达汽车零部件有限公司", "440112", ProducerMSP, manifest.Producer),
		Hospital:    NewParty("广州白云康宁医院", "440111", ProducerMSP, manifest.Producer),
		Incinerator: NewParty("广州兴丰环保能源有限公司", "440111", ProducerMSP, manifest.Producer),
		Dismantler:  NewParty("佛山顺达报废机动车回收拆解有限公司", "440606", ProducerMSP, manifest.Producer),
		Hauler:      NewParty("广东粤安危险废物运输有限公司", "440111", CarrierMSP, manifest.Carrier),
		Relay:       NewParty("佛山南顺危险货物物流有限公司", "440604", CarrierMSP, manifest.Carrier),
		Medical:     NewParty("广州康运医疗废物收运有限公司", "440113", CarrierMSP, manifest.Carrier),
		HWPlant:     NewParty("惠州东江绿源环保科技有限公司", "441300", ReceiverMSP, manifest.Receiver),
		MedPlant:    NewParty("广州穗康医疗废物处置中心有限公司", "440113", ReceiverMSP, manifest.Receiver),
		CementKiln:  NewParty("英德华南水泥有限公司", "441800", ReceiverMSP, manifest.Receiver),
		Recycler:    NewParty("佛山绿源新能源材料有限公司", "440607", ReceiverMSP, manifest.Receiver),
		LeadSmelter: NewParty("清远华铅再生资源有限公司", "441800", ReceiverMSP, manifest.Receiver),
	}
	suffix := w.Factory.Org.ID[10:17] // keeps permit numbers unique across runs
	w.HaulerPermit = manifest.Permit{ID: "粤交运管危" + suffix + "01", Kind: manifest.Transport, Org: w.Hauler.Org.ID,
		ValidFrom: "2024-01-01", ValidTo: "2029-12-31", Plates: []string{HaulerPlate, HaulerPlate2}}
	w.RelayPermit = manifest.Permit{ID: "粤交运管危" + suffix + "02", Kind: manifest.Transport, Org: w.Relay.Org.ID,
		ValidFrom: "2024-01-01", ValidTo: "2029-12-31", Plates: []string{RelayPlate}}
	w.MedicalPermit = manifest.Permit{ID: "粤交运管危" + suffix + "03", Kind: manifest.Transport, Org: w.Medical.Org.ID,
		ValidFrom: "2024-01-01", ValidTo: "2029-12-31", Plates: []string{MedicalPlate}}
	w.HWLicence = manifest.Permit{ID: "GD-HW-" + suffix + "-01", Kind: manifest.HWLicence, Org: w.HWPlant.Org.ID,
		ValidFrom: "2024-01-01", ValidTo: "2028-12-31", Codes: []string{"HW08", "HW17", "HW49", "HW12", "HW06"},
		CapacityT: 120_000, Methods: []string{"D10", "R9", "D9", "R2"}}
	w.MedLicence = manifest.Permit{ID: "GD-HW-" + suffix + "-02", Kind: manifest.HWLicence, Org: w.MedPlant.Org.ID,
		ValidFrom: "2024-01-01", ValidTo: "2028-12-31", Codes: []string{"HW01"},
		CapacityT: 40_000, Methods: []string{"Y10", "Y11"}}
	w.KilnLicence = manifest.Permit{ID: "GD-HW-" + suffix + "-03", Kind: manifest.HWLicence, Org: w.CementKiln.Org.ID,
		ValidFrom: "2024-01-01", ValidTo: "2028-12-31", Codes: []string{"772-002-18"},
		CapacityT: 100_000, Methods: []string{"C1"}}
	w.RecyclerPermit = manifest.Permit{ID: "GD-NEV-" + suffix + "-04", Kind: manifest.BatteryRecycling, Org: w.Recycler.Org.ID,
		ValidFrom: "2024-01-01", ValidTo: "2028-12-31", Codes: []string{"EV-BATTERY"},
		CapacityT: 50_000, Methods: []string{"R4"}}
	w.LeadLicence = manifest.Permit{ID: "GD-HW-" + suffix + "-05", Kind: manifest.HWLicence, Org: w.LeadSmelter.Org.ID,
		ValidFrom: "2024-01-01", ValidTo: "2028-12-31", Codes: []string{"900-052-31"},
		CapacityT: 200_000, Methods: []string{"R4"}}
	return w
}

// Parties lists every party, regulators first.
func (w *World) Parties() []*Party {
	return []*Party{w.Province, w.City, w.Factory, w.Hospital, w.Incinerator, w.Dismantler,
		w.Hauler, w.Relay, w.Medical, w.HWPlant, w.MedPlant, w.CementKiln, w.Recycler, w.LeadSmelter}
}

// Permits lists every permit.
func (w *World) Permits() []manifest.Permit {
	return []manifest.Permit{w.HaulerPermit, w.RelayPermit, w.MedicalPermit,
		w.HWLicence, w.MedLicence, w.KilnLicence, w.RecyclerPermit, w.LeadLicence}
}

// RegulatorCaller is the identity that registers organisations and permits.
func (w *World) RegulatorCaller() chaincode.Caller {
	return chaincode.Caller{MSP: RegulatorMSP, ID: "admin"}
}

// Setup registers every organisation, key and permit on the ledger.
func (w *World) Setup(ctx context.Context, h Host) error {
	for _, p := range w.Parties() {
		if err := Register(ctx, h, w.RegulatorCaller(), p); err != nil {
			return err
		}
	}
	for _, p := range w.Permits() {
		if err := Issue(ctx, h, w.RegulatorCaller(), p); err != nil {
			return err
		}
	}
	return nil
}

// Trip is a manifest in the making: its draft, the parties who sign each
// step, and the current document.
type Trip struct {
	Draft    manifest.Draft
	Producer *Party
	Carriers []*Party
	Plates   []string
	Receiver *Party
	Doc      []byte // the current stored manifest
}

// ID is the manifest number.
func (t *Trip) ID() string {
	m, err := Decode(t.Doc)
	if err != nil {
		return ""
	}
	return m.ID
}

// Manifest decodes the current document.
func (t *Trip) Manifest() *manifest.Manifest {
	m, err := Decode(t.Doc)
	if err != nil {
		panic(err)
	}
	return m
}

const emergency = "泄漏时立即用吸附棉围堵并收集，疏散人员，拨打 12369 与 119；Contain spills with absorbent, evacuate, call 12369 and 119."

// OilTrip is waste mineral oil and electroplating sludge from the factory to
// the hazardous-waste plant, by the hauler, optionally relayed.
func (w *World) OilTrip(relay bool) *Trip {
	t := &Trip{Producer: w.Factory, Receiver: w.HWPlant, Carriers: []*Party{w.Hauler}, Plates: []string{HaulerPlate}}
	legs := []manifest.Leg{{Carrier: w.Hauler.Org.ID, Permit: w.HaulerPermit.ID, Plates: []string{HaulerPlate}}}
	if relay {
		legs = append(legs, manifest.Leg{Carrier: w.Relay.Org.ID, Permit: w.RelayPermit.ID, Plates: []string{RelayPlate}})
		t.Carriers = append(t.Carriers, w.Relay)
		t.Plates = append(t.Plates, RelayPlate)
	}
	t.Draft = manifest.Draft{
		Producer: w.Factory.Org.ID,
		Site:     manifest.Site{Name: "黄埔厂区危废暂存间", Address: "广州市黄埔区开发大道 88 号", Region: "440112"},
		Legs:     legs, Receiver: w.HWPlant.Org.ID, ReceiverPermit: w.HWLicence.ID,
		Lines: []manifest.Line{
			{No: 1, Code: "900-214-08", Name: "废机油", Form: manifest.Liquid, Hazard: "T,I", Packaging: "drum", Packages: 6, Qty: 1200, Unit: manifest.Kilogram},
			{No: 2, Code: "336-063-17", Name: "电镀污泥", Form: manifest.SemiSolid, Hazard: "T", Packaging: "bag", Packages: 10, Qty: 3000, Unit: manifest.Kilogram},
		},
		Method: "D10", Emergency: emergency,
	}
	return t
}

// MedicalTrip is a hospital's medical waste to the disposal centre,
// generated the given time before now.
func (w *World) MedicalTrip(generatedAgo time.Duration) *Trip {
	gen := time.Now().UTC().Add(-generatedAgo).Truncate(time.Second)
	return &Trip{Producer: w.Hospital, Receiver: w.MedPlant, Carriers: []*Party{w.Medical}, Plates: []string{MedicalPlate},
		Draft: manifest.Draft{
			Producer: w.Hospital.Org.ID,
			Site:     manifest.Site{Name: "医疗废物暂存间", Address: "广州市白云区同和路 12 号", Region: "440111"},
			Legs:     []manifest.Leg{{Carrier: w.Medical.Org.ID, Permit: w.MedicalPermit.ID, Plates: []string{MedicalPlate}}},
			Receiver: w.MedPlant.Org.ID, ReceiverPermit: w.MedLicence.ID,
			Lines: []manifest.Line{
				{No: 1, Code: "841-001-01", Name: "感染性废物", Form: manifest.Solid, Hazard: "In", Packaging: "box", Packages: 20, Qty: 180, Unit: manifest.Kilogram, Medical: "infectious", Generated: &gen},
				{No: 2, Code: "841-002-01", Name: "损伤性废物", Form: manifest.Solid, Hazard: "In", Packaging: "sharps_box", Packages: 8, Qty: 24, Unit: manifest.Kilogram, Medical: "sharps", Generated: &gen},
			},
			Method: "Y10", Emergency: emergency,
		}}
}

// FlyAshTrip is fly ash from the incineration plant to the cement kiln.
func (w *World) FlyAshTrip(kg int64) *Trip {
	return &Trip{Producer: w.Incinerator, Receiver: w.CementKiln, Carriers: []*Party{w.Hauler}, Plates: []string{HaulerPlate2},
		Draft: manifest.Draft{
			Producer: w.Incinerator.Org.ID,
			Site:     manifest.Site{Name: "飞灰稳定化车间", Address: "广州市白云区太和镇兴丰路 1 号", Region: "440111"},
			Legs:     []manifest.Leg{{Carrier: w.Hauler.Org.ID, Permit: w.HaulerPermit.ID, Plates: []string{HaulerPlate2}}},
			Receiver: w.CementKiln.Org.ID, ReceiverPermit: w.KilnLicence.ID,
			Lines: []manifest.Line{
				{No: 1, Code: "772-002-18", Name: "生活垃圾焚烧飞灰", Form: manifest.Solid, Hazard: "T", Packaging: "bag", Packages: 20, Qty: kg, Unit: manifest.Kilogram},
			},
			Method: "C1", Emergency: emergency,
		}}
}

// BatteryTrip is end-of-life traction batteries from the dismantler to the
// recycler, with their GB/T 34014 codes.
func (w *World) BatteryTrip(units ...string) *Trip {
	return &Trip{Producer: w.Dismantler, Receiver: w.Recycler, Carriers: []*Party{w.Relay}, Plates: []string{RelayPlate},
		Draft: manifest.Draft{
			Producer: w.Dismantler.Org.ID,
			Site:     manifest.Site{Name: "拆解车间电池暂存区", Address: "佛山市顺德区乐从镇拆解园 6 号", Region: "440606"},
			Legs:     []manifest.Leg{{Carrier: w.Relay.Org.ID, Permit: w.RelayPermit.ID, Plates: []string{RelayPlate}}},
			Receiver: w.Recycler.Org.ID, ReceiverPermit: w.RecyclerPermit.ID,
			Lines: []manifest.Line{
				{No: 1, Code: "EV-BATTERY", Name: "退役三元动力电池包", Form: manifest.Solid, Packaging: "pallet", Packages: len(units), Qty: int64(420 * len(units)), Unit: manifest.Kilogram, Units: units},
			},
			Method: "R4", Emergency: emergency,
		}}
}

// LeadTrip is waste lead-acid batteries from the dismantler to the smelter.
func (w *World) LeadTrip() *Trip {
	return &Trip{Producer: w.Dismantler, Receiver: w.LeadSmelter, Carriers: []*Party{w.Relay}, Plates: []string{RelayPlate},
		Draft: manifest.Draft{
			Producer: w.Dismantler.Org.ID,
			Site:     manifest.Site{Name: "拆解车间电池暂存区", Address: "佛山市顺德区乐从镇拆解园 6 号", Region: "440606"},
			Legs:     []manifest.Leg{{Carrier: w.Relay.Org.ID, Permit: w.RelayPermit.ID, Plates: []string{RelayPlate}}},
			Receiver: w.LeadSmelter.Org.ID, ReceiverPermit: w.LeadLicence.ID,
			Lines: []manifest.Line{
				{No: 1, Code: "900-052-31", Name: "废铅蓄电池", Form: manifest.Solid, Hazard: "T,C", Packaging: "pallet", Packages: 4, Qty: 2600, Unit: manifest.Kilogram},
			},
			Method: "R4", Emergency: emergency,
		}}
}

// BatteryCode returns a well-formed GB/T 34014 pack code with serial n.
func BatteryCode(n int) string { return fmt.Sprintf("0AZPE01CATL001N5A%07d", n%10_000_000) }
