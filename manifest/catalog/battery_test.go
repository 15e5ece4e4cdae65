package catalog_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"wasteledger/manifest/catalog"
)

// batteryPattern is the GB/T 34014-2017 regex of DOMAIN.md §5.2, kept here as
// an independent oracle for ValidBatteryCode.
var batteryPattern = regexp.MustCompile(`^[A-Z0-9]{3}[PMC][A-GZ][A-Z0-9]{2}[A-Z0-9]{7}[1-9A-GH-NPR-Y][1-9A-C][0-9A-GH-NPR-Y][0-9]{7}$`)

const validBattery = "03HPBA12345678NC10000001"

// at returns validBattery with the character at 1-based position pos replaced.
func at(pos int, s string) string {
	return validBattery[:pos-1] + s + validBattery[pos:]
}

func TestValidBatteryCode(t *testing.T) {
	tests := []struct {
		s   string
		pos int
		msg string // "" = valid; else the message after `battery code "…": `
	}{
		{validBattery, 0, ""},
		{"001ME0A0000000F9C0000000", 0, ""},
		{"ZZZCZ99ZZZZZZZ99A9999999", 0, ""},
		{"1A2MG3B4C5D6E7YA09876543", 0, ""},
		{"", 0, "must be 24 characters, got 0"},
		{validBattery[:23], 0, "must be 24 characters, got 23"},
		{validBattery + "1", 0, "must be 24 characters, got 25"},
		{at(1, "a"), 1, "position 1 (manufacturer code) must be A–Z or 0–9, got 'a' (letters must be upper case)"},
		{at(4, "X"), 4, "position 4 (product type) must be P, M or C, got 'X'"},
		{at(4, "p"), 4, "position 4 (product type) must be P, M or C, got 'p' (letters must be upper case)"},
		{at(5, "H"), 5, "position 5 (battery type) must be A–G or Z, got 'H'"},
		{at(7, "#"), 7, "position 7 (specification code) must be A–Z or 0–9, got '#'"},
		{at(10, "-"), 10, "position 10 (traceability code) must be A–Z or 0–9, got '-'"},
		{at(8, "电"), 8, "position 8 (traceability code) must be A–Z or 0–9, got '电'"},
		{at(15, "O"), 15, "position 15 (production year) must be 1–9 or A–Y except O and Q, got 'O'"},
		{at(15, "Z"), 15, "position 15 (production year) must be 1–9 or A–Y except O and Q, got 'Z'"},
		{at(15, "0"), 15, "position 15 (production year) must be 1–9 or A–Y except O and Q, got '0'"},
		{at(16, "D"), 16, "position 16 (production month) must be 1–9 or A–C, got 'D'"},
		{at(16, "0"), 16, "position 16 (production month) must be 1–9 or A–C, got '0'"},
		{at(17, "Q"), 17, "position 17 (production day) must be 0–9 or A–Y except O and Q, got 'Q'"},
		{at(24, "A"), 24, "position 24 (serial number) must be 0–9, got 'A'"},
		{"03HPBA12345678NC100000RP", 23, "position 23 (serial number) must be 0–9, got 'R'"}, // cascade-use variant, not supported
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			err := catalog.ValidBatteryCode(tt.s)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("ValidBatteryCode(%q) = %v, want nil", tt.s, err)
				}
			} else {
				want := `battery code "` + tt.s + `": ` + tt.msg
				var e *catalog.Error
				if !errors.As(err, &e) || err.Error() != want || e.Pos != tt.pos || e.Kind != catalog.Malformed {
					t.Fatalf("ValidBatteryCode(%q) = %v, want %s (position %d)", tt.s, err, want, tt.pos)
				}
			}
			if got, want := err == nil, batteryPattern.MatchString(tt.s); got != want {
				t.Errorf("ValidBatteryCode(%q) valid = %v, but the DOMAIN.md regex says %v", tt.s, got, want)
			}
		})
	}
}

