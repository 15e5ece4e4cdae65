package catalog_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"wasteledger/manifest/catalog"
)

func TestAll(t *testing.T) {
	all := catalog.All()
	if got, want := len(all), 467+1; got != want {
		t.Fatalf("len(All()) = %d, want %d", got, want)
	}
	listed := 0
	for i, w := range all {
		if w.Listed {
			listed++
		}
		if i > 0 && all[i-1].Code >= w.Code {
			t.Errorf("All() not sorted: %s before %s", all[i-1].Code, w.Code)
		}
		if w.Listed && (w.Category != "HW"+w.Code[8:] || w.Industry != w.Code[:3] || w.CategoryNameEN == "" || len(w.Hazards) == 0) {
			t.Errorf("All() entry %+v is inconsistent", w)
		}
		if got, _ := catalog.Lookup(w.Code); got.Code != w.Code {
			t.Errorf("Lookup(%q).Code = %q, want %q", w.Code, got.Code, w.Code)
		}
	}
	if listed != 467 {
		t.Errorf("listed entries = %d, want 467", listed)
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		code    string
		ok      bool
		stream  catalog.Stream
		hazards []catalog.Hazard
		name    string
	}{
		{"841-001-01", true, catalog.Medical, []catalog.Hazard{catalog.Infectivity}, "感染性废物"},
		{"841-002-01", true, catalog.Medical, []catalog.Hazard{catalog.Infectivity}, "损伤性废物"},
		{"841-003-01", true, catalog.Medical, []catalog.Hazard{catalog.Infectivity}, "病理性废物"},
		{"841-004-01", true, catalog.Medical, []catalog.Hazard{catalog.Toxicity, catalog.Corrosivity, catalog.Ignitability, catalog.Reactivity}, "化学性废物"},
		{"841-005-01", true, catalog.Medical, []catalog.Hazard{catalog.Toxicity}, "药物性废物"},
		{"772-002-18", true, catalog.FlyAsh, []catalog.Hazard{catalog.Toxicity}, "生活垃圾焚烧飞灰"},
		{"772-003-18", true, catalog.Industrial, []catalog.Hazard{catalog.Toxicity}, "危险废物焚烧、热解等处置过程产生的底渣、飞灰和废水处理污泥"},
		{"900-052-31", true, catalog.Battery, []catalog.Hazard{catalog.Toxicity, catalog.Corrosivity}, "废铅蓄电池及废铅蓄电池拆解过程中产生的废铅板、废铅膏和酸液"},
		{"384-004-31", true, catalog.Industrial, []catalog.Hazard{catalog.Toxicity}, "铅蓄电池生产过程中产生的废渣、集（除）尘装置收集的粉尘和废水处理污泥"},
		{"900-214-08", true, catalog.Industrial, []catalog.Hazard{catalog.Toxicity, catalog.Ignitability}, "车辆、轮船及其它机械维修过程中产生的废发动机油、制动器油、自动变速器油、齿轮油等废润滑油"},
		{"900-042-49", true, catalog.Industrial, []catalog.Hazard{catalog.Toxicity, catalog.Corrosivity, catalog.Ignitability, catalog.Reactivity, catalog.Infectivity}, "环境事件及其处理过程中产生的沾染危险化学品、危险废物的废物"},
		{catalog.EVBattery, true, catalog.Battery, nil, "废旧新能源汽车动力蓄电池"},
		{"900-999-08", false, "", nil, ""},
		{"ev-battery", false, "", nil, ""},
		{"", false, "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			w, ok := catalog.Lookup(tt.code)
			if ok != tt.ok {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.code, ok, tt.ok)
			}
			if w.Stream != tt.stream || w.Name != tt.name || !slices.Equal(w.Hazards, tt.hazards) {
				t.Errorf("Lookup(%q) = {Stream:%q Name:%q Hazards:%v}, want {Stream:%q Name:%q Hazards:%v}",
					tt.code, w.Stream, w.Name, w.Hazards, tt.stream, tt.name, tt.hazards)
			}
		})
	}
}

func TestStreams(t *testing.T) {
	counts := map[catalog.Stream]int{}
	for _, w := range catalog.All() {
		counts[w.Stream]++
		if w.Stream == catalog.Medical && w.Category != "HW01" {
			t.Errorf("%s is Medical but in %s", w.Code, w.Category)
		}
	}
	want := map[catalog.Stream]int{catalog.Medical: 5, catalog.FlyAsh: 1, catalog.Battery: 2, catalog.Industrial: 467 - 5 - 1 - 1}
	for s, n := range want {
		if counts[s] != n {
			t.Errorf("entries in stream %q = %d, want %d", s, counts[s], n)
		}
	}
}

