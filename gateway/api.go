package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"wasteledger/gateway/auth"
	"wasteledger/gateway/httpx"
	"wasteledger/gateway/problem"
	"wasteledger/manifest"
)

// routes lists the gateway's own endpoints. The OpenAPI document
// (openapi.json) describes these and the other packages' routes; a test
// keeps the two equal.
func (s *Server) routes() []httpx.Route {
	var (
		any       []auth.Role
		regulator = []auth.Role{auth.Regulator, auth.Admin} // admins: of a regulator organisation (checked in the handler)
		admin     = []auth.Role{auth.Admin}
		producer  = []auth.Role{auth.ProducerClerk}
		receiver  = []auth.Role{auth.ReceiverClerk}
		handover  = []auth.Role{auth.ProducerClerk, auth.Driver, auth.ReceiverClerk}
	)
	return []httpx.Route{
		// Service.
		{Method: "GET", Path: "/healthz", Name: "health", Public: true, Handler: s.handleHealth},
		{Method: "GET", Path: "/readyz", Name: "ready", Public: true, Handler: s.handleReady},
		{Method: "GET", Path: "/metrics", Name: "metrics", Public: true, Handler: s.handleMetrics},
		{Method: "GET", Path: "/api/v1/openapi.json", Name: "openapi", Public: true, Handler: s.handleOpenAPI},
		{Method: "GET", Path: "/.well-known/jwks.json", Name: "jwks", Public: true, Handler: s.handleJWKS},

		// Authentication.
		{Method: "POST", Path: "/api/v1/auth/token", Name: "createToken", Public: true, Handler: s.handleToken},
		{Method: "POST", Path: "/api/v1/auth/refresh", Name: "refreshToken", Public: true, Handler: s.handleRefresh},
		{Method: "GET", Path: "/api/v1/me", Name: "me", Roles: any, Handler: s.handleMe},
		{Method: "POST", Path: "/api/v1/admin/keyring/rotate", Name: "rotateSigningKey", Roles: admin, Handler: s.handleRotate},

		// Organisations, users, keys, permits, configuration.
		{Method: "POST", Path: "/api/v1/orgs", Name: "registerOrg", Roles: regulator, Handler: s.handleRegisterOrg},
		{Method: "GET", Path: "/api/v1/orgs/{id}", Name: "getOrg", Roles: any, Handler: s.handleGetOrg},
		{Method: "POST", Path: "/api/v1/orgs/{id}/users", Name: "createUser", Roles: admin, Handler: s.handleCreateUser},
		{Method: "GET", Path: "/api/v1/orgs/{id}/users", Name: "listUsers", Roles: regulator, Handler: s.handleListUsers},
		{Method: "DELETE", Path: "/api/v1/orgs/{id}/users/{username}", Name: "disableUser", Roles: admin, Handler: s.handleDisableUser},
		{Method: "POST", Path: "/api/v1/orgs/{id}/keys", Name: "registerKey", Roles: admin, Handler: s.handleRegisterKey},
		{Method: "POST", Path: "/api/v1/orgs/{id}/custodial-key", Name: "createCustodialKey", Roles: admin, Handler: s.handleCustodialKey},
		{Method: "GET", Path: "/api/v1/keys/{kid}", Name: "getKey", Roles: any, Handler: s.handleGetKey},
		{Method: "POST", Path: "/api/v1/keys/{kid}/revoke", Name: "revokeKey", Roles: admin, Handler: s.handleRevokeKey},
		{Method: "POST", Path: "/api/v1/orgs/{id}/api-keys", Name: "createAPIKey", Roles: admin, Handler: s.handleCreateAPIKey},
		{Method: "GET", Path: "/api/v1/orgs/{id}/api-keys", Name: "listAPIKeys", Roles: admin, Handler: s.handleListAPIKeys},
		{Method: "DELETE", Path: "/api/v1/orgs/{id}/api-keys/{keyId}", Name: "revokeAPIKey", Roles: admin, Handler: s.handleRevokeAPIKey},
		{Method: "POST", Path: "/api/v1/permits", Name: "issuePermit", Roles: regulator, Handler: s.handleIssuePermit},
		{Method: "GET", Path: "/api/v1/permits/{id}", Name: "getPermit", Roles: any, Handler: s.handleGetPermit},
		{Method: "POST", Path: "/api/v1/permits/{id}/revoke", Name: "revokePermit", Roles: regulator, Handler: s.handleRevokePermit},
		{Method: "GET", Path: "/api/v1/config", Name: "getConfig", Roles: any, Handler: s.handleGetConfig},
		{Method: "PUT", Path: "/api/v1/config", Name: "setConfig", Roles: regulator, Handler: s.handleSetConfig},

		// Manifests.
		{Method: "POST", Path: "/api/v1/manifests", Name: "createManifest", Roles: producer, Handler: s.handleCreate},
		{Method: "GET", Path: "/api/v1/manifests", Name: "listManifests", Roles: any, Handler: s.handleList},
		{Method: "GET", Path: "/api/v1/manifests/{id}", Name: "getManifest", Roles: any, Handler: s.handleGet},
		{Method: "GET", Path: "/api/v1/manifests/{id}/history", Name: "manifestHistory", Roles: any, Handler: s.handleHistory},
		{Method: "GET", Path: "/api/v1/manifests/{id}/statements/{step}", Name: "statementTemplate", Roles: any, Handler: s.handleTemplate},
		{Method: "POST", Path: "/api/v1/manifests/{id}/sign", Name: "signManifest", Roles: producer, Handler: s.handleStep("SignManifest", manifest.StepSign)},
		{Method: "POST", Path: "/api/v1/manifests/{id}/handover", Name: "handover", Roles: handover, Handler: s.handleStep("Handover", manifest.StepPickup, manifest.StepRelay, manifest.StepDelivery)},
		{Method: "POST", Path: "/api/v1/manifests/{id}/receive", Name: "receive", Roles: receiver, Handler: s.handleStep("Receive", manifest.StepReceive)},
		{Method: "POST", Path: "/api/v1/manifests/{id}/process", Name: "process", Roles: receiver, Handler: s.handleStep("Process", manifest.StepProcess)},
		{Method: "POST", Path: "/api/v1/manifests/{id}/close", Name: "closeManifest", Roles: producer, Handler: s.handleStep("CloseManifest", manifest.StepClose)},
		{Method: "POST", Path: "/api/v1/manifests/{id}/cancel", Name: "cancelManifest", Roles: producer, Handler: s.handleStep("CancelManifest", manifest.StepCancel)},
		{Method: "POST", Path: "/api/v1/manifests/{id}/sign-codes", Name: "issueSignCode", Roles: []auth.Role{auth.ProducerClerk, auth.Admin}, Handler: s.handleSignCode},
		{Method: "POST", Path: "/api/v1/manifests/{id}/countersign", Name: "countersign", Roles: []auth.Role{auth.Driver}, Handler: s.handleCountersign},

		// The waste catalogue.
		{Method: "GET", Path: "/api/v1/catalog/wastes", Name: "searchWastes", Public: true, Handler: s.handleWastes},
		{Method: "GET", Path: "/api/v1/catalog/wastes/{code}", Name: "getWaste", Public: true, Handler: s.handleWaste},
		{Method: "GET", Path: "/api/v1/catalog/categories", Name: "listCategories", Public: true, Handler: s.handleCategories},
		{Method: "GET", Path: "/api/v1/catalog/methods", Name: "listMethods", Public: true, Handler: s.handleMethods},
		{Method: "GET", Path: "/api/v1/catalog/regions", Name: "listRegions", Public: true, Handler: s.handleRegions},
	}
}

