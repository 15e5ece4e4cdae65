package ticket

import "fmt"

// Reason says why a ticket was refused.
type Reason string

const (
	Malformed    Reason = "malformed"     // not a well-formed ticket
	BadAlgorithm Reason = "bad_algorithm" // alg is not ES256 ("none", HS256, …)
	UnknownKey   Reason = "unknown_key"   // kid is not a published gateway key
	BadSignature Reason = "bad_signature" // the signature does not verify: tampered or forged
	Expired      Reason = "expired"
	NotYetValid  Reason = "not_yet_valid" // iat in the future
	WrongIssuer  Reason = "wrong_issuer"
	Stale        Reason = "stale"    // names an older version than the ledger's current one
	Mismatch     Reason = "mismatch" // names a version the ledger never had with that hash
)

// ProblemCode is the problem+json code of every ticket error; it equals
// problem.BadTicket (a test keeps them equal), so that problem.From maps an
// *Error to 422 without this pure package importing net/http.
const ProblemCode = "bad_ticket"

// Error is a refused ticket.
type Error struct {
	Reason Reason
	Detail string
}

func (e *Error) Error() string { return "ticket " + string(e.Reason) + ": " + e.Detail }

// ProblemCode lets the HTTP layer answer bad_ticket (422).
func (e *Error) ProblemCode() string { return ProblemCode }

// Is matches another *Error of the same reason, so that
// errors.Is(err, ticket.ErrExpired) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason && t.Detail == ""
}

// Sentinels for errors.Is.
var (
	ErrMalformed    = &Error{Reason: Malformed}
	ErrBadAlgorithm = &Error{Reason: BadAlgorithm}
	ErrUnknownKey   = &Error{Reason: UnknownKey}
	ErrBadSignature = &Error{Reason: BadSignature}
	ErrExpired      = &Error{Reason: Expired}
	ErrNotYetValid  = &Error{Reason: NotYetValid}
	ErrWrongIssuer  = &Error{Reason: WrongIssuer}
	ErrStale        = &Error{Reason: Stale}
	ErrMismatch     = &Error{Reason: Mismatch}
)

func fail(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// Fail builds a ticket error, for callers that detect staleness or a
// mismatch against the ledger.
func Fail(r Reason, format string, args ...any) *Error { return fail(r, format, args...) }