func TestEVBattery(t *testing.T) {
	w := catalog.MustLookup(catalog.EVBattery)
	if w.Listed || w.Category != "" || w.Stream != catalog.Battery || w.NameEN == "" || w.Name != "废旧新能源汽车动力蓄电池" {
		t.Errorf("MustLookup(EVBattery) = %+v", w)
	}
	for code, want := range map[string]bool{catalog.EVBattery: true, "900-052-31": false, "900-214-08": false, "": false} {
		if got := catalog.RequiresUnitCodes(code); got != want {
			t.Errorf("RequiresUnitCodes(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestMustLookupPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustLookup(\"000-000-00\") did not panic")
		}
	}()
	catalog.MustLookup("000-000-00")
}

func TestResultsAreCopies(t *testing.T) {
	before := catalog.All()[0]
	w, _ := catalog.Lookup("841-004-01")
	w.Hazards[0] = catalog.Infectivity
	all := catalog.All()
	all[0].Name = "changed"
	all[0].Hazards[0] = catalog.Infectivity
	cs := catalog.Categories()
	cs[0].Name = "changed"

	if w, _ := catalog.Lookup("841-004-01"); w.Hazards[0] != catalog.Toxicity {
		t.Errorf("Lookup(841-004-01).Hazards[0] = %q after a caller's change, want T", w.Hazards[0])
	}
	if got := catalog.All()[0]; !reflect.DeepEqual(got, before) {
		t.Errorf("All()[0] = %+v after a caller's change, want %+v", got, before)
	}
	if got := catalog.Categories()[0].Name; got != "医疗废物" {
		t.Errorf("Categories()[0].Name = %q after a caller's change, want 医疗废物", got)
	}
}

func TestCategories(t *testing.T) {
	// Entries per category, DOMAIN.md §2.3.
	want := map[string]int{
		"HW01": 5, "HW02": 20, "HW03": 1, "HW04": 13, "HW05": 7, "HW06": 6, "HW07": 6, "HW08": 32,
		"HW09": 3, "HW10": 4, "HW11": 85, "HW12": 20, "HW13": 8, "HW14": 1, "HW15": 4, "HW16": 8,
		"HW17": 21, "HW18": 4, "HW19": 1, "HW20": 1, "HW21": 13, "HW22": 4, "HW23": 4, "HW24": 1,
		"HW25": 1, "HW26": 1, "HW27": 2, "HW28": 1, "HW29": 22, "HW30": 1, "HW31": 6, "HW32": 1,
		"HW33": 5, "HW34": 19, "HW35": 12, "HW36": 9, "HW37": 4, "HW38": 7, "HW39": 2, "HW40": 1,
		"HW45": 8, "HW46": 3, "HW47": 2, "HW48": 33, "HW49": 11, "HW50": 44,
	}
	cs := catalog.Categories()
	if len(cs) != 46 {
		t.Fatalf("len(Categories()) = %d, want 46", len(cs))
	}
	for i, c := range cs {
		if i > 0 && cs[i-1].Code >= c.Code {
			t.Errorf("Categories() not sorted: %s before %s", cs[i-1].Code, c.Code)
		}
		if c.Name == "" || c.NameEN == "" {
			t.Errorf("category %s = %+v, want Chinese and English names", c.Code, c)
		}
		if c.Entries != want[c.Code] {
			t.Errorf("category %s has %d entries, want %d", c.Code, c.Entries, want[c.Code])
		}
		if got, ok := catalog.LookupCategory(c.Code); !ok || got != c {
			t.Errorf("LookupCategory(%q) = %+v, %v, want %+v, true", c.Code, got, ok, c)
		}
	}
	for code, en := range map[string]string{
		"HW01": "Medical waste",
		"HW08": "Waste mineral oil and mineral-oil-containing waste",
		"HW17": "Surface treatment waste",
		"HW18": "Incineration residues",
		"HW31": "Lead-containing waste",
		"HW49": "Other wastes",
		"HW50": "Spent catalysts",
	} {
		if c, _ := catalog.LookupCategory(code); c.NameEN != en {
			t.Errorf("LookupCategory(%q).NameEN = %q, want %q", code, c.NameEN, en)
		}
	}
	for _, code := range []string{"HW41", "HW44", "hw08", ""} {
		if _, ok := catalog.LookupCategory(code); ok {
			t.Errorf("LookupCategory(%q) ok = true, want false", code)
		}
	}
}

