package catalog

import (
	"fmt"
	"slices"
	"strings"
)

// Stream is the regulatory stream a waste travels in. It decides which rules
// apply to a manifest line (medical-waste methods, unit codes) and which
// indicators the line counts towards.
type Stream string

const (
	Industrial Stream = "industrial" // every listed code not named below
	Medical    Stream = "medical"    // HW01: 841-001-01 … 841-005-01
	FlyAsh     Stream = "fly_ash"    // 772-002-18 生活垃圾焚烧飞灰
	Battery    Stream = "battery"    // 900-052-31 废铅蓄电池, and EVBattery
)

// EVBattery is the code of the catalogue's one unlisted entry: end-of-life
// new-energy-vehicle traction batteries. The national list has no code for
// them (DOMAIN.md §2.4); they are traced under the MIIT regime (§5) by
// GB/T 34014 unit codes, which their manifest lines must carry.
const EVBattery = "EV-BATTERY"

var evBattery = Waste{
	Code:   EVBattery,
	Name:   "废旧新能源汽车动力蓄电池",
	NameEN: "End-of-life new-energy vehicle traction battery",
	Stream: Battery,
}

// Hazard is a hazard characteristic of the national list (DOMAIN.md §2.2).
type Hazard string

const (
	Toxicity     Hazard = "T"
	Corrosivity  Hazard = "C"
	Ignitability Hazard = "I"
	Reactivity   Hazard = "R"
	Infectivity  Hazard = "In"
)

var hazardNames = [...]struct {
	h      Hazard
	zh, en string
}{
	{Toxicity, "毒性", "Toxicity"},
	{Corrosivity, "腐蚀性", "Corrosivity"},
	{Ignitability, "易燃性", "Ignitability"},
	{Reactivity, "反应性", "Reactivity"},
	{Infectivity, "感染性", "Infectivity"},
}

// Hazards lists the five hazard characteristics.
func Hazards() []Hazard {
	hs := make([]Hazard, len(hazardNames))
	for i, n := range hazardNames {
		hs[i] = n.h
	}
	return hs
}

// Name is the Chinese name, e.g. 毒性; "" for an unknown hazard.
func (h Hazard) Name() string {
	for _, n := range hazardNames {
		if n.h == h {
			return n.zh
		}
	}
	return ""
}

// NameEN is the English name, e.g. Toxicity; "" for an unknown hazard.
func (h Hazard) NameEN() string {
	for _, n := range hazardNames {
		if n.h == h {
			return n.en
		}
	}
	return ""
}

// Waste is one entry of the catalogue: a code of 国家危险废物名录（2021年版）,
// or the unlisted EVBattery entry.
type Waste struct {
	Code           string // "900-214-08", or EVBattery
	Category       string // "HW08"; "" for EVBattery
	CategoryName   string // 废矿物油与含矿物油废物
	CategoryNameEN string // project translation; see categories-en.csv
	Name           string // the exact 2021 name
	NameEN         string // EVBattery and identified codes only; listed names have no translation
	Industry       string // GB/T 4754 industry: the code's first 3 digits ("900" = 非特定行业)
	// Hazard is the hazard field as listed: "T,I" means T and possibly I;
	// "T/C/I/R" means one or more of them (DOMAIN.md §2.2).
	Hazard  string
	Hazards []Hazard // every characteristic named in Hazard, in that order
	Stream  Stream
	Listed  bool // false for EVBattery and identified codes
}

// Category is one of the 46 HW categories of the 2021 list.
type Category struct {
	Code    string // "HW08"
	Name    string // 废矿物油与含矿物油废物
	NameEN  string // project translation
	Entries int    // number of listed codes in the category
}

func streamOf(code, category string) Stream {
	switch {
	case category == "HW01":
		return Medical
	case code == "772-002-18":
		return FlyAsh
	case code == "900-052-31":
		return Battery
	}
	return Industrial
}

func (w Waste) clone() Waste {
	w.Hazards = slices.Clone(w.Hazards)
	return w
}

// Lookup returns the catalogue entry for a waste code ("900-214-08",
// EVBattery, or an identified code 900-000-CC).
func Lookup(code string) (Waste, bool) {
	i, ok := cat.wasteIdx[code]
	if !ok {
		return identified(code)
	}
	return cat.wastes[i].clone(), true
}

// IdentifiedPrefix starts the codes of waste found hazardous by
// identification (危险废物鉴别) but not on the list: 900-000-CC, CC its HW
// category, assigned by its main hazardous component and characteristic
// (名录 2021 第六条; DOMAIN.md §2, "identified-but-unlisted"). Their hazard
// characteristics come from the identification report, so a manifest line
// must declare them.
const IdentifiedPrefix = "900-000-"

// identifiedHazards is what an identified code may declare: any of them.
const identifiedHazards = "T/C/I/R"

var identifiedHazardList, _ = parseHazards(identifiedHazards)

