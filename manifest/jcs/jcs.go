// Package jcs implements the JSON Canonicalization Scheme (JCS) of RFC 8785:
// the one byte sequence that every conforming implementation, in any
// language, produces for a given JSON value. Party signatures are made over
// these bytes.
//
// Canonicalize reads JSON text as I-JSON (RFC 7493) and rejects what RFC 8785
// cannot canonicalise unambiguously: invalid UTF-8, lone surrogates, duplicate
// member names and numbers that are not finite IEEE 754 doubles. Every number
// becomes a double, exactly as in JavaScript: 9007199254740993 reads as
// 9007199254740992. Values that must survive exactly beyond ±2^53 belong in
// strings.
//
// The package is pure: no I/O, no clock, no randomness.
package jcs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects Canonicalize accepts.
// A top-level array or object is at depth 1.
const MaxDepth = 128

// The reasons Canonicalize rejects its input. A returned *Error wraps exactly
// one of them, so errors.Is(err, ErrDuplicate) works.
var (
	ErrSyntax    = errors.New("invalid JSON")
	ErrUTF8      = errors.New("invalid UTF-8")
	ErrSurrogate = errors.New("lone surrogate")
	ErrDuplicate = errors.New("duplicate member name")
	ErrNumber    = errors.New("number is not a finite IEEE 754 double")
	ErrDepth     = errors.New("nesting deeper than 128")
	ErrTrailing  = errors.New("data after the JSON value")
)

// Error is a rejection of the input, with where it was found.
type Error struct {
	Offset int    // byte offset into the input
	Err    error  // one of the Err* values of this package
	Detail string // what exactly, e.g. the offending member name; may be empty
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("jcs: %v at byte offset %d", e.Err, e.Offset)
	}
	return fmt.Sprintf("jcs: %v: %s at byte offset %d", e.Err, e.Detail, e.Offset)
}

func (e *Error) Unwrap() error { return e.Err }

// Canonicalize parses the JSON text in and returns its RFC 8785 canonical
// form. in is not modified and the result does not alias it.
func Canonicalize(in []byte) ([]byte, error) {
	p := parser{in: in}
	out, err := p.value(make([]byte, 0, len(in)))
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.in) {
		return nil, p.fail(ErrTrailing, fmt.Sprintf("unexpected %s", describe(p.in[p.pos])))
	}
	return out, nil
}

// Marshal returns the canonical form of v as encoding/json would encode it.
// Integers beyond ±2^53 lose precision, as they would in JavaScript.
func Marshal(v any) ([]byte, error) {
	if b, err := fastMarshal(v); err == nil {
		return b, nil
	}
	return slowMarshal(v)
}

// slowMarshal is Marshal by way of encoding/json's text.
func slowMarshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("jcs: %w", err)
	}
	return Canonicalize(b)
}

type parser struct {
	in    []byte
	pos   int
	depth int
}

func (p *parser) fail(reason error, detail string) *Error {
	return &Error{Offset: p.pos, Err: reason, Detail: detail}
}

func (p *parser) failAt(off int, reason error, detail string) *Error {
	return &Error{Offset: off, Err: reason, Detail: detail}
}

func describe(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", c)
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value parses one JSON value at p.pos and appends its canonical form to dst.
func (p *parser) value(dst []byte) ([]byte, error) {
	p.skipSpace()
	if p.pos >= len(p.in) {
		return nil, p.fail(ErrSyntax, "unexpected end of input, want a value")
	}
	switch c := p.in[p.pos]; {
	case c == '{':
		return p.object(dst)
	case c == '[':
		return p.array(dst)
	case c == '"':
		if out, ok := p.plainString(dst); ok {
			return out, nil
		}
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return AppendString(dst, s), nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(dst)
	case c == 't':
		return p.literal(dst, "true")
	case c == 'f':
		return p.literal(dst, "false")
	case c == 'n':
		return p.literal(dst, "null")
	default:
		return nil, p.fail(ErrSyntax, fmt.Sprintf("unexpected %s, want a value", describe(c)))
	}
}

func (p *parser) literal(dst []byte, lit string) ([]byte, error) {
	if len(p.in)-p.pos < len(lit) || string(p.in[p.pos:p.pos+len(lit)]) != lit {
		return nil, p.fail(ErrSyntax, fmt.Sprintf("want %q", lit))
	}
	p.pos += len(lit)
	return append(dst, lit...), nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return p.fail(ErrDepth, "")
	}
	return nil
}

