package catalog_test

import (
	"errors"
	"testing"

	"wasteledger/manifest/catalog"
)

func TestRegionTable(t *testing.T) {
	counts := map[catalog.Level]int{}
	guangdongCities := 0
	for _, r := range catalog.Regions() {
		counts[r.Level]++
		if r.Level == catalog.CityLevel && r.Code[:2] == "44" {
			guangdongCities++
		}
		if r.Name == "" || r.NameEN == "" {
			t.Errorf("region %s = %+v, want both names", r.Code, r)
		}
	}
	if counts[catalog.ProvinceLevel] != 34 {
		t.Errorf("provinces = %d, want 34", counts[catalog.ProvinceLevel])
	}
	if guangdongCities != 21 {
		t.Errorf("Guangdong cities = %d, want 21", guangdongCities)
	}
	if counts[catalog.CityLevel] != 21 {
		t.Errorf("cities = %d, want 21 (Guangdong only)", counts[catalog.CityLevel])
	}
}

func TestLookupRegion(t *testing.T) {
	tests := []struct {
		code           string
		ok             bool
		name, nameEN   string
		level          catalog.Level
		province, city string
	}{
		{"440000", true, "广东省", "Guangdong", catalog.ProvinceLevel, "440000", ""},
		{"110000", true, "北京市", "Beijing", catalog.ProvinceLevel, "110000", ""},
		{"820000", true, "澳门特别行政区", "Macao", catalog.ProvinceLevel, "820000", ""},
		{"440100", true, "广州市", "Guangzhou", catalog.CityLevel, "440000", "440100"},
		{"441900", true, "东莞市", "Dongguan", catalog.CityLevel, "440000", "441900"},
		{"442000", true, "中山市", "Zhongshan", catalog.CityLevel, "440000", "442000"},
		{"445300", true, "云浮市", "Yunfu", catalog.CityLevel, "440000", "445300"},
		{"440106", true, "天河区", "Tianhe", catalog.DistrictLevel, "440000", "440100"},
		{"440118", true, "增城区", "Zengcheng", catalog.DistrictLevel, "440000", "440100"},
		{"440306", true, "宝安区", "Bao'an", catalog.DistrictLevel, "440000", "440300"},
		{"440199", true, "广州市", "Guangzhou", catalog.DistrictLevel, "440000", "440100"}, // unlisted, named by its city
		{"441202", true, "肇庆市", "Zhaoqing", catalog.DistrictLevel, "440000", "441200"},
		{"441901", false, "", "", "", "", ""},
		{"110101", true, "北京市", "Beijing", catalog.DistrictLevel, "110000", "110100"}, // other provinces: named by the province
		{"430100", true, "湖南省", "Hunan", catalog.CityLevel, "430000", "430100"},
		{"449900", false, "", "", "", "", ""},
		{"", false, "", "", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			r, ok := catalog.LookupRegion(tt.code)
			want := catalog.Region{}
			if tt.ok {
				want = catalog.Region{Code: tt.code, Name: tt.name, NameEN: tt.nameEN, Level: tt.level}
			}
			if ok != tt.ok || r != want {
				t.Errorf("LookupRegion(%q) = %+v, %v, want %+v, %v", tt.code, r, ok, want, tt.ok)
			}
			if got := catalog.Province(tt.code); got != tt.province {
				t.Errorf("Province(%q) = %q, want %q", tt.code, got, tt.province)
			}
			if got := catalog.City(tt.code); got != tt.city {
				t.Errorf("City(%q) = %q, want %q", tt.code, got, tt.city)
			}
		})
	}
}

func TestValidRegion(t *testing.T) {
	const shape = "must be a 6-digit GB/T 2260 code: NN0000 (province), NNNN00 (city) or NNNNNN (district)"
	tests := []struct {
		code string
		kind catalog.Kind // "" = valid
		msg  string
	}{
		{"440000", "", ""},
		{"440300", "", ""},
		{"440117", "", ""},
		{"440399", "", ""},
		{"", catalog.Malformed, `region "": ` + shape},
		{"4401", catalog.Malformed, `region "4401": ` + shape},
		{"4401000", catalog.Malformed, `region "4401000": ` + shape},
		{"44010a", catalog.Malformed, `region "44010a": ` + shape},
		{"000000", catalog.Malformed, `region "000000": ` + shape},
		{"440012", catalog.Malformed, `region "440012": ` + shape},
		{"990000", catalog.Unknown, `region "990000": unknown province 99`},
		{"449900", catalog.Unknown, `region "449900": unknown city 4499 of 广东省`},
		{"441000", catalog.Unknown, `region "441000": unknown city 4410 of 广东省`},
		{"110101", "", ""},
		{"430100", "", ""},
		{"441901", catalog.Unknown, `region "441901": 东莞市 has no county-level divisions; use 441900`},
		{"442001", catalog.Unknown, `region "442001": 中山市 has no county-level divisions; use 442000`},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			err := catalog.ValidRegion(tt.code)
			if tt.kind == "" {
				if err != nil {
					t.Errorf("ValidRegion(%q) = %v, want nil", tt.code, err)
				}
				return
			}
			if err == nil || err.Error() != tt.msg || !errors.Is(err, &catalog.Error{Kind: tt.kind}) {
				t.Errorf("ValidRegion(%q) = %v, want %s: %s", tt.code, err, tt.kind, tt.msg)
			}
		})
	}
}

func TestContains(t *testing.T) {
	tests := []struct {
		parent, child string
		want          bool
	}{
		{"440000", "440000", true},
		{"440000", "440100", true},
		{"440000", "440106", true},
		{"440000", "441900", true}, // Dongguan, no county level
		{"441900", "441900", true},
		{"440000", "442000", true}, // Zhongshan
		{"440100", "440106", true},
		{"440100", "440199", true}, // unlisted district of Guangzhou
		{"440300", "440306", true},
		{"440106", "440106", true},
		{"440100", "440306", false}, // Bao'an is in Shenzhen
		{"440100", "441900", false},
		{"441900", "440100", false},
		{"440106", "440100", false}, // a district does not contain its city
		{"440100", "440000", false},
		{"440000", "430000", false}, // Guangdong and Hunan
		{"430000", "440100", false},
		{"450000", "440106", false}, // Guangxi does not contain Tianhe
		{"440000", "441901", false}, // invalid child
		{"440000", "", false},
		{"", "440100", false},
		{"440000", "440012", false},
	}
	for _, tt := range tests {
		if got := catalog.Contains(tt.parent, tt.child); got != tt.want {
			t.Errorf("Contains(%q, %q) = %v, want %v", tt.parent, tt.child, got, tt.want)
		}
	}
}
