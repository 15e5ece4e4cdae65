package catalog

import (
	"bytes"
	"embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

//go:embed data/*.csv data/*.json
var files embed.FS

// tables holds everything parsed from the embedded data. It is built once,
// never changed afterwards, and only copies leave the package.
type tables struct {
	wastes      []Waste        // sorted by code; EVBattery last
	wasteIdx    map[string]int // code → index in wastes
	categories  []Category     // sorted by code
	categoryIdx map[string]int
	methods     []Method // in file order
	methodIdx   map[string]int
	regions     []Region // sorted by code
	regionIdx   map[string]int
	chemistries []chemistryRow
}

type chemistryRow struct {
	letter       Chemistry
	name, nameEN string
}

var cat = mustLoad()

func mustLoad() *tables {
	t, err := load()
	if err != nil {
		panic("catalog: embedded data: " + err.Error())
	}
	return t
}

func load() (*tables, error) {
	t := &tables{}
	for _, step := range []func() error{t.loadCategories, t.loadWastes, t.loadMethods, t.loadRegions, t.loadChemistries} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// readCSV reads an embedded CSV file, checks its header and returns the
// records after it. Lines starting with '#' are comments.
func readCSV(name string, header ...string) ([][]string, error) {
	b, err := files.ReadFile("data/" + name)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.Comment = '#'
	r.FieldsPerRecord = len(header)
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], header) {
		return nil, fmt.Errorf("%s: header must be %s", name, strings.Join(header, ","))
	}
	return recs[1:], nil
}

func (t *tables) loadCategories() error {
	b, err := files.ReadFile("data/hw-categories-2021.json")
	if err != nil {
		return err
	}
	var names map[string]string
	if err := json.Unmarshal(b, &names); err != nil {
		return fmt.Errorf("hw-categories-2021.json: %w", err)
	}
	recs, err := readCSV("categories-en.csv", "category", "name_en")
	if err != nil {
		return err
	}
	en := make(map[string]string, len(recs))
	for _, r := range recs {
		if _, ok := names[r[0]]; !ok {
			return fmt.Errorf("categories-en.csv: %s is not a category", r[0])
		}
		if _, dup := en[r[0]]; dup || r[1] == "" {
			return fmt.Errorf("categories-en.csv: %s repeated or empty", r[0])
		}
		en[r[0]] = r[1]
	}
	for code, name := range names {
		if !validCategory(code) {
			return fmt.Errorf("hw-categories-2021.json: bad category %q", code)
		}
		t.categories = append(t.categories, Category{Code: code, Name: name, NameEN: en[code]})
	}
	slices.SortFunc(t.categories, func(a, b Category) int { return strings.Compare(a.Code, b.Code) })
	t.categoryIdx = make(map[string]int, len(t.categories))
	for i, c := range t.categories {
		t.categoryIdx[c.Code] = i
	}
	return nil
}

func validCategory(s string) bool {
	return len(s) == 4 && s[:2] == "HW" && isDigit(s[2]) && isDigit(s[3])
}

func (t *tables) loadWastes() error {
	const file = "hw-list-2021.csv"
	recs, err := readCSV(file, "waste_code", "category", "category_name", "industry_code_gbt4754", "hazard", "name")
	if err != nil {
		return err
	}
	t.wasteIdx = make(map[string]int, len(recs)+1)
	for _, r := range recs {
		code, category, categoryName, industry, hazard, name := r[0], r[1], r[2], r[3], r[4], r[5]
		ci, ok := t.categoryIdx[category]
		switch {
		case !codeShape(code):
			return fmt.Errorf("%s: bad code %q", file, code)
		case !ok || "HW"+code[8:] != category:
			return fmt.Errorf("%s: %s: category %q does not match", file, code, category)
		case t.categories[ci].Name != categoryName:
			return fmt.Errorf("%s: %s: category name %q differs from the JSON", file, code, categoryName)
		case industry != code[:3]:
			return fmt.Errorf("%s: %s: industry %q is not the code's first 3 digits", file, code, industry)
		case name == "":
			return fmt.Errorf("%s: %s: empty name", file, code)
		}
		hs, err := parseHazards(hazard)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", file, code, err)
		}
		if _, dup := t.wasteIdx[code]; dup {
			return fmt.Errorf("%s: %s repeated", file, code)
		}
		t.wasteIdx[code] = len(t.wastes)
		t.categories[ci].Entries++
		t.wastes = append(t.wastes, Waste{
			Code:           code,
			Category:       category,
			CategoryName:   categoryName,
			CategoryNameEN: t.categories[ci].NameEN,
			Name:           name,
			Industry:       industry,
			Hazard:         hazard,
			Hazards:        hs,
			Stream:         streamOf(code, category),
			Listed:         true,
		})
	}
	slices.SortFunc(t.wastes, func(a, b Waste) int { return strings.Compare(a.Code, b.Code) })
	t.wastes = append(t.wastes, evBattery)
	for i, w := range t.wastes {
		t.wasteIdx[w.Code] = i
	}
	return nil
}

