package manifest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"wasteledger/manifest/catalog"
)

// China is China Standard Time. Permit dates, manifest years and calendar
// days are reckoned in it. A fixed zone: no time-zone database is read.
var China = time.FixedZone("CST", 8*60*60)

// PermitKind is the kind of a permit.
type PermitKind string

const (
	// HWLicence is a receiver's 危险废物经营许可证 (DOMAIN.md §6.4).
	HWLicence PermitKind = "hw_licence"
	// Transport is a carrier's 道路危险货物运输许可 with its registered
	// vehicles (DOMAIN.md §1.8).
	Transport PermitKind = "transport"
	// BatteryRecycling is a recycler's listing for end-of-life traction
	// batteries, which are not hazardous waste and need no HW licence
	// (DOMAIN.md §5).
	BatteryRecycling PermitKind = "battery_recycling"
)

// Permit is a licence issued to an organisation. Dates are calendar days in
// China time, both ends included.
type Permit struct {
	ID        string     `json:"id"` // the certificate number
	Kind      PermitKind `json:"kind"`
	Org       string     `json:"org"`
	ValidFrom string     `json:"valid_from"`           // YYYY-MM-DD
	ValidTo   string     `json:"valid_to"`             // YYYY-MM-DD
	Codes     []string   `json:"codes,omitempty"`      // authorised waste codes ("900-214-08") or categories ("HW08"); licences only
	CapacityT int64      `json:"capacity_t,omitempty"` // annual licensed capacity, tonnes per year; licences only
	Methods   []string   `json:"methods,omitempty"`    // authorised method codes; licences only
	Plates    []string   `json:"plates,omitempty"`     // registered vehicle plates; transport only
	Issued    time.Time  `json:"issued"`
	Revoked   *time.Time `json:"revoked,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

var (
	datePattern  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	platePattern = regexp.MustCompile(`^\p{Han}[A-Z][A-Z0-9]{5,6}$`) // 粤A12345, 粤AD12345 (new-energy)
	permitIDPat  = regexp.MustCompile(`^[\p{Han}A-Za-z0-9()（）〔〕\-_/]{4,64}$`)
)

// ParseDate parses a calendar date in China time.
func ParseDate(s string) (time.Time, error) {
	if !datePattern.MatchString(s) {
		return time.Time{}, fmt.Errorf("date %q must be YYYY-MM-DD", s)
	}
	return time.ParseInLocation("2006-01-02", s, China)
}

// ValidOn reports whether the permit is in force at t: within its dates and
// not revoked before t.
func (p Permit) ValidOn(t time.Time) bool {
	from, err1 := ParseDate(p.ValidFrom)
	to, err2 := ParseDate(p.ValidTo)
	if err1 != nil || err2 != nil {
		return false
	}
	if t.Before(from) || !t.Before(to.AddDate(0, 0, 1)) {
		return false
	}
	return p.Revoked == nil || t.Before(*p.Revoked)
}

// Covers reports whether the licence authorises the waste code, by code or
// by its HW category.
func (p Permit) Covers(code string) bool {
	if slices.Contains(p.Codes, code) {
		return true
	}
	w, ok := catalog.Lookup(code)
	return ok && w.Category != "" && slices.Contains(p.Codes, w.Category)
}

// Allows reports whether the licence authorises the method code.
func (p Permit) Allows(method string) bool { return slices.Contains(p.Methods, method) }

// HasPlate reports whether the vehicle is registered on the transport permit.
func (p Permit) HasPlate(plate string) bool { return slices.Contains(p.Plates, NormalizePlate(plate)) }

// NormalizePlate upper-cases a plate and removes spaces, dots and dashes.
func NormalizePlate(s string) string {
	s = strings.ToUpper(s)
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '·', '.', '-', '\u00a0':
			return -1
		}
		return r
	}, s)
}

// Validate checks a permit before it is issued.
func (p Permit) Validate() error {
	if !permitIDPat.MatchString(p.ID) {
		return FieldError(Invalid, "id", "permit number must be 4–64 characters of Chinese, letters, digits and ()-_/")
	}
	if err := ValidUSCC(p.Org); err != nil {
		return FieldError(Invalid, "org", "%v", err)
	}
	from, err := ParseDate(p.ValidFrom)
	if err != nil {
		return FieldError(Invalid, "valid_from", "%v", err)
	}
	to, err := ParseDate(p.ValidTo)
	if err != nil {
		return FieldError(Invalid, "valid_to", "%v", err)
	}
	if to.Before(from) {
		return FieldError(Invalid, "valid_to", "valid_to %s is before valid_from %s", p.ValidTo, p.ValidFrom)
	}
	if to.Sub(from) > 11*366*24*time.Hour {
		return FieldError(Invalid, "valid_to", "a permit runs at most ten years")
	}
	switch p.Kind {
	case HWLicence, BatteryRecycling:
		if len(p.Codes) == 0 {
			return FieldError(Invalid, "codes", "a licence must name the waste codes or HW categories it authorises")
		}
		for i, c := range p.Codes {
			if isCategory(c) {
				continue
			}
			if err := catalog.ValidCode(c); err != nil {
				return FieldError(Invalid, fmt.Sprintf("codes[%d]", i), "%v", err)
			}
			if p.Kind == BatteryRecycling && c != catalog.EVBattery {
				return FieldError(Invalid, fmt.Sprintf("codes[%d]", i), "a battery recycling listing covers %s only; lead-acid batteries need an HW licence", catalog.EVBattery)
			}
		}
		if p.CapacityT <= 0 || p.CapacityT > 10_000_000 {
			return FieldError(Invalid, "capacity_t", "annual capacity must be 1–10,000,000 t/yr")
		}
		if len(p.Methods) == 0 {
			return FieldError(Invalid, "methods", "a licence must name its method codes")
		}
		for i, m := range p.Methods {
			if err := catalog.ValidMethod(m); err != nil {
				return FieldError(Invalid, fmt.Sprintf("methods[%d]", i), "%v", err)
			}
		}
		if len(p.Plates) > 0 {
			return FieldError(Invalid, "plates", "plates belong on transport permits")
		}
	case Transport:
		if len(p.Plates) == 0 {
			return FieldError(Invalid, "plates", "a transport permit must list its vehicles")
		}
		for i, pl := range p.Plates {
			if NormalizePlate(pl) != pl || !platePattern.MatchString(pl) {
				return FieldError(Invalid, fmt.Sprintf("plates[%d]", i), "plate %q must look like 粤A12345 (no spaces)", pl)
			}
		}
		if len(p.Codes) > 0 || len(p.Methods) > 0 || p.CapacityT != 0 {
			return FieldError(Invalid, "codes", "codes, methods and capacity belong on licences")
		}
	default:
		return FieldError(Invalid, "kind", "unknown permit kind %q (want hw_licence, transport or battery_recycling)", p.Kind)
	}
	return nil
}

func isCategory(s string) bool {
	if len(s) != 4 || !strings.HasPrefix(s, "HW") {
		return false
	}
	for _, c := range catalog.Categories() {
		if c.Code == s {
			return true
		}
	}
	return false
}