func TestSearch(t *testing.T) {
	tests := []struct {
		q         string
		limit     int
		n         int    // number of results
		first     string // code of the first result, if any
		has       string // a code that must be among the results
		allInCat  string // every result must be in this category
		wantCodes []string
	}{
		{q: "900-214", wantCodes: []string{"900-214-08"}},
		{q: "900-401", wantCodes: []string{"900-401-06"}}, // not 900-405-06, whose name cites 900-401-06
		{q: "772-002-18", wantCodes: []string{"772-002-18"}},
		{q: "841", wantCodes: []string{"841-001-01", "841-002-01", "841-003-01", "841-004-01", "841-005-01"}},
		{q: "HW01", wantCodes: []string{"841-001-01", "841-002-01", "841-003-01", "841-004-01", "841-005-01"}},
		{q: "hw08", n: 32, allInCat: "HW08", has: "900-214-08"},
		{q: " HW08 ", limit: 3, n: 3, allInCat: "HW08"},
		{q: "矿物油", n: 34, has: "900-047-49"},
		{q: "mineral oil", n: 32, allInCat: "HW08"},
		{q: "MINERAL OIL", n: 32, allInCat: "HW08"},
		{q: "飞灰", has: "772-002-18", n: 3},
		{q: "lead-containing", n: 6, allInCat: "HW31"},
		{q: "动力蓄电池", wantCodes: []string{catalog.EVBattery}},
		{q: "ev-battery", wantCodes: []string{catalog.EVBattery}},
		{q: "traction battery", wantCodes: []string{catalog.EVBattery}},
		{q: "HW42"},
		{q: "999"},
		{q: ""},
		{q: "   "},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			got := catalog.Search(tt.q, tt.limit)
			codes := make([]string, len(got))
			for i, w := range got {
				codes[i] = w.Code
				if tt.allInCat != "" && w.Category != tt.allInCat {
					t.Errorf("Search(%q) returned %s of %s, want only %s", tt.q, w.Code, w.Category, tt.allInCat)
				}
			}
			if !slices.IsSorted(codes) {
				t.Errorf("Search(%q) = %v, want sorted by code", tt.q, codes)
			}
			switch {
			case tt.wantCodes != nil:
				if !slices.Equal(codes, tt.wantCodes) {
					t.Errorf("Search(%q, %d) = %v, want %v", tt.q, tt.limit, codes, tt.wantCodes)
				}
			case len(got) != tt.n:
				t.Errorf("Search(%q, %d) returned %d entries, want %d: %v", tt.q, tt.limit, len(got), tt.n, codes)
			}
			if tt.has != "" && !slices.Contains(codes, tt.has) {
				t.Errorf("Search(%q) = %v, want it to contain %s", tt.q, codes, tt.has)
			}
		})
	}
}

func TestSearchExactFirst(t *testing.T) {
	got := catalog.Search("EV-BATTERY", 1)
	if len(got) != 1 || got[0].Code != catalog.EVBattery {
		t.Errorf("Search(\"EV-BATTERY\", 1) = %v, want [EV-BATTERY]", got)
	}
}

