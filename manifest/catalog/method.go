package catalog

import (
	"fmt"
	"slices"
	"strings"
)

// Class groups method codes by what they do to the waste.
type Class string

const (
	Utilisation      Class = "utilisation"       // R*, C2 building materials, C3 container cleaning
	Disposal         Class = "disposal"          // D*
	CoProcessing     Class = "co_processing"     // C1 cement-kiln co-processing
	MedicalTreatment Class = "medical_treatment" // Y*: medical waste only
)

var classes = []Class{Utilisation, Disposal, CoProcessing, MedicalTreatment}

// Indicator is the bucket a method falls into in the regulator's figures
// (e.g. the landfill-reduction and utilisation-rate indicators, DOMAIN.md
// §4.2).
type Indicator string

const (
	Landfill     Indicator = "landfill"     // D1
	Incineration Indicator = "incineration" // D10, Y10
	CementKiln   Indicator = "cement_kiln"  // C1
	Recovery     Indicator = "recovery"     // R*, C2, C3
	Treatment    Indicator = "treatment"    // D9, D16, Y11–Y13, Y16
)

var indicators = []Indicator{Landfill, Incineration, CementKiln, Recovery, Treatment}

// Method is a utilisation/disposal method code (利用/处置方式代码) as the
// receiver records it on a manifest. The list is secondary (data/methods.csv).
type Method struct {
	Code      string // "R9", "D10", "C1", "Y10"
	Name      string // Chinese name
	NameEN    string
	Class     Class
	Indicator Indicator
}

// LookupMethod returns a method by its code.
func LookupMethod(code string) (Method, bool) {
	i, ok := cat.methodIdx[code]
	if !ok {
		return Method{}, false
	}
	return cat.methods[i], true
}

// Methods returns every method code: R, D, C, then Y, in numeric order.
func Methods() []Method {
	return slices.Clone(cat.methods)
}

// ValidMethod checks that code is a known method code. The error is an
// *Error of kind Malformed (empty) or Unknown.
func ValidMethod(code string) error {
	if _, ok := cat.methodIdx[code]; ok {
		return nil
	}
	if code == "" {
		return &Error{Kind: Malformed, What: "method", Value: code, Msg: "must not be empty"}
	}
	codes := make([]string, len(cat.methods))
	for i, m := range cat.methods {
		codes[i] = m.Code
	}
	return &Error{Kind: Unknown, What: "method", Value: code,
		Msg: "not a utilisation/disposal method code; known codes: " + strings.Join(codes, ", ")}
}

// MethodAllowed checks that method m may be recorded for waste code. Both must
// be known, and medical-treatment methods (Y*) are allowed for Medical-stream
// wastes only. A refusal of a known pair is an *Error of kind NotAllowed.
func MethodAllowed(code string, m string) error {
	if err := ValidCode(code); err != nil {
		return err
	}
	if err := ValidMethod(m); err != nil {
		return err
	}
	w := cat.wastes[cat.wasteIdx[code]]
	method := cat.methods[cat.methodIdx[m]]
	if method.Class == MedicalTreatment && w.Stream != Medical {
		return &Error{Kind: NotAllowed, What: "method", Value: m,
			Msg: fmt.Sprintf("%s (%s) is for medical waste (HW01) only; %s is %s", m, method.Name, code, w.Stream)}
	}
	return nil
}
