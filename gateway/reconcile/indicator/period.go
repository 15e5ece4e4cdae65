// Package indicator computes the "waste-free city" (无废城市) figures that
// manifests alone support (DOMAIN.md §4.3) for a region and a period: each
// with its formula, numerator, denominator, unit and the manifests that
// contribute. Everything is integer arithmetic over grams and counts;
// values are decimal strings, never floats.
package indicator

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"wasteledger/manifest"
)

// Period is a calendar month, quarter or year in China time.
type Period struct {
	Code     string    // "2026", "2026-Q3", "2026-11"
	From, To time.Time // [From, To)
}

var periodPattern = regexp.MustCompile(`^(\d{4})(?:-Q([1-4])|-(0[1-9]|1[0-2]))?$`)

// ParsePeriod parses YYYY, YYYY-Qn or YYYY-MM.
func ParsePeriod(s string) (Period, error) {
	m := periodPattern.FindStringSubmatch(s)
	if m == nil {
		return Period{}, manifest.FieldError(manifest.Invalid, "period", "period must be YYYY, YYYY-Qn or YYYY-MM, got %q", s)
	}
	y, _ := strconv.Atoi(m[1])
	if y < 2000 || y > 2999 {
		return Period{}, manifest.FieldError(manifest.Invalid, "period", "year %d out of range", y)
	}
	from := time.Date(y, 1, 1, 0, 0, 0, 0, manifest.China)
	to := from.AddDate(1, 0, 0)
	switch {
	case m[2] != "":
		q, _ := strconv.Atoi(m[2])
		from = from.AddDate(0, 3*(q-1), 0)
		to = from.AddDate(0, 3, 0)
	case m[3] != "":
		mo, _ := strconv.Atoi(m[3])
		from = from.AddDate(0, mo-1, 0)
		to = from.AddDate(0, 1, 0)
	}
	return Period{Code: s, From: from, To: to}, nil
}

// Contains reports whether t falls in the period.
func (p Period) Contains(t time.Time) bool { return !t.Before(p.From) && t.Before(p.To) }

func (p Period) String() string {
	return fmt.Sprintf("%s [%s, %s)", p.Code, p.From.Format(time.RFC3339), p.To.Format(time.RFC3339))
}
