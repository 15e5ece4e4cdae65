package catalog

// MedicalCategory is a category of 医疗废物分类目录（2021年版） (DOMAIN.md
// §3.1). Each maps to one HW01 code of the national list.
type MedicalCategory string

const (
	Infectious     MedicalCategory = "infectious"     // 感染性废物, 841-001-01
	Sharps         MedicalCategory = "sharps"         // 损伤性废物, 841-002-01
	Pathological   MedicalCategory = "pathological"   // 病理性废物, 841-003-01
	Chemical       MedicalCategory = "chemical"       // 化学性废物, 841-004-01
	Pharmaceutical MedicalCategory = "pharmaceutical" // 药物性废物, 841-005-01
)

// Note the order of the last two: the national list numbers 化学性 004 and
// 药物性 005, although the medical catalogue names 药物性 first.
var medicalCategories = [...]medicalRow{
	{Infectious, "841-001-01", "感染性废物", "Infectious waste"},
	{Sharps, "841-002-01", "损伤性废物", "Sharps waste"},
	{Pathological, "841-003-01", "病理性废物", "Pathological waste"},
	{Chemical, "841-004-01", "化学性废物", "Chemical waste"},
	{Pharmaceutical, "841-005-01", "药物性废物", "Pharmaceutical waste"},
}

// MedicalCategories lists the five categories in code order.
func MedicalCategories() []MedicalCategory {
	cs := make([]MedicalCategory, len(medicalCategories))
	for i, m := range medicalCategories {
		cs[i] = m.c
	}
	return cs
}

// MedicalCategoryOf returns the medical category of an HW01 waste code.
func MedicalCategoryOf(code string) (MedicalCategory, bool) {
	for _, m := range medicalCategories {
		if m.code == code {
			return m.c, true
		}
	}
	return "", false
}

// ParseMedicalCategory checks s ("infectious", …) and returns it typed.
func ParseMedicalCategory(s string) (MedicalCategory, error) {
	for _, m := range medicalCategories {
		if string(m.c) == s {
			return m.c, nil
		}
	}
	return "", &Error{Kind: Unknown, What: "medical category", Value: s,
		Msg: "must be infectious, sharps, pathological, chemical or pharmaceutical"}
}

// Code is the national-list waste code of the category; "" if c is unknown.
func (c MedicalCategory) Code() string { return c.row().code }

// Name is the Chinese name, e.g. 感染性废物.
func (c MedicalCategory) Name() string { return c.row().zh }

// NameEN is the English name, e.g. Infectious waste.
func (c MedicalCategory) NameEN() string { return c.row().en }

type medicalRow struct {
	c      MedicalCategory
	code   string
	zh, en string
}

func (c MedicalCategory) row() medicalRow {
	for _, m := range medicalCategories {
		if m.c == c {
			return m
		}
	}
	return medicalRow{}
}