func TestParseBatteryCode(t *testing.T) {
	u, err := catalog.ParseBatteryCode("1A2MG3B4C5D6E7YA09876543")
	if err != nil {
		t.Fatal(err)
	}
	want := catalog.BatteryUnit{
		Manufacturer: "1A2", ProductType: catalog.Module, Chemistry: "G", Spec: "3B",
		Trace: "4C5D6E7", Year: "Y", Month: "A", Day: "0", Serial: "9876543",
	}
	if u != want {
		t.Errorf("ParseBatteryCode = %+v, want %+v", u, want)
	}
	if u.String() != "1A2MG3B4C5D6E7YA09876543" {
		t.Errorf("BatteryUnit.String() = %q, want the input", u.String())
	}
	if u.ProductType.Name() != "电池模块" || u.ProductType.NameEN() != "Module" {
		t.Errorf("ProductType %q names = %q, %q", u.ProductType, u.ProductType.Name(), u.ProductType.NameEN())
	}
	if _, err := catalog.ParseBatteryCode(at(4, "X")); err == nil {
		t.Error("ParseBatteryCode accepted product type X")
	}
}

func TestChemistries(t *testing.T) {
	want := map[catalog.Chemistry]string{ // letter → English name (UNCONFIRMED table)
		"A": "Nickel-metal hydride (NiMH)", "B": "Lithium iron phosphate (LFP)",
		"C": "Lithium manganese oxide (LMO)", "D": "Lithium cobalt oxide (LCO)",
		"E": "Ternary lithium (NCM/NCA)", "F": "Supercapacitor",
		"G": "Lithium titanate (LTO)", "Z": "Other",
	}
	cs := catalog.Chemistries()
	if len(cs) != len(want) {
		t.Fatalf("Chemistries() = %v, want the 8 letters A–G, Z", cs)
	}
	for _, c := range cs {
		if c.NameEN() != want[c] || c.Name() == "" {
			t.Errorf("Chemistry %q names = %q, %q, want English %q", c, c.Name(), c.NameEN(), want[c])
		}
		// Every letter of the table is accepted at position 5, and only those.
		if err := catalog.ValidBatteryCode(at(5, string(c))); err != nil {
			t.Errorf("ValidBatteryCode with battery type %q = %v", c, err)
		}
	}
	for r := 'A'; r <= 'Z'; r++ {
		_, inTable := want[catalog.Chemistry(string(r))]
		if ok := catalog.ValidBatteryCode(at(5, string(r))) == nil; ok != inTable {
			t.Errorf("battery type %c accepted = %v, in table = %v", r, ok, inTable)
		}
	}
}

func FuzzValidBatteryCode(f *testing.F) {
	for _, s := range []string{validBattery, "", at(4, "X"), at(8, "电"), "03HPBA12345678NC100000RP", strings.Repeat("Z", 24), "\xff" + validBattery[1:]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := catalog.ValidBatteryCode(s)
		if got, want := err == nil, batteryPattern.MatchString(s); got != want {
			t.Fatalf("ValidBatteryCode(%q) = %v, but the DOMAIN.md regex match = %v", s, err, want)
		}
		if err != nil {
			var e *catalog.Error
			if !errors.As(err, &e) || e.Kind != catalog.Malformed || e.Pos < 0 || e.Pos > catalog.BatteryCodeLen {
				t.Fatalf("ValidBatteryCode(%q) = %#v, want a Malformed *Error with a position in 0..24", s, err)
			}
			if e.Pos == 0 && utf8.RuneCountInString(s) == catalog.BatteryCodeLen {
				t.Fatalf("ValidBatteryCode(%q) = %v names no position for a 24-character code", s, err)
			}
			return
		}
		u, err := catalog.ParseBatteryCode(s)
		if err != nil || u.String() != s {
			t.Fatalf("ParseBatteryCode(%q) = %+v, %v, want it to round-trip", s, u, err)
		}
	})
}