func TestValidCode(t *testing.T) {
	tests := []struct {
		s    string
		kind catalog.Kind // "" = valid
		msg  string
	}{
		{"900-214-08", "", ""},
		{"841-005-01", "", ""},
		{catalog.EVBattery, "", ""},
		{"", catalog.Malformed, `waste code "": must not be empty`},
		{"90021408", catalog.Malformed, `waste code "90021408": must have the form NNN-NNN-NN (digits, e.g. 900-214-08) or be EV-BATTERY`},
		{"900-214-8", catalog.Malformed, `waste code "900-214-8": must have the form NNN-NNN-NN (digits, e.g. 900-214-08) or be EV-BATTERY`},
		{" 900-214-08", catalog.Malformed, `waste code " 900-214-08": must have the form NNN-NNN-NN (digits, e.g. 900-214-08) or be EV-BATTERY`},
		{"900_214_08", catalog.Malformed, `waste code "900_214_08": must have the form NNN-NNN-NN (digits, e.g. 900-214-08) or be EV-BATTERY`},
		{"ev-battery", catalog.Malformed, `waste code "ev-battery": must have the form NNN-NNN-NN (digits, e.g. 900-214-08) or be EV-BATTERY`},
		{"９００-214-08", catalog.Malformed, `waste code "９００-214-08": must have the form NNN-NNN-NN (digits, e.g. 900-214-08) or be EV-BATTERY`},
		{"900-000-42", catalog.Unknown, `waste code "900-000-42": HW42 is not a category of the 2021 national list (国家危险废物名录)`},
		{"900-999-08", catalog.Unknown, `waste code "900-999-08": not in the 2021 national list (国家危险废物名录)`},
		{"900-000-49", "", ""}, // identified as hazardous, not listed: category HW49
		{"900-000-08", "", ""},
		{"900-000-01", catalog.Unknown, `waste code "900-000-01": medical waste has no identified code: use 841-001-01 … 841-005-01 (医疗废物分类目录)`},
		{"900-001-49", catalog.Unknown, `waste code "900-001-49": not in the 2021 national list (国家危险废物名录)`},
		{strings.Repeat("9", 100), catalog.Malformed, `waste code "` + strings.Repeat("9", 64) + `"…: must have the form NNN-NNN-NN (digits, e.g. 900-214-08) or be EV-BATTERY`},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			err := catalog.ValidCode(tt.s)
			if tt.kind == "" {
				if err != nil {
					t.Errorf("ValidCode(%q) = %v, want nil", tt.s, err)
				}
				return
			}
			if err == nil || err.Error() != tt.msg {
				t.Errorf("ValidCode(%q) = %v, want %s", tt.s, err, tt.msg)
			}
			if !errors.Is(err, &catalog.Error{Kind: tt.kind}) {
				t.Errorf("ValidCode(%q) = %v, want kind %s", tt.s, err, tt.kind)
			}
		})
	}
}

func TestHazards(t *testing.T) {
	want := map[catalog.Hazard][2]string{
		catalog.Toxicity:     {"毒性", "Toxicity"},
		catalog.Corrosivity:  {"腐蚀性", "Corrosivity"},
		catalog.Ignitability: {"易燃性", "Ignitability"},
		catalog.Reactivity:   {"反应性", "Reactivity"},
		catalog.Infectivity:  {"感染性", "Infectivity"},
	}
	hs := catalog.Hazards()
	if len(hs) != len(want) {
		t.Fatalf("Hazards() = %v, want 5", hs)
	}
	for _, h := range hs {
		if got := [2]string{h.Name(), h.NameEN()}; got != want[h] {
			t.Errorf("Hazard %q names = %v, want %v", h, got, want[h])
		}
	}
	if catalog.Hazard("X").Name() != "" {
		t.Error(`Hazard("X").Name() != ""`)
	}
}

// An identified code 900-000-CC stands for waste found hazardous by
// identification but not listed; it belongs to category CC.
func TestIdentifiedCode(t *testing.T) {
	w, ok := catalog.Lookup("900-000-17")
	if !ok {
		t.Fatal("Lookup(900-000-17) found nothing")
	}
	want := catalog.Waste{Code: "900-000-17", Category: "HW17", Industry: "900", Hazard: "T/C/I/R",
		Hazards: []catalog.Hazard{catalog.Toxicity, catalog.Corrosivity, catalog.Ignitability, catalog.Reactivity},
		Stream:  catalog.Industrial}
	if w.Code != want.Code || w.Category != want.Category || w.Industry != want.Industry || w.Hazard != want.Hazard ||
		!slices.Equal(w.Hazards, want.Hazards) || w.Stream != want.Stream || w.Listed {
		t.Errorf("Lookup(900-000-17) = %+v, want %+v", w, want)
	}
	if c, _ := catalog.LookupCategory("HW17"); !strings.Contains(w.Name, c.Name) || !strings.Contains(w.NameEN, c.NameEN) {
		t.Errorf("name %q / %q does not name category HW17 (%s / %s)", w.Name, w.NameEN, c.Name, c.NameEN)
	}
	for _, code := range []string{"900-000-01", "900-000-42", "900-000-1x", "901-000-17"} {
		if _, ok := catalog.Lookup(code); ok {
			t.Errorf("Lookup(%s) found an entry, want none", code)
		}
	}
	for _, w := range catalog.All() {
		if strings.HasPrefix(w.Code, catalog.IdentifiedPrefix) {
			t.Errorf("All() lists %s: identified codes are not entries of the list", w.Code)
		}
	}
}
