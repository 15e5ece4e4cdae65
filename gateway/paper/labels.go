package paper

import (
	"strings"

	"wasteledger/manifest"
	"wasteledger/manifest/catalog"
)

// Label is a name in Chinese with its English label, as paper and phone
// screens show them.
type Label struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

func (l Label) String() string {
	if l.EN == "" {
		return l.ZH
	}
	return l.ZH + " " + l.EN
}

var statusNames = map[manifest.Status]Label{
	manifest.StatusDraft:     {"草稿", "Draft"},
	manifest.StatusSigned:    {"已签发，待转移", "Signed, awaiting pickup"},
	manifest.StatusInTransit: {"运输中", "In transit"},
	manifest.StatusDelivered: {"已送达，待接收", "Delivered, awaiting receipt"},
	manifest.StatusReceived:  {"已接收", "Received"},
	manifest.StatusProcessed: {"已利用/处置", "Processed"},
	manifest.StatusClosed:    {"已办结", "Closed"},
	manifest.StatusCancelled: {"已作废", "Cancelled"},
}

var stepNames = map[manifest.Step]Label{
	manifest.StepSign:     {"移出人签发", "Signed by producer"},
	manifest.StepPickup:   {"移出人交付承运人", "Pickup: producer → carrier"},
	manifest.StepRelay:    {"承运人交接（联运）", "Relay: carrier → carrier"},
	manifest.StepDelivery: {"承运人交付接受人", "Delivery: carrier → receiver"},
	manifest.StepReceive:  {"接受人接收（过磅）", "Receipt (weighed)"},
	manifest.StepProcess:  {"利用/处置", "Processing"},
	manifest.StepClose:    {"移出人确认办结", "Closed by producer"},
	manifest.StepCancel:   {"移出人作废", "Cancelled by producer"},
}

var formNames = map[manifest.Form]Label{
	manifest.Solid:     {"固态", "solid"},
	manifest.SemiSolid: {"半固态", "semi-solid"},
	manifest.Liquid:    {"液态", "liquid"},
	manifest.Gas:       {"气态（容器盛装）", "gas (contained)"},
}

var packagingNames = map[string]Label{
	"drum":       {"桶", "drum"},
	"bag":        {"袋", "bag"},
	"box":        {"箱", "box"},
	"tank":       {"罐", "tank"},
	"ibc":        {"吨桶（IBC）", "IBC"},
	"sharps_box": {"利器盒", "sharps box"},
	"pallet":     {"托盘", "pallet"},
	"bulk":       {"散装", "bulk"},
	"cylinder":   {"钢瓶", "cylinder"},
	"other":      {"其他", "other"},
}

var decisionNames = map[manifest.Decision]Label{
	manifest.Accepted:         {"接收", "accepted"},
	manifest.PartiallyRefused: {"部分拒收", "partially refused"},
	manifest.Refused:          {"拒收", "refused"},
}

var flagNames = map[string]Label{
	manifest.FlagDiscrepancy: {"数量差异", "quantity discrepancy"},
	manifest.FlagMedicalLate: {"医疗废物超时", "medical waste over time limit"},
	manifest.FlagRefused:     {"拒收", "refused"},
}

var unitNames = map[manifest.Unit]Label{
	manifest.Kilogram: {"千克", "kg"},
	manifest.Gram:     {"克", "g"},
}

// StatusName names a manifest status.
func StatusName(s manifest.Status) Label { return labelOr(statusNames, s, string(s)) }

// StepName names a step.
func StepName(s manifest.Step) Label { return labelOr(stepNames, s, string(s)) }

// FormName names a physical form.
func FormName(f manifest.Form) Label { return labelOr(formNames, f, string(f)) }

// PackagingName names a packaging type.
func PackagingName(p string) Label { return labelOr(packagingNames, p, p) }

// DecisionName names a receiver's decision.
func DecisionName(d manifest.Decision) Label { return labelOr(decisionNames, d, string(d)) }

// FlagName names a flag rule.
func FlagName(r string) Label { return labelOr(flagNames, r, r) }

// UnitName names a unit.
func UnitName(u manifest.Unit) Label { return labelOr(unitNames, u, string(u)) }

func labelOr[K comparable](m map[K]Label, k K, raw string) Label {
	if l, ok := m[k]; ok {
		return l
	}
	return Label{ZH: raw, EN: raw}
}

// HazardNames names each hazard characteristic in a line's hazard field
// ("T,I" → 毒性 Toxicity, 易燃性 Ignitability).
func HazardNames(field string) []Label {
	var out []Label
	for _, f := range strings.FieldsFunc(field, func(r rune) bool { return r == ',' || r == '/' || r == ' ' }) {
		h := catalog.Hazard(f)
		if h.Name() == "" {
			out = append(out, Label{ZH: f, EN: f})
			continue
		}
		out = append(out, Label{ZH: h.Name(), EN: h.NameEN()})
	}
	return out
}

// Waste is what the catalogue says of a line's code.
type Waste struct {
	Code         string `json:"code"`
	Name         string `json:"name"` // the exact name in the national list (Chinese)
	NameEN       string `json:"name_en,omitempty"`
	Category     string `json:"category,omitempty"`      // HW08
	CategoryName Label  `json:"category_name,omitempty"` // 废矿物油与含矿物油废物
}

// WasteOf looks a code up in the catalogue; an unknown code keeps only the
// code.
func WasteOf(code string) Waste {
	w, ok := catalog.Lookup(code)
	if !ok {
		return Waste{Code: code}
	}
	return Waste{Code: code, Name: w.Name, NameEN: w.NameEN, Category: w.Category, CategoryName: Label{w.CategoryName, w.CategoryNameEN}}
}

// MethodName names a utilisation/disposal method code.
func MethodName(code string) Label {
	m, ok := catalog.LookupMethod(code)
	if !ok {
		return Label{ZH: code, EN: code}
	}
	return Label{ZH: m.Name, EN: m.NameEN}
}