func (p *parser) array(dst []byte) ([]byte, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // '['
	dst = append(dst, '[')
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
		p.depth--
		return append(dst, ']'), nil
	}
	for {
		var err error
		if dst, err = p.value(dst); err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.in) {
			return nil, p.fail(ErrSyntax, "unexpected end of input in array, want ',' or ']'")
		}
		switch c := p.in[p.pos]; c {
		case ',':
			p.pos++
			dst = append(dst, ',')
		case ']':
			p.pos++
			p.depth--
			return append(dst, ']'), nil
		default:
			return nil, p.fail(ErrSyntax, fmt.Sprintf("unexpected %s in array, want ',' or ']'", describe(c)))
		}
	}
}

type member struct {
	name       string
	offset     int // of the name's opening quote, for error messages
	start, end int // of the canonical "name":value in the output
}

// object appends the members to dst as it reads them, which leaves nothing
// more to do when they come in canonical order (as signed statements do);
// otherwise it sorts them and rebuilds its part of dst.
func (p *parser) object(dst []byte) ([]byte, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.pos++ // '{'
	open := len(dst)
	dst = append(dst, '{')
	var buf [16]member
	members := buf[:0]
	sorted := true
	p.skipSpace()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
	} else {
		for {
			p.skipSpace()
			if p.pos >= len(p.in) {
				return nil, p.fail(ErrSyntax, "unexpected end of input in object, want a member name")
			}
			if c := p.in[p.pos]; c != '"' {
				return nil, p.fail(ErrSyntax, fmt.Sprintf("unexpected %s in object, want a member name", describe(c)))
			}
			m := member{offset: p.pos}
			var err error
			if m.name, err = p.str(); err != nil {
				return nil, err
			}
			p.skipSpace()
			if p.pos >= len(p.in) || p.in[p.pos] != ':' {
				return nil, p.fail(ErrSyntax, "want ':' after member name")
			}
			p.pos++
			if len(members) > 0 {
				dst = append(dst, ',')
				if sorted && compareUTF16(members[len(members)-1].name, m.name) >= 0 {
					sorted = false
				}
			}
			m.start = len(dst)
			dst = AppendString(dst, m.name)
			dst = append(dst, ':')
			if dst, err = p.value(dst); err != nil {
				return nil, err
			}
			m.end = len(dst)
			members = append(members, m)
			p.skipSpace()
			if p.pos >= len(p.in) {
				return nil, p.fail(ErrSyntax, "unexpected end of input in object, want ',' or '}'")
			}
			c := p.in[p.pos]
			p.pos++
			if c == '}' {
				break
			}
			if c != ',' {
				p.pos--
				return nil, p.fail(ErrSyntax, fmt.Sprintf("unexpected %s in object, want ',' or '}'", describe(c)))
			}
		}
	}
	p.depth--
	if sorted {
		return append(dst, '}'), nil
	}

	sortMembers(members)
	for i := 1; i < len(members); i++ {
		if a, b := members[i-1], members[i]; a.name == b.name {
			return nil, p.failAt(max(a.offset, b.offset), ErrDuplicate, strconv.Quote(b.name))
		}
	}
	body := slices.Clone(dst[open+1:])
	dst = dst[:open+1]
	for i, m := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, body[m.start-open-1:m.end-open-1]...)
	}
	return append(dst, '}'), nil
}

// plainString appends the string at p.pos as it is when it has no escape
// sequence and no control character (then it is already canonical) and
// reports whether it did; otherwise it leaves p.pos and dst alone for str.
func (p *parser) plainString(dst []byte) ([]byte, bool) {
	for i := p.pos + 1; i < len(p.in); {
		c := p.in[i]
		switch {
		case c == '"':
			dst = append(dst, p.in[p.pos:i+1]...)
			p.pos = i + 1
			return dst, true
		case c == '\\' || c < 0x20:
			return dst, false
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(p.in[i:])
			if r == utf8.RuneError && n <= 1 {
				return dst, false
			}
			i += n
		}
	}
	return dst, false
}

