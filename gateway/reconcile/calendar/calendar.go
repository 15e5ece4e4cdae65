// Package calendar counts working days in China: Monday to Friday, minus
// the public holidays, plus the weekend days worked in their stead (调休),
// as the State Council sets them each year. The deadlines of the transfer
// rules (DOMAIN.md §1.6: confirmation within 5 working days, paper
// back-entry within 10) are counted with it.
package calendar

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"strings"
	"time"

	"wasteledger/manifest"
)

// Kind is what a listed day is.
type Kind string

const (
	Holiday Kind = "holiday" // a day off, whatever the weekday
	Workday Kind = "workday" // a weekend day that is worked
)

// Day is one listed day.
type Day struct {
	Date string // YYYY-MM-DD
	Kind Kind
	Name string
}

// Calendar is a set of listed days. The zero value counts weekends only.
type Calendar struct {
	days  map[string]Day
	kinds map[int]Kind // by yyyymmdd
	years map[int]bool
}

func dayKey(y int, m time.Month, d int) int { return y*10000 + int(m)*100 + d }

//go:embed data/cn.csv
var defaultData []byte

// Default returns the built-in calendar: China's public holidays and
// adjusted working days of the years in data/cn.csv.
func Default() *Calendar {
	c, err := Parse(bytes.NewReader(defaultData))
	if err != nil {
		panic("calendar: built-in data: " + err.Error())
	}
	return c
}

// Parse reads a calendar file: one "date,kind,name" line per day, kind
// holiday or workday; blank lines and lines starting with # are ignored.
func Parse(r io.Reader) (*Calendar, error) {
	c := &Calendar{days: map[string]Day{}, kinds: map[int]Kind{}, years: map[int]bool{}}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, ",", 3)
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: want date,kind,name", n)
		}
		d, err := manifest.ParseDate(strings.TrimSpace(f[0]))
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		k := Kind(strings.TrimSpace(f[1]))
		if k != Holiday && k != Workday {
			return nil, fmt.Errorf("line %d: kind must be holiday or workday, got %q", n, k)
		}
		day := Day{Date: d.Format("2006-01-02"), Kind: k}
		if len(f) == 3 {
			day.Name = strings.TrimSpace(f[2])
		}
		c.days[day.Date] = day
		c.kinds[dayKey(d.Date())] = k
		c.years[d.Year()] = true
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// With returns a calendar with o's days added to (and overriding) c's: an
// operator's file on top of the built-in one.
func (c *Calendar) With(o *Calendar) *Calendar {
	n := &Calendar{days: map[string]Day{}, kinds: map[int]Kind{}, years: map[int]bool{}}
	for _, src := range []*Calendar{c, o} {
		if src == nil {
			continue
		}
		for k, v := range src.days {
			n.days[k] = v
		}
		for k, v := range src.kinds {
			n.kinds[k] = v
		}
		for y := range src.years {
			n.years[y] = true
		}
	}
	return n
}

// Covers reports whether the calendar lists the holidays of year; for other
// years only weekends are days off.
func (c *Calendar) Covers(year int) bool { return c != nil && c.years[year] }

// Working reports whether the calendar date of t in China time is a
// working day.
func (c *Calendar) Working(t time.Time) bool {
	t = t.In(manifest.China)
	if c != nil {
		if k, ok := c.kinds[dayKey(t.Date())]; ok {
			return k == Workday
		}
	}
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// midnight is the start of t's calendar day in China time.
func midnight(t time.Time) time.Time {
	t = t.In(manifest.China)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, manifest.China)
}

// AddWorkingDays returns the start (00:00 China time) of the n-th working
// day after t's calendar day; t's own day is not counted ("within 5
// working days from the day of receipt").
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	d := midnight(t)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.Working(d) {
			n--
		}
	}
	return d
}

// Deadline is the end of the n-th working day after t's day: the first
// instant that is late.
func (c *Calendar) Deadline(t time.Time, n int) time.Time {
	return c.AddWorkingDays(t, n).AddDate(0, 0, 1)
}

// Between counts the working days after from's day up to and including
// to's day (0 when to's day is not after from's).
func (c *Calendar) Between(from, to time.Time) int {
	d, end := midnight(from), midnight(to)
	n := 0
	for d.Before(end) {
		d = d.AddDate(0, 0, 1)
		if c.Working(d) {
			n++
		}
	}
	return n
}