// maxBody bounds ordinary request bodies; signed statements are bounded by
// the statement limit plus the envelope.
const (
	maxBody       = httpx.DefaultMaxBody
	maxSignedBody = manifest.MaxStatementBytes + 4<<10
)

// readBody reads a JSON request body of at most max bytes: 413 beyond,
// 400 for another content type.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return nil, &httpx.Error{Code: problem.BadRequest, Detail: "Content-Type must be application/json"}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &httpx.Error{Code: problem.TooLarge, Detail: fmt.Sprintf("request body is larger than %d bytes", max)}
		}
		return nil, &httpx.Error{Code: problem.BadRequest, Detail: "cannot read the request body"}
	}
	return b, nil
}

// readJSON reads and strictly decodes the body into v, returning the raw
// bytes too.
func readJSON(w http.ResponseWriter, r *http.Request, max int64, v any) ([]byte, error) {
	b, err := readBody(w, r, max)
	if err != nil {
		return nil, err
	}
	return b, httpx.DecodeBytes(b, v)
}

// rawObject writes a JSON object whose members are already encoded.
type rawObject struct{ b bytes.Buffer }

func (o *rawObject) str(name, v string) *rawObject {
	o.sep()
	o.b.WriteString(strconv.Quote(name))
	o.b.WriteByte(':')
	q, _ := json.Marshal(v)
	o.b.Write(q)
	return o
}

func (o *rawObject) num(name string, v uint64) *rawObject {
	o.sep()
	o.b.WriteString(strconv.Quote(name))
	o.b.WriteByte(':')
	o.b.WriteString(strconv.FormatUint(v, 10))
	return o
}

func (o *rawObject) boolean(name string, v bool) *rawObject {
	o.sep()
	o.b.WriteString(strconv.Quote(name))
	o.b.WriteString(":" + strconv.FormatBool(v))
	return o
}

func (o *rawObject) raw(name string, v []byte) *rawObject {
	o.sep()
	o.b.WriteString(strconv.Quote(name))
	o.b.WriteByte(':')
	o.b.Write(v)
	return o
}

func (o *rawObject) value(name string, v any) *rawObject {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte("null")
	}
	return o.raw(name, b)
}

func (o *rawObject) sep() {
	if o.b.Len() == 0 {
		o.b.WriteByte('{')
	} else {
		o.b.WriteByte(',')
	}
}

func (o *rawObject) bytes() []byte {
	if o.b.Len() == 0 {
		return []byte("{}")
	}
	o.b.WriteString("}\n")
	return o.b.Bytes()
}
