package manifest

import (
	"errors"
	"fmt"
	"strings"
)

// Code is the stable category of an error. The set is append-only: codes
// travel across the Fabric boundary as a message prefix ("[conflict] …"),
// are stored by clients and are mapped to HTTP status in one table in the
// gateway.
type Code string

const (
	Invalid         Code = "invalid"         // malformed or out-of-range input
	NotFound        Code = "not_found"       // no such manifest, organisation, key or permit
	Conflict        Code = "conflict"        // wrong state, already exists, or a concurrent update won
	Forbidden       Code = "forbidden"       // the caller or party may not do this
	Unauthenticated Code = "unauthenticated" // no or unusable identity
	RuleViolation   Code = "rule_violation"  // a regulatory rule refuses it (permit, capacity, tolerance, 48 h)
	BadSignature    Code = "bad_signature"   // a party signature does not verify against its registered key
	Internal        Code = "internal"        // a bug or an unreadable ledger value
	Unavailable     Code = "unavailable"     // the ledger cannot be reached; retry later
)

// Codes lists every code, in the order they were introduced.
var Codes = []Code{Invalid, NotFound, Conflict, Forbidden, Unauthenticated, RuleViolation, BadSignature, Internal, Unavailable}

// Error is the one error type of the domain and the contract.
type Error struct {
	Code     Code
	Op       string // the operation, e.g. "handover"
	Manifest string // the manifest number, when there is one
	Field    string // the offending field as a JSON path, when there is one
	Msg      string
	Err      error // the wrapped cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("[")
	b.WriteString(string(e.Code))
	b.WriteString("] ")
	if e.Op != "" {
		b.WriteString(e.Op)
		if e.Manifest != "" {
			b.WriteString(" ")
			b.WriteString(e.Manifest)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		if e.Msg != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, &Error{Code: Conflict}) match any error of that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Op == "" && t.Msg == ""
}

// Errorf builds an Error of the given code.
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	e := &Error{Code: code, Msg: err.Error()}
	if u := errors.Unwrap(err); u != nil {
		e.Msg = strings.TrimSuffix(strings.TrimSuffix(e.Msg, u.Error()), ": ")
		e.Err = u
	}
	return e
}

// FieldError builds an Error about one input field.
func FieldError(code Code, field, format string, args ...any) *Error {
	e := Errorf(code, format, args...)
	e.Field = field
	return e
}

// WithOp returns err as an *Error carrying op and manifest id; errors of other
// types become Internal.
func WithOp(err error, op, manifest string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		c := *e
		if c.Op == "" {
			c.Op = op
		}
		if c.Manifest == "" {
			c.Manifest = manifest
		}
		return &c
	}
	return &Error{Code: Internal, Op: op, Manifest: manifest, Err: err}
}

// CodeOf returns the code of err, Internal for foreign errors, "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ParseError recovers a coded error from its message, as it arrives through
// a Fabric endorsement error ("… [conflict] handover 2026…: …"). It returns
// nil when msg carries no known code.
func ParseError(msg string) *Error {
	for i := 0; i < len(msg); i++ {
		if msg[i] != '[' {
			continue
		}
		end := strings.IndexByte(msg[i:], ']')
		if end < 0 {
			return nil
		}
		code := Code(msg[i+1 : i+end])
		for _, c := range Codes {
			if c == code {
				return &Error{Code: c, Msg: strings.TrimSpace(msg[i+end+1:])}
			}
		}
	}
	return nil
}