// str parses a JSON string at p.pos and returns its decoded value, which is
// always valid UTF-8 without surrogate code points.
func (p *parser) str() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		if c == '"' {
			s := string(p.in[start:p.pos])
			p.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.fail(ErrSyntax, fmt.Sprintf("unescaped control character 0x%02x in string", c))
		}
		if c < utf8.RuneSelf {
			p.pos++
			continue
		}
		r, n := utf8.DecodeRune(p.in[p.pos:])
		if r == utf8.RuneError && n <= 1 {
			return "", p.fail(ErrUTF8, "")
		}
		p.pos += n
	}
	buf := append([]byte(nil), p.in[start:p.pos]...)
	for p.pos < len(p.in) {
		c := p.in[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c == '\\':
			var err error
			if buf, err = p.escape(buf); err != nil {
				return "", err
			}
		case c < 0x20:
			return "", p.fail(ErrSyntax, fmt.Sprintf("unescaped control character 0x%02x in string", c))
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			p.pos++
		default:
			r, n := utf8.DecodeRune(p.in[p.pos:])
			if r == utf8.RuneError && n <= 1 {
				return "", p.fail(ErrUTF8, "")
			}
			buf = append(buf, p.in[p.pos:p.pos+n]...)
			p.pos += n
		}
	}
	return "", p.fail(ErrSyntax, "unexpected end of input in string")
}

// escape decodes the escape sequence at p.pos (a backslash) onto buf.
func (p *parser) escape(buf []byte) ([]byte, error) {
	if p.pos+1 >= len(p.in) {
		return nil, p.fail(ErrSyntax, "unexpected end of input in escape sequence")
	}
	var r rune
	switch c := p.in[p.pos+1]; c {
	case '"', '\\', '/':
		r = rune(c)
	case 'b':
		r = '\b'
	case 'f':
		r = '\f'
	case 'n':
		r = '\n'
	case 'r':
		r = '\r'
	case 't':
		r = '\t'
	case 'u':
		start := p.pos
		hi, ok := p.hex4(p.pos + 2)
		if !ok {
			return nil, p.fail(ErrSyntax, `want four hex digits after \u`)
		}
		p.pos += 6
		switch {
		case hi >= 0xdc00 && hi <= 0xdfff:
			return nil, p.failAt(start, ErrSurrogate, fmt.Sprintf(`low surrogate \u%04x without a high surrogate before it`, hi))
		case hi >= 0xd800 && hi <= 0xdbff:
			lo, ok := rune(0), false
			if p.pos+1 < len(p.in) && p.in[p.pos] == '\\' && p.in[p.pos+1] == 'u' {
				lo, ok = p.hex4(p.pos + 2)
			}
			if !ok || lo < 0xdc00 || lo > 0xdfff {
				return nil, p.failAt(start, ErrSurrogate, fmt.Sprintf(`high surrogate \u%04x not followed by a low surrogate`, hi))
			}
			p.pos += 6
			return utf8.AppendRune(buf, 0x10000+(hi-0xd800)<<10+(lo-0xdc00)), nil
		}
		return utf8.AppendRune(buf, hi), nil
	default:
		return nil, p.fail(ErrSyntax, fmt.Sprintf(`invalid escape sequence \%s`, describe(c)))
	}
	p.pos += 2
	return append(buf, byte(r)), nil
}

func (p *parser) hex4(at int) (rune, bool) {
	if at+4 > len(p.in) {
		return 0, false
	}
	var r rune
	for _, c := range p.in[at : at+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}

// number parses a JSON number (RFC 8259 §6 grammar) and appends its
// ECMAScript serialisation.
func (p *parser) number(dst []byte) ([]byte, error) {
	start := p.pos
	in := p.in
	i := p.pos
	if in[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(in) && in[i] == '0':
		i++
		if i < len(in) && in[i] >= '0' && in[i] <= '9' {
			return nil, p.failAt(start, ErrSyntax, "number with a leading zero")
		}
	case digits() == 0:
		return nil, p.failAt(start, ErrSyntax, "want a digit in number")
	}
	if i < len(in) && in[i] == '.' {
		i++
		if digits() == 0 {
			return nil, p.failAt(start, ErrSyntax, "want a digit after the decimal point")
		}
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, p.failAt(start, ErrSyntax, "want a digit in exponent")
		}
	}
	// An integer of at most 15 digits is exact as a double, and ECMAScript
	// writes it as it is (but for -0).
	plain := in[start:i]
	if digits := bytes.TrimPrefix(plain, []byte("-")); len(digits) <= 15 &&
		!bytes.ContainsAny(digits, ".eE") && string(plain) != "-0" {
		p.pos = i
		return append(dst, plain...), nil
	}
	text := string(in[start:i])
	f, err := strconv.ParseFloat(text, 64)
	if err != nil { // only ErrRange can happen after the grammar check: ±Inf
		return nil, p.failAt(start, ErrNumber, fmt.Sprintf("%.40s overflows", text))
	}
	p.pos = i
	return appendNumber(dst, f), nil
}

func sortMembers(ms []member) {
	slices.SortStableFunc(ms, func(a, b member) int { return compareUTF16(a.name, b.name) })
}
