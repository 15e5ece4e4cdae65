package calendar

import (
	"strings"
	"testing"
	"time"

	"wasteledger/manifest"
)

func day(s string) time.Time {
	t, err := manifest.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWorking(t *testing.T) {
	c := Default()
	tests := []struct {
		date string
		want bool
	}{
		{"2026-09-30", true},  // Wednesday before 国庆
		{"2026-10-01", false}, // 国庆
		{"2026-10-07", false},
		{"2026-10-08", true},
		{"2026-10-10", true}, // Saturday worked (调休)
		{"2026-10-11", false},
		{"2026-09-20", true},  // Sunday worked
		{"2026-09-25", false}, // 中秋, a Friday
		{"2025-10-08", false}, // 2025: 国庆 and 中秋 merged, 8 days
		{"2025-10-11", true},
		{"2025-01-26", true},
		{"2027-10-01", true}, // not listed: a Friday counts as working
	}
	for _, tt := range tests {
		if got := c.Working(day(tt.date)); got != tt.want {
			t.Errorf("Working(%s) = %v, want %v", tt.date, got, tt.want)
		}
	}
}

func TestDeadlineAcrossNationalDay(t *testing.T) {
	c := Default()
	// Delivered Wednesday 30 September 2026 at 16:00: the 5 working days are
	// 8, 9, 10 (Saturday worked), 12 and 13 October.
	delivered := time.Date(2026, 9, 30, 16, 0, 0, 0, manifest.China)
	got := c.Deadline(delivered, 5)
	want := time.Date(2026, 10, 14, 0, 0, 0, 0, manifest.China)
	if !got.Equal(want) {
		t.Errorf("Deadline(%s, 5) = %s, want %s", delivered, got, want)
	}
	// Weekends only, the deadline would have fallen on 7 October.
	var none *Calendar
	if got := none.Deadline(delivered, 5); !got.Equal(time.Date(2026, 10, 8, 0, 0, 0, 0, manifest.China)) {
		t.Errorf("weekends-only Deadline = %s, want 2026-10-08 00:00", got)
	}
	if got := c.Between(delivered, time.Date(2026, 10, 13, 9, 0, 0, 0, manifest.China)); got != 5 {
		t.Errorf("Between(30 Sep, 13 Oct) = %d, want 5", got)
	}
}

func TestTimeZone(t *testing.T) {
	// 2026-09-30 23:30 in Beijing is 15:30 UTC: the day is the 30th, not the 1st.
	utc := time.Date(2026, 9, 30, 15, 30, 0, 0, time.UTC)
	if got := Default().AddWorkingDays(utc, 1); got.Format("2006-01-02") != "2026-10-08" {
		t.Errorf("AddWorkingDays(%s, 1) = %s, want 2026-10-08", utc, got)
	}
}

func TestParseOverrides(t *testing.T) {
	op, err := Parse(strings.NewReader("# operator\n2027-10-01,holiday,国庆节\n2027-10-09,workday,调休\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := Default().With(op)
	if c.Working(day("2027-10-01")) || !c.Working(day("2027-10-09")) || !c.Covers(2027) || !c.Covers(2026) {
		t.Errorf("operator days not applied")
	}
	for _, bad := range []string{"2026-13-01,holiday", "2026-10-01,vacation", "2026-10-01"} {
		if _, err := Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("Parse(%q) = nil error, want one", bad)
		}
	}
}
