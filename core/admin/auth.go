package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// RequireToken lets through requests that carry one of tokens as
// "Authorization: Bearer TOKEN" (RFC 6750 §2.1) and answers the others
// 401 with a WWW-Authenticate challenge (RFC 6750 §3). Tokens are
// compared by their SHA-256 in constant time, every token every time, so
// the time taken says nothing about a token's length or prefix.
func RequireToken(tokens []string, h http.Handler) http.Handler {
	sums := make([][sha256.Size]byte, len(tokens))
	for i, t := range tokens {
		sums[i] = sha256.Sum256([]byte(t))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="meridian-admin"`)
			fail(w, http.StatusUnauthorized, "bearer token required")
			return
		}
		got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
		ok := 0
		for _, s := range sums {
			ok |= subtle.ConstantTimeCompare(got[:], s[:])
		}
		if ok != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="meridian-admin", error="invalid_token"`)
			fail(w, http.StatusUnauthorized, "invalid token")
			return
		}
		h.ServeHTTP(w, r)
	})
}
