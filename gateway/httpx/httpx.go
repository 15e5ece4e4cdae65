// Package httpx holds what every HTTP handler of the gateway and the
// driver API shares: the route description, strict JSON decoding with a
// body limit, and JSON responses. The router itself (gorilla/mux) is
// imported in one file of package gateway only; handlers read path values
// with r.PathValue, which that file fills.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"

	"wasteledger/gateway/auth"
	"wasteledger/gateway/problem"
	"wasteledger/manifest"
)

// Route is one endpoint.
type Route struct {
	Method  string      // GET, POST, …
	Path    string      // with {name} parameters, e.g. /api/v1/manifests/{id}
	Name    string      // the OpenAPI operationId
	Roles   []auth.Role // roles allowed; empty with Public false means any signed-in actor
	Public  bool        // no authentication
	Handler http.HandlerFunc
}

// DefaultMaxBody bounds request bodies unless a route says otherwise.
const DefaultMaxBody = 1 << 20

// Error is an HTTP-layer error with a problem code.
type Error struct {
	Code   string
	Field  string
	Detail string
}

func (e *Error) Error() string       { return e.Detail }
func (e *Error) ProblemCode() string { return e.Code }

// Decode reads one JSON value from the request body into v: at most max
// bytes (413 beyond), unknown fields refused, trailing data refused. The
// error it returns is ready for problem.Error.
func Decode(w http.ResponseWriter, r *http.Request, v any, max int64) error {
	if max <= 0 {
		max = DefaultMaxBody
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &Error{Code: problem.BadRequest, Detail: "Content-Type must be application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &Error{Code: problem.TooLarge, Detail: fmt.Sprintf("request body is larger than %d bytes", max)}
		}
		return &Error{Code: problem.BadRequest, Detail: "cannot read the request body"}
	}
	return DecodeBytes(body, v)
}

// DecodeBytes decodes one JSON value strictly, as Decode does.
func DecodeBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &Error{Code: problem.BadRequest, Detail: "request body is empty; a JSON object is expected"}
	}
	// manifest.DecodeStrict (segmentio's decoder, about half the time)
	// takes what this function's encoding/json decoder takes, into the same
	// value (TestFastDecodeAccepts). What it refuses is decoded again below,
	// so that the refusals and their messages stay encoding/json's.
	if manifest.DecodeStrict(body, v) == nil {
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv.Elem().SetZero()
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return &Error{Code: problem.BadRequest, Detail: fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, err)}
		case errors.As(err, &typ):
			return &Error{Code: problem.BadRequest, Field: typ.Field, Detail: fmt.Sprintf("field %q must be %s, not %s", typ.Field, typ.Type, typ.Value)}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &Error{Code: problem.BadRequest, Field: f, Detail: fmt.Sprintf("unknown field %q", f)}
		default:
			return &Error{Code: problem.BadRequest, Detail: "malformed JSON: " + err.Error()}
		}
	}
	if dec.More() {
		return &Error{Code: problem.BadRequest, Detail: "trailing data after the JSON value"}
	}
	return nil
}

// JSON writes v with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// RawJSON writes already-encoded JSON with status.
func RawJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
