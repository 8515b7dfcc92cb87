package cors

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestGrantAndPreflight(t *testing.T) {
	r := httptest.NewRequest("OPTIONS", "/x", nil)
	h := http.Header{}
	Grant(h, r, "Location")
	Preflight(h, r, "POST", "Content-Type", time.Minute)
	if len(h) != 0 {
		t.Fatalf("a request without Origin got %v", h)
	}
	r.Header.Set("Origin", "https://app.example.com")
	Grant(h, r, "WWW-Authenticate", "Location")
	Preflight(h, r, "GET, POST", "Content-Type", time.Minute)
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":   "https://app.example.com",
		"Vary":                          "Origin",
		"Access-Control-Expose-Headers": "WWW-Authenticate, Location",
		"Access-Control-Allow-Methods":  "GET, POST",
		"Access-Control-Allow-Headers":  "Content-Type",
		"Access-Control-Max-Age":        "60",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}
