package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/meridian-xmpp/meridian/core/admin"
)

// TestDocumentCopy: docs/admin-api.yaml is the embedded document, byte
// for byte (run go generate ./core/admin after editing openapi.yaml).
func TestDocumentCopy(t *testing.T) {
	docs, err := os.ReadFile("../../docs/admin-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, admin.Document) {
		t.Fatal("docs/admin-api.yaml differs from core/admin/openapi.yaml: run go generate ./core/admin")
	}
}

// TestDocumentMatchesRoutes: the document is valid OpenAPI 3 and lists
// exactly the routes the handler serves.
func TestDocumentMatchesRoutes(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(admin.Document)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid document: %v", err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	served := admin.Routes()
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Fatalf("document and routes differ:\ndocumented %v\nserved     %v", documented, served)
	}
}

// TestRequireToken: no token, a wrong scheme, a wrong token, a token's
// prefix and one with extra characters are refused with a challenge; every
// configured token passes.
func TestRequireToken(t *testing.T) {
	tokens := []string{"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"}
	h := admin.RequireToken(tokens, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, tc := range []struct {
		auth string
		code int
	}{
		{"", 401},
		{"Basic " + tokens[0], 401},
		{"Bearer", 401},
		{"Bearer ", 401},
		{"Bearer nope", 401},
		{"Bearer " + tokens[0][:20], 401},
		{"Bearer " + tokens[0] + "0", 401},
		{"Bearer " + tokens[0], 418},
		{"bearer " + tokens[1], 418},
	} {
		r := httptest.NewRequest("GET", "/v1/status", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.code {
			t.Errorf("%q: %d, want %d", tc.auth, w.Code, tc.code)
		}
		if tc.code == 401 {
			var e struct{ Error string }
			json.Unmarshal(w.Body.Bytes(), &e)
			if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") || e.Error == "" {
				t.Errorf("%q: challenge %q, body %q", tc.auth, w.Header().Get("WWW-Authenticate"), w.Body)
			}
		}
	}
}

// TestMuxErrors: paths and methods the API does not serve get JSON
// errors (404, 405 with Allow).
func TestMuxErrors(t *testing.T) {
	h := admin.Handler(nil, admin.Node{})
	for _, tc := range []struct {
		method, path string
		code         int
		allow        string
	}{
		{"GET", "/v1/nothing", 404, ""},
		{"POST", "/v1/status", 405, "GET, HEAD"},
		{"PATCH", "/v1/users", 405, "GET, HEAD, POST"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
		var e struct{ Error string }
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" || w.Code != tc.code || w.Header().Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d %q allow=%q", tc.method, tc.path, w.Code, w.Body, w.Header().Get("Allow"))
		}
	}
}
