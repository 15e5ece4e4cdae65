package catalog

import (
	"fmt"
	"unicode/utf8"
)

// BatteryCodeLen is the length of a GB/T 34014-2017 unit code.
const BatteryCodeLen = 24

// ProductType is position 4 of a battery unit code.
type ProductType string

const (
	Pack   ProductType = "P" // 电池包
	Module ProductType = "M" // 电池模块
	Cell   ProductType = "C" // 电池单体
)

// Name is the Chinese name of the product type; "" if unknown.
func (p ProductType) Name() string {
	switch p {
	case Pack:
		return "电池包"
	case Module:
		return "电池模块"
	case Cell:
		return "电池单体"
	}
	return ""
}

// NameEN is the English name of the product type; "" if unknown.
func (p ProductType) NameEN() string {
	switch p {
	case Pack:
		return "Pack"
	case Module:
		return "Module"
	case Cell:
		return "Cell"
	}
	return ""
}

// Chemistry is position 5 of a battery unit code, the battery type (A–G, Z).
//
// UNCONFIRMED: the meaning of each letter (data/battery-chemistries.csv) is
// from memory, not from the text of GB/T 34014 (DOMAIN.md §5.2, §9 item 7).
// Only the allowed set of letters is sourced.
type Chemistry string

// Chemistries lists the battery-type letters in table order.
func Chemistries() []Chemistry {
	cs := make([]Chemistry, len(cat.chemistries))
	for i, c := range cat.chemistries {
		cs[i] = c.letter
	}
	return cs
}

// Name is the Chinese name of the battery type (UNCONFIRMED); "" if unknown.
func (c Chemistry) Name() string { return c.row().name }

// NameEN is the English name of the battery type (UNCONFIRMED); "" if unknown.
func (c Chemistry) NameEN() string { return c.row().nameEN }

func (c Chemistry) row() chemistryRow {
	for _, r := range cat.chemistries {
		if r.letter == c {
			return r
		}
	}
	return chemistryRow{}
}

// BatteryUnit is a parsed GB/T 34014-2017 unit code. The production date
// characters are kept as coded; decoding them needs tables the project has
// not confirmed.
type BatteryUnit struct {
	Manufacturer string      // positions 1–3, 厂商代码
	ProductType  ProductType // position 4
	Chemistry    Chemistry   // position 5
	Spec         string      // positions 6–7, 规格代码
	Trace        string      // positions 8–14, 追溯信息代码
	Year         string      // position 15, production year code
	Month        string      // position 16, production month code
	Day          string      // position 17, production day code
	Serial       string      // positions 18–24, 序列号
}

// String returns the 24-character code.
func (u BatteryUnit) String() string {
	return u.Manufacturer + string(u.ProductType) + string(u.Chemistry) + u.Spec + u.Trace +
		u.Year + u.Month + u.Day + u.Serial
}

// batteryField describes the characters allowed at positions from…to
// (1-based, inclusive), following the regex of DOMAIN.md §5.2:
// ^[A-Z0-9]{3}[PMC][A-GZ][A-Z0-9]{2}[A-Z0-9]{7}[1-9A-GH-NPR-Y][1-9A-C][0-9A-GH-NPR-Y][0-9]{7}$
type batteryField struct {
	from, to int
	name     string
	allowed  string // completes "must be …"
	ok       func(rune) bool
}

var batteryFields = [...]batteryField{
	{1, 3, "manufacturer code", "A–Z or 0–9", isUpperAlnum},
	{4, 4, "product type", "P, M or C", func(r rune) bool { return r == 'P' || r == 'M' || r == 'C' }},
	{5, 5, "battery type", "A–G or Z", isChemistryLetter},
	{6, 7, "specification code", "A–Z or 0–9", isUpperAlnum},
	{8, 14, "traceability code", "A–Z or 0–9", isUpperAlnum},
	{15, 15, "production year", "1–9 or A–Y except O and Q", isDateLetter},
	{16, 16, "production month", "1–9 or A–C", func(r rune) bool { return '1' <= r && r <= '9' || 'A' <= r && r <= 'C' }},
	{17, 17, "production day", "0–9 or A–Y except O and Q", func(r rune) bool { return r == '0' || isDateLetter(r) }},
	{18, 24, "serial number", "0–9", func(r rune) bool { return '0' <= r && r <= '9' }},
}

func isUpperAlnum(r rune) bool { return 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' }

func isChemistryLetter(r rune) bool { return 'A' <= r && r <= 'G' || r == 'Z' }

// isDateLetter matches [1-9A-GH-NPR-Y]: 1–9 and A–Y without O and Q.
func isDateLetter(r rune) bool {
	return '1' <= r && r <= '9' || 'A' <= r && r <= 'Y' && r != 'O' && r != 'Q'
}

// ValidBatteryCode checks a GB/T 34014-2017 24-character unit code. The
// error is an *Error of kind Malformed whose Pos is the first failing
// position, e.g. "position 4 (product type) must be P, M or C, got 'X'".
func ValidBatteryCode(s string) error {
	_, err := ParseBatteryCode(s)
	return err
}

// ParseBatteryCode checks s like ValidBatteryCode and splits it into fields.
func ParseBatteryCode(s string) (BatteryUnit, error) {
	bad := func(pos int, format string, args ...any) (BatteryUnit, error) {
		return BatteryUnit{}, &Error{Kind: Malformed, What: "battery code", Value: s, Pos: pos, Msg: fmt.Sprintf(format, args...)}
	}
	if n := utf8.RuneCountInString(s); n != BatteryCodeLen {
		return bad(0, "must be %d characters, got %d", BatteryCodeLen, n)
	}
	pos := 0
	for _, r := range s {
		pos++
		f := fieldAt(pos)
		if !f.ok(r) {
			hint := ""
			if 'a' <= r && r <= 'z' && f.ok(r-'a'+'A') {
				hint = " (letters must be upper case)"
			}
			return bad(pos, "position %d (%s) must be %s, got %q%s", pos, f.name, f.allowed, r, hint)
		}
	}
	// Every character is ASCII now, so byte offsets are positions.
	return BatteryUnit{
		Manufacturer: s[0:3],
		ProductType:  ProductType(s[3:4]),
		Chemistry:    Chemistry(s[4:5]),
		Spec:         s[5:7],
		Trace:        s[7:14],
		Year:         s[14:15],
		Month:        s[15:16],
		Day:          s[16:17],
		Serial:       s[17:24],
	}, nil
}

func fieldAt(pos int) batteryField {
	for _, f := range batteryFields {
		if f.from <= pos && pos <= f.to {
			return f
		}
	}
	panic(fmt.Sprintf("catalog: no battery field at position %d", pos))
}