// identified is the entry of an identified code 900-000-CC of an existing
// category. Medical waste (HW01) has its own complete catalogue and no
// identified codes.
func identified(code string) (Waste, bool) {
	if !strings.HasPrefix(code, IdentifiedPrefix) || !codeShape(code) || code[8:] == "01" {
		return Waste{}, false
	}
	c, ok := LookupCategory("HW" + code[8:])
	if !ok {
		return Waste{}, false
	}
	w := Waste{Code: code, Category: c.Code, CategoryName: c.Name, CategoryNameEN: c.NameEN,
		Name:     "经鉴别具有危险特性的危险废物（" + c.Name + "）",
		NameEN:   "Waste identified as hazardous, not listed (" + c.NameEN + ")",
		Industry: "900", Hazard: identifiedHazards, Hazards: identifiedHazardList, Stream: streamOf(code, c.Code)}
	return w.clone(), true
}

// MustLookup is Lookup for codes known at compile time; it panics on an
// unknown code.
func MustLookup(code string) Waste {
	w, ok := Lookup(code)
	if !ok {
		panic("catalog: unknown waste code " + quote(code))
	}
	return w
}

// All returns every entry, the 467 listed codes and EVBattery, sorted by
// code.
func All() []Waste {
	ws := make([]Waste, len(cat.wastes))
	for i, w := range cat.wastes {
		ws[i] = w.clone()
	}
	return ws
}

// Categories returns the 46 categories, sorted by code.
func Categories() []Category {
	return slices.Clone(cat.categories)
}

// LookupCategory returns a category by its code ("HW08").
func LookupCategory(code string) (Category, bool) {
	i, ok := cat.categoryIdx[code]
	if !ok {
		return Category{}, false
	}
	return cat.categories[i], true
}

// RequiresUnitCodes reports whether manifest lines of the waste must carry
// battery unit codes (GB/T 34014). Only EVBattery does; lead-acid lines
// (900-052-31) may carry codes but need not.
func RequiresUnitCodes(code string) bool {
	return code == EVBattery
}

// Search returns up to limit entries matching q (all of them when limit <= 0):
//   - a query of digits and hyphens matches code prefixes only ("900-214");
//   - otherwise an entry matches when q is its category ("HW08", "hw08"), a
//     prefix of its code ("EV"), or a case-insensitive substring of its name,
//     category name or English category name ("矿物油", "mineral oil").
//
// The entry whose code equals q comes first, the rest follow by code. An
// empty query matches nothing.
func Search(q string, limit int) []Waste {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil
	}
	lq := strings.ToLower(q)
	codeOnly := strings.Trim(q, "0123456789-") == ""
	var out []Waste
	for _, w := range cat.wastes {
		match := strings.HasPrefix(strings.ToLower(w.Code), lq)
		if !match && !codeOnly {
			match = strings.EqualFold(w.Category, q) ||
				strings.Contains(strings.ToLower(w.Name), lq) ||
				strings.Contains(strings.ToLower(w.NameEN), lq) ||
				strings.Contains(strings.ToLower(w.CategoryName), lq) ||
				strings.Contains(strings.ToLower(w.CategoryNameEN), lq)
		}
		if !match {
			continue
		}
		if strings.EqualFold(w.Code, q) {
			out = slices.Insert(out, 0, w.clone())
		} else {
			out = append(out, w.clone())
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// ValidCode checks that s is a waste code of the catalogue: NNN-NNN-NN and
// listed in the 2021 list, or EVBattery. The error is an *Error of kind
// Malformed or Unknown.
func ValidCode(s string) error {
	if _, ok := Lookup(s); ok {
		return nil
	}
	e := &Error{Kind: Malformed, What: "waste code", Value: s}
	switch {
	case s == "":
		e.Msg = "must not be empty"
	case !codeShape(s):
		e.Msg = "must have the form NNN-NNN-NN (digits, e.g. 900-214-08) or be " + EVBattery
	case !hasCategory(s):
		e.Kind = Unknown
		e.Msg = fmt.Sprintf("HW%s is not a category of the 2021 national list (国家危险废物名录)", s[8:])
	case s == IdentifiedPrefix+"01":
		e.Kind = Unknown
		e.Msg = "medical waste has no identified code: use 841-001-01 … 841-005-01 (医疗废物分类目录)"
	default:
		e.Kind = Unknown
		e.Msg = "not in the 2021 national list (国家危险废物名录)"
	}
	return e
}

func hasCategory(code string) bool {
	_, ok := cat.categoryIdx["HW"+code[8:]]
	return ok
}

// codeShape reports whether s matches ^\d{3}-\d{3}-\d{2}$.
func codeShape(s string) bool {
	if len(s) != 10 || s[3] != '-' || s[7] != '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i != 3 && i != 7 && !isDigit(s[i]) {
			return false
		}
	}
	return true
}
