package gateway_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"wasteledger/gateway"
)

// TestOpenAPIMatchesRoutes keeps the OpenAPI document true: every route the
// router serves (the gateway's and the driver API's, paper's …) is in the
// document with its method, its operationId and whether it needs
// credentials, and every operation of the document is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t, gateway.Config{})
	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			OperationID string            `json:"operationId"`
			Security    *[]map[string]any `json:"security"`
			Responses   map[string]any    `json:"responses"`
		} `json:"paths"`
	}
	r := e.must(200, "GET", "/api/v1/openapi.json", "", nil, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	if string(r.body) != string(gateway.OpenAPI()) {
		t.Fatal("served document differs from the embedded one")
	}

	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			k := strings.ToUpper(method) + " " + path
			documented[k] = true
			if op.OperationID == "" || len(op.Responses) == 0 {
				t.Errorf("%s: operationId %q, %d responses; want both", k, op.OperationID, len(op.Responses))
			}
		}
	}
	served := map[string]bool{}
	for _, rt := range e.srv.Routes() {
		k := rt.Method + " " + rt.Path
		served[k] = true
		op, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("route %s is not in openapi.json", k)
			continue
		}
		if op.OperationID != rt.Name {
			t.Errorf("%s: operationId %q, route name %q", k, op.OperationID, rt.Name)
		}
		public := op.Security != nil && len(*op.Security) == 0
		if public != rt.Public {
			t.Errorf("%s: document says public=%v, route says %v", k, public, rt.Public)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("openapi.json documents %s, which no route serves", k)
		}
	}
	// The router itself serves exactly the routes listed.
	var listed []string
	for k := range served {
		listed = append(listed, k)
	}
	sort.Strings(listed)
	if got := gateway.RegisteredRoutes(e.srv.Handler()); !slices.Equal(got, listed) {
		t.Errorf("router serves %d routes, the list has %d:\n got %v\nwant %v", len(got), len(listed), got, listed)
	}
	// Operation ids are unique.
	seen := map[string]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if prev, dup := seen[op.OperationID]; dup {
				t.Errorf("operationId %s used by %s and %s %s", op.OperationID, prev, method, path)
			}
			seen[op.OperationID] = method + " " + path
		}
	}
}
