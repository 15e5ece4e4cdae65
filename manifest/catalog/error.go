package catalog

import (
	"strconv"
	"unicode/utf8"
)

// Kind says why a value was refused.
type Kind string

const (
	Malformed  Kind = "malformed"   // the value does not have the required shape
	Unknown    Kind = "unknown"     // well-formed, but not in the catalogue
	NotAllowed Kind = "not_allowed" // known, but not allowed in this context
)

// Error is the error returned by every validator of the package. Callers map
// Malformed and Unknown to an invalid-input error and NotAllowed to a rule
// violation; errors.Is(err, &Error{Kind: Unknown}) matches on Kind alone.
type Error struct {
	Kind  Kind
	What  string // "waste code", "method", "region", "battery code", "medical category"
	Value string // the refused value
	Pos   int    // 1-based position of the offending character (battery codes); 0 otherwise
	Msg   string
}

func (e *Error) Error() string {
	return e.What + " " + quote(e.Value) + ": " + e.Msg
}

// Is lets errors.Is(err, &Error{Kind: k}) match any Error of kind k.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.What == "" && t.Value == "" && t.Msg == ""
}

// quote quotes s for an error message, cutting it short so that a hostile
// input cannot make the message arbitrarily long.
func quote(s string) string {
	const max = 64
	if len(s) <= max {
		return strconv.Quote(s)
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return strconv.Quote(s[:i]) + "…"
}
