package catalog

import "slices"

// Level is the level of an administrative division.
type Level string

const (
	ProvinceLevel Level = "province" // 省级: NN0000
	CityLevel     Level = "city"     // 地级: NNNN00
	DistrictLevel Level = "district" // 县级: NNNNNN
)

// Region is a GB/T 2260 administrative division.
type Region struct {
	Code   string // "440106"
	Name   string // 天河区
	NameEN string // Tianhe
	Level  Level
}

// noCounty lists the prefecture-level cities without county-level divisions
// (DOMAIN.md §1.4): their city code is the finest GB/T 2260 code.
var noCounty = [...]string{"441900", "442000"} // 东莞市, 中山市

// Regions returns the catalogued divisions — all provinces, the Guangdong
// cities and some Guangzhou, Shenzhen and Foshan districts — sorted by code.
func Regions() []Region {
	return slices.Clone(cat.regions)
}

// LookupRegion returns the division with the given code. A valid district
// code missing from the table is found too, named by its city.
func LookupRegion(code string) (Region, bool) {
	r, err := region(code)
	return r, err == nil
}

// ValidRegion checks that code is a 6-digit GB/T 2260 code whose province
// and (below province level) city are catalogued. Only Guangdong's cities are
// catalogued, so other provinces validate at province level only. Districts
// of a catalogued city are accepted even when the table lacks them, except
// under Dongguan and Zhongshan, which have no county level. The error is an
// *Error of kind Malformed or Unknown.
func ValidRegion(code string) error {
	_, err := region(code)
	return err
}

// Province returns the province-level code of a valid region ("440106" →
// "440000"), or "" for an invalid one.
func Province(code string) string {
	if ValidRegion(code) != nil {
		return ""
	}
	return code[:2] + "0000"
}

// City returns the prefecture-level code of a valid city or district
// ("440106" → "440100"; Dongguan "441900" → "441900"), or "" for a province
// or an invalid code.
func City(code string) string {
	r, err := region(code)
	if err != nil || r.Level == ProvinceLevel {
		return ""
	}
	return code[:4] + "00"
}

// Contains reports whether division parent contains division child, for
// drill-down: a province contains its cities and districts, a city its
// districts, and every division itself. Invalid codes contain nothing.
func Contains(parent, child string) bool {
	p, err := region(parent)
	if err != nil || ValidRegion(child) != nil {
		return false
	}
	switch p.Level {
	case ProvinceLevel:
		return Province(child) == parent
	case CityLevel:
		return City(child) == parent
	}
	return child == parent
}

// regionLevel checks the syntax of a GB/T 2260 code and returns its level.
func regionLevel(code string) (Level, bool) {
	if len(code) != 6 {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if !isDigit(code[i]) {
			return "", false
		}
	}
	switch {
	case code[:2] == "00":
		return "", false
	case code[2:] == "0000":
		return ProvinceLevel, true
	case code[2:4] == "00":
		return "", false // district digits without a city
	case code[4:] == "00":
		return CityLevel, true
	}
	return DistrictLevel, true
}

func region(code string) (Region, error) {
	bad := func(k Kind, msg string) (Region, error) {
		return Region{}, &Error{Kind: k, What: "region", Value: code, Msg: msg}
	}
	level, ok := regionLevel(code)
	if !ok {
		return bad(Malformed, "must be a 6-digit GB/T 2260 code: NN0000 (province), NNNN00 (city) or NNNNNN (district)")
	}
	if i, ok := cat.regionIdx[code]; ok {
		return cat.regions[i], nil
	}
	pi, ok := cat.regionIdx[code[:2]+"0000"]
	if !ok {
		return bad(Unknown, "unknown province "+code[:2])
	}
	province := cat.regions[pi]
	ci, ok := cat.regionIdx[code[:4]+"00"]
	if !ok {
		if !hasCities(code[:2]) {
			// Only Guangdong's divisions are catalogued; a well-formed code
			// of another province (a cross-province receiver) is accepted
			// and named by its province.
			return Region{Code: code, Name: province.Name, NameEN: province.NameEN, Level: level}, nil
		}
		return bad(Unknown, "unknown city "+code[:4]+" of "+province.Name)
	}
	city := cat.regions[ci]
	if level == DistrictLevel && slices.Contains(noCounty[:], city.Code) {
		return bad(Unknown, city.Name+" has no county-level divisions; use "+city.Code)
	}
	// An unlisted district of a catalogued city, named by its city.
	return Region{Code: code, Name: city.Name, NameEN: city.NameEN, Level: DistrictLevel}, nil
}

func hasCities(province string) bool {
	for _, r := range cat.regions {
		if r.Level == CityLevel && r.Code[:2] == province {
			return true
		}
	}
	return false
}
