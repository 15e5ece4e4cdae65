package jcs

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

// appendNumber appends f as ECMAScript's Number.prototype.toString writes it
// (ECMA-262 Number::toString, RFC 8785 §3.2.2.3): the shortest decimal that
// reads back as f, in positional notation for 1e-6 <= |f| < 1e21 and in
// exponent notation ("1e+21", "1.5e-7") outside. -0 is written as 0.
// f must be finite.
func appendNumber(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0')
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	// Shortest round-trip digits: "d.ddde±x" or "de±x". Go picks, among the
	// shortest, the digits closest to f, as ECMA-262 requires.
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	var digits [17]byte
	k := 0
	i := 0
	for ; b[i] != 'e'; i++ {
		if b[i] != '.' {
			digits[k] = b[i]
			k++
		}
	}
	e := 0
	neg := b[i+1] == '-'
	for _, c := range b[i+2:] {
		e = e*10 + int(c-'0')
	}
	if neg {
		e = -e
	}
	// f = 0.d1d2…dk × 10^n in ECMA-262's terms.
	n := e + 1
	ds := digits[:k]
	switch {
	case k <= n && n <= 21:
		dst = append(dst, ds...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, ds[:n]...)
		dst = append(dst, '.')
		dst = append(dst, ds[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, ds...)
	default:
		dst = append(dst, ds[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, ds[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}

// AppendString appends s, which is valid UTF-8, as a JSON string escaped as
// RFC 8785 §3.2.2.2 (and ECMAScript's JSON.stringify) does: only '"', '\\'
// and the C0 controls are escaped; everything else is literal UTF-8.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		// Skip eight bytes at a time while none of them needs escaping.
		for i+8 <= len(s) && !needsEscape8(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) {
			i += 8
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// needsEscape8 reports whether one of the eight bytes of w is '"', '\\' or
// below 0x20. hasLess and hasZero are exact when no byte matches, since
// only a matching byte starts a borrow; a match may also flag its
// neighbours, which AppendString then looks at one by one.
func needsEscape8(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(x uint64) uint64 { return (x - ones) & ^x & highs }
	return ((w-0x20*ones)&^w&highs)|hasZero(w^('"'*ones))|hasZero(w^('\\'*ones)) != 0
}

// compareUTF16 orders a and b (valid UTF-8) as arrays of UTF-16 code units,
// as RFC 8785 §3.2.3 sorts member names. It differs from byte order only
// for code points above U+FFFF, whose leading surrogate (0xD800–0xDBFF)
// sorts before U+E000–U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ua, ub := firstUnit(ra), firstUnit(rb)
			if ua != ub {
				return cmpRune(ua, ub)
			}
			return cmpRune(ra, rb) // same leading surrogate: the trailing one decides
		}
		a, b = a[na:], b[nb:]
	}
	return cmpRune(rune(len(a)), rune(len(b))) // one is a prefix of the other (or equal)
}

func firstUnit(r rune) rune {
	if r < 0x10000 {
		return r
	}
	return 0xd800 + (r-0x10000)>>10
}

func cmpRune(a, b rune) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
