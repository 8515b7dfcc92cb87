// Package cors writes the answers of the Fetch standard's CORS protocol
// for the node's web endpoints (BOSH, the client REST API). Which origins
// are allowed is the node's policy (web.allowed_origins), decided by the
// caller before it grants anything.
package cors

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Grant lets the page of the request's Origin read the answer; expose
// names the response headers it may read besides the safe ones. A request
// without an Origin (not from a browser page) gets nothing.
func Grant(h http.Header, r *http.Request, expose ...string) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if len(expose) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(expose, ", "))
	}
}

// Preflight adds what the answer to a preflight (OPTIONS) carries when the
// request has an Origin: the methods and request headers allowed, which
// the browser may cache for maxAge.
func Preflight(h http.Header, r *http.Request, methods, headers string, maxAge time.Duration) {
	if r.Header.Get("Origin") == "" {
		return
	}
	h.Set("Access-Control-Allow-Methods", methods)
	h.Set("Access-Control-Allow-Headers", headers)
	h.Set("Access-Control-Max-Age", strconv.Itoa(int(maxAge/time.Second)))
}
