package problem

import (
	"net/http"
	"testing"

	"wasteledger/manifest"
)

func TestEveryCodeHasAStatus(t *testing.T) {
	for _, c := range manifest.Codes {
		if !Known(string(c)) {
			t.Errorf("code %q has no HTTP mapping", c)
		}
	}
	for _, c := range []string{BadRequest, TooLarge, RateLimited, MethodNotAllowed, BadTicket, IdempotencyReuse} {
		if !Known(c) {
			t.Errorf("code %q has no HTTP mapping", c)
		}
	}
}

func TestFrom(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
		field  string
	}{
		{manifest.FieldError(manifest.Invalid, "lines[0].qty", "quantity must be positive"), http.StatusBadRequest, "invalid", "lines[0].qty"},
		{manifest.Errorf(manifest.Conflict, "manifest is signed"), http.StatusConflict, "conflict", ""},
		{manifest.Errorf(manifest.RuleViolation, "licence expired"), http.StatusUnprocessableEntity, "rule_violation", ""},
		{manifest.Errorf(manifest.BadSignature, "no"), http.StatusUnprocessableEntity, "bad_signature", ""},
		{manifest.Errorf(manifest.Unavailable, "down"), http.StatusServiceUnavailable, "unavailable", ""},
		{http.ErrAbortHandler, http.StatusInternalServerError, "internal", ""},
	}
	for _, tc := range tests {
		p := From(tc.err)
		if p.Status != tc.status || p.Code != tc.code || p.Field != tc.field || p.Type != TypeBase+tc.code {
			t.Errorf("From(%v) = %d %s %q, want %d %s %q", tc.err, p.Status, p.Code, p.Field, tc.status, tc.code, tc.field)
		}
	}
	if p := From(manifest.Errorf(manifest.Internal, "secret path /var/x")); p.Detail != "internal error" {
		t.Errorf("internal detail leaked: %q", p.Detail)
	}
}