// parseHazards splits a hazard field such as "T,I" or "T/C/I/R" into its
// characteristics, in the order listed.
func parseHazards(s string) ([]Hazard, error) {
	var hs []Hazard
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '/' }) {
		h := Hazard(f)
		if h.Name() == "" || slices.Contains(hs, h) {
			return nil, fmt.Errorf("bad hazard field %q", s)
		}
		hs = append(hs, h)
	}
	if len(hs) == 0 {
		return nil, fmt.Errorf("empty hazard field")
	}
	return hs, nil
}

func (t *tables) loadMethods() error {
	recs, err := readCSV("methods.csv", "code", "class", "indicator", "name", "name_en")
	if err != nil {
		return err
	}
	t.methodIdx = make(map[string]int, len(recs))
	for _, r := range recs {
		m := Method{Code: r[0], Class: Class(r[1]), Indicator: Indicator(r[2]), Name: r[3], NameEN: r[4]}
		if !slices.Contains(classes, m.Class) || !slices.Contains(indicators, m.Indicator) || m.Code == "" || m.Name == "" || m.NameEN == "" {
			return fmt.Errorf("methods.csv: bad row %q", r)
		}
		if _, dup := t.methodIdx[m.Code]; dup {
			return fmt.Errorf("methods.csv: %s repeated", m.Code)
		}
		t.methodIdx[m.Code] = len(t.methods)
		t.methods = append(t.methods, m)
	}
	return nil
}

func (t *tables) loadRegions() error {
	recs, err := readCSV("regions.csv", "code", "name", "name_en")
	if err != nil {
		return err
	}
	t.regionIdx = make(map[string]int, len(recs))
	for _, r := range recs {
		level, ok := regionLevel(r[0])
		if !ok || r[1] == "" || r[2] == "" {
			return fmt.Errorf("regions.csv: bad row %q", r)
		}
		if _, dup := t.regionIdx[r[0]]; dup {
			return fmt.Errorf("regions.csv: %s repeated", r[0])
		}
		t.regionIdx[r[0]] = 0
		t.regions = append(t.regions, Region{Code: r[0], Name: r[1], NameEN: r[2], Level: level})
	}
	slices.SortFunc(t.regions, func(a, b Region) int { return strings.Compare(a.Code, b.Code) })
	for i, r := range t.regions {
		t.regionIdx[r.Code] = i
		// Every city and district must sit under a catalogued parent.
		if r.Level != ProvinceLevel {
			if _, ok := t.regionIdx[r.Code[:2]+"0000"]; !ok {
				return fmt.Errorf("regions.csv: %s has no province", r.Code)
			}
		}
		if r.Level == DistrictLevel {
			if _, ok := t.regionIdx[r.Code[:4]+"00"]; !ok {
				return fmt.Errorf("regions.csv: %s has no city", r.Code)
			}
		}
	}
	return nil
}

func (t *tables) loadChemistries() error {
	recs, err := readCSV("battery-chemistries.csv", "letter", "name", "name_en")
	if err != nil {
		return err
	}
	for _, r := range recs {
		if len(r[0]) != 1 || !isChemistryLetter(rune(r[0][0])) || r[1] == "" || r[2] == "" {
			return fmt.Errorf("battery-chemistries.csv: bad row %q", r)
		}
		t.chemistries = append(t.chemistries, chemistryRow{Chemistry(r[0]), r[1], r[2]})
	}
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
