package catalog_test

import (
	"errors"
	"testing"

	"wasteledger/manifest/catalog"
)

func TestMethods(t *testing.T) {
	tests := []struct {
		code      string
		class     catalog.Class
		indicator catalog.Indicator
		name      string
	}{
		{"R1", catalog.Utilisation, catalog.Recovery, "作为燃料（直接燃烧除外）或以其他方式产生能量"},
		{"R2", catalog.Utilisation, catalog.Recovery, "溶剂回收/再生（如蒸馏、萃取等）"},
		{"R3", catalog.Utilisation, catalog.Recovery, "再循环/再利用不是用作溶剂的有机物"},
		{"R4", catalog.Utilisation, catalog.Recovery, "再循环/再利用金属和金属化合物"},
		{"R5", catalog.Utilisation, catalog.Recovery, "再循环/再利用其他无机物"},
		{"R6", catalog.Utilisation, catalog.Recovery, "再生酸或碱"},
		{"R7", catalog.Utilisation, catalog.Recovery, "回收污染减除剂的组分"},
		{"R8", catalog.Utilisation, catalog.Recovery, "回收催化剂组分"},
		{"R9", catalog.Utilisation, catalog.Recovery, "废油再提炼或其他废油的再利用"},
		{"R15", catalog.Utilisation, catalog.Recovery, "其他"},
		{"D1", catalog.Disposal, catalog.Landfill, "填埋"},
		{"D9", catalog.Disposal, catalog.Treatment, "物理化学处理（如蒸发、干燥、中和、沉淀等），不包括填埋或焚烧前的预处理"},
		{"D10", catalog.Disposal, catalog.Incineration, "焚烧"},
		{"D16", catalog.Disposal, catalog.Treatment, "其他"},
		{"C1", catalog.CoProcessing, catalog.CementKiln, "水泥窑协同处置"},
		{"C2", catalog.Utilisation, catalog.Recovery, "生产建筑材料"},
		{"C3", catalog.Utilisation, catalog.Recovery, "清洗（包装容器）"},
		{"Y10", catalog.MedicalTreatment, catalog.Incineration, "医疗废物焚烧"},
		{"Y11", catalog.MedicalTreatment, catalog.Treatment, "医疗废物高温蒸汽处理"},
		{"Y12", catalog.MedicalTreatment, catalog.Treatment, "医疗废物化学消毒处理"},
		{"Y13", catalog.MedicalTreatment, catalog.Treatment, "医疗废物微波消毒处理"},
		{"Y16", catalog.MedicalTreatment, catalog.Treatment, "医疗废物其他处置方式"},
	}
	ms := catalog.Methods()
	if len(ms) != len(tests) {
		t.Fatalf("len(Methods()) = %d, want %d", len(ms), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if ms[i].Code != tt.code {
				t.Errorf("Methods()[%d].Code = %q, want %q", i, ms[i].Code, tt.code)
			}
			m, ok := catalog.LookupMethod(tt.code)
			if !ok || m.Class != tt.class || m.Indicator != tt.indicator || m.Name != tt.name || m.NameEN == "" {
				t.Errorf("LookupMethod(%q) = %+v, %v, want class %s, indicator %s, name %s", tt.code, m, ok, tt.class, tt.indicator, tt.name)
			}
			if err := catalog.ValidMethod(tt.code); err != nil {
				t.Errorf("ValidMethod(%q) = %v, want nil", tt.code, err)
			}
		})
	}
}

func TestValidMethodRefuses(t *testing.T) {
	tests := []struct {
		code string
		kind catalog.Kind
		msg  string
	}{
		{"", catalog.Malformed, `method "": must not be empty`},
		{"R10", catalog.Unknown, `method "R10": not a utilisation/disposal method code; known codes: R1, R2, R3, R4, R5, R6, R7, R8, R9, R15, D1, D9, D10, D16, C1, C2, C3, Y10, Y11, Y12, Y13, Y16`},
		{"r1", catalog.Unknown, ""},
		{"G21", catalog.Unknown, ""},
	}
	for _, tt := range tests {
		err := catalog.ValidMethod(tt.code)
		if !errors.Is(err, &catalog.Error{Kind: tt.kind}) || tt.msg != "" && err.Error() != tt.msg {
			t.Errorf("ValidMethod(%q) = %v, want %s %s", tt.code, err, tt.kind, tt.msg)
		}
		if _, ok := catalog.LookupMethod(tt.code); ok {
			t.Errorf("LookupMethod(%q) ok = true, want false", tt.code)
		}
	}
}

func TestMethodAllowed(t *testing.T) {
	tests := []struct {
		code, method string
		kind         catalog.Kind // "" = allowed
		msg          string
	}{
		{"841-001-01", "Y10", "", ""},
		{"841-002-01", "Y11", "", ""},
		{"841-003-01", "Y16", "", ""},
		{"841-001-01", "D10", "", ""},
		{"841-005-01", "R15", "", ""},
		{"900-214-08", "R9", "", ""},
		{"772-002-18", "C1", "", ""},
		{"772-002-18", "D1", "", ""},
		{"900-052-31", "R4", "", ""},
		{catalog.EVBattery, "R4", "", ""},
		{"900-214-08", "Y10", catalog.NotAllowed, `method "Y10": Y10 (医疗废物焚烧) is for medical waste (HW01) only; 900-214-08 is industrial`},
		{"772-002-18", "Y13", catalog.NotAllowed, `method "Y13": Y13 (医疗废物微波消毒处理) is for medical waste (HW01) only; 772-002-18 is fly_ash`},
		{catalog.EVBattery, "Y11", catalog.NotAllowed, `method "Y11": Y11 (医疗废物高温蒸汽处理) is for medical waste (HW01) only; EV-BATTERY is battery`},
		{"900-041-49", "Y10", catalog.NotAllowed, ""}, // infectious packaging is HW49, not medical waste
		{"999-999-99", "R1", catalog.Unknown, `waste code "999-999-99": HW99 is not a category of the 2021 national list (国家危险废物名录)`},
		{"900-214-08", "", catalog.Malformed, `method "": must not be empty`},
		{"900-214-08", "X1", catalog.Unknown, ""},
	}
	for _, tt := range tests {
		t.Run(tt.code+"/"+tt.method, func(t *testing.T) {
			err := catalog.MethodAllowed(tt.code, tt.method)
			if tt.kind == "" {
				if err != nil {
					t.Errorf("MethodAllowed(%q, %q) = %v, want nil", tt.code, tt.method, err)
				}
				return
			}
			if !errors.Is(err, &catalog.Error{Kind: tt.kind}) || tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("MethodAllowed(%q, %q) = %v, want %s %s", tt.code, tt.method, err, tt.kind, tt.msg)
			}
		})
	}
}
