package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// TestOpenAPIMatchesRoutes holds the OpenAPI document against the route
// table: every route is documented and every documented operation is a
// route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for key, raw := range item {
			if !slices.Contains(openAPIMethods, key) {
				continue
			}
			documented[strings.ToUpper(key)+" "+path] = true
			var o struct {
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &o); err != nil || len(o.Responses) == 0 {
				t.Errorf("%s %s: no responses documented", key, path)
			}
		}
	}
	routed := map[string]bool{}
	for _, rt := range (&server{}).routes() {
		// The admin pages and their files are for browsers, not clients
		// of the API.
		if isPage(rt) || rt.pattern == "/assets/{file...}" {
			continue
		}
		routed[rt.method+" "+openAPIPath(rt.pattern)] = true
	}
	for op := range routed {
		if !documented[op] {
			t.Errorf("route %s is not in openapi.json", op)
		}
	}
	for op := range documented {
		if !routed[op] {
			t.Errorf("openapi.json documents %s, which is not a route", op)
		}
	}
}

// openAPIPath writes a ServeMux pattern as an OpenAPI path: {name...}
// becomes {name} and a trailing {$} goes.
func openAPIPath(pattern string) string {
	pattern = strings.TrimSuffix(pattern, "{$}")
	return strings.ReplaceAll(pattern, "...}", "}")
}

// TestOpenAPIServed checks that the document is served without credentials.
func TestOpenAPIServed(t *testing.T) {
	e := &testEnv{t: t, srv: newServer(nil, nil)}
	res := e.do(request{method: "GET", path: "/api/v1/openapi.json"})
	if res.status != http.StatusOK || !json.Valid(res.body) {
		t.Fatalf("status %d, valid JSON %v", res.status, json.Valid(res.body))
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}
