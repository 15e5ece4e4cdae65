package catalog_test

import (
	"errors"
	"testing"

	"wasteledger/manifest/catalog"
)

func TestMedicalCategories(t *testing.T) {
	tests := []struct {
		c        catalog.MedicalCategory
		code     string
		name, en string
	}{
		{catalog.Infectious, "841-001-01", "感染性废物", "Infectious waste"},
		{catalog.Sharps, "841-002-01", "损伤性废物", "Sharps waste"},
		{catalog.Pathological, "841-003-01", "病理性废物", "Pathological waste"},
		{catalog.Chemical, "841-004-01", "化学性废物", "Chemical waste"},
		{catalog.Pharmaceutical, "841-005-01", "药物性废物", "Pharmaceutical waste"},
	}
	all := catalog.MedicalCategories()
	if len(all) != len(tests) {
		t.Fatalf("MedicalCategories() = %v, want %d categories", all, len(tests))
	}
	for i, tt := range tests {
		t.Run(string(tt.c), func(t *testing.T) {
			if all[i] != tt.c {
				t.Errorf("MedicalCategories()[%d] = %q, want %q", i, all[i], tt.c)
			}
			if got := tt.c.Code(); got != tt.code {
				t.Errorf("%q.Code() = %q, want %q", tt.c, got, tt.code)
			}
			if got, ok := catalog.MedicalCategoryOf(tt.code); !ok || got != tt.c {
				t.Errorf("MedicalCategoryOf(%q) = %q, %v, want %q, true", tt.code, got, ok, tt.c)
			}
			if got, err := catalog.ParseMedicalCategory(string(tt.c)); err != nil || got != tt.c {
				t.Errorf("ParseMedicalCategory(%q) = %q, %v, want %q, nil", tt.c, got, err, tt.c)
			}
			if tt.c.Name() != tt.name || tt.c.NameEN() != tt.en {
				t.Errorf("%q names = %q, %q, want %q, %q", tt.c, tt.c.Name(), tt.c.NameEN(), tt.name, tt.en)
			}
			// The medical catalogue's names are the national list's names.
			w := catalog.MustLookup(tt.code)
			if w.Name != tt.name || w.Stream != catalog.Medical {
				t.Errorf("Lookup(%q) = {Name:%q Stream:%q}, want {Name:%q Stream:medical}", tt.code, w.Name, w.Stream, tt.name)
			}
		})
	}
}

func TestMedicalCategoryUnknown(t *testing.T) {
	if c, ok := catalog.MedicalCategoryOf("900-041-49"); ok {
		t.Errorf("MedicalCategoryOf(900-041-49) = %q, true, want false", c)
	}
	_, err := catalog.ParseMedicalCategory("Infectious")
	want := `medical category "Infectious": must be infectious, sharps, pathological, chemical or pharmaceutical`
	if err == nil || err.Error() != want || !errors.Is(err, &catalog.Error{Kind: catalog.Unknown}) {
		t.Errorf("ParseMedicalCategory(\"Infectious\") = %v, want %s", err, want)
	}
	if c := catalog.MedicalCategory("x"); c.Code() != "" || c.Name() != "" || c.NameEN() != "" {
		t.Errorf("MedicalCategory(\"x\") has names or a code")
	}
}
