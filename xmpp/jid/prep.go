package jid

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
)

const (
	// maxPart is the longest a prepared part may be (RFC 7622 §3.2, §3.3,
	// §3.4).
	maxPart = 1023
	// maxInput bounds a part before preparation, so a huge string is
	// rejected before any Unicode work. Preparation can shrink a part
	// (width mapping, NFC composition) but never by more than four bytes to
	// one, so nothing acceptable is turned away.
	maxInput = 4 * maxPart
)

// domainProfile maps and checks domainparts the way a lookup does (UTS #46
// non-transitional mapping, STD3 rules, hyphen and joiner checks, the Bidi
// rule), RFC 7622 §3.2. It is used with ToUnicode: the canonical form of a
// domainpart is U-labels (RFC 7622 §3.2.2), so an A-label and its U-label
// are the same JID.
var domainProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
)

// localOK marks the bytes an ASCII localpart may hold without any mapping:
// printable ASCII minus upper case (case mapping would change it) and minus
// the characters RFC 7622 §3.3.1 forbids.
var localOK = func() (t [256]bool) {
	for c := 0x21; c <= 0x7e; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = false
	}
	for _, c := range `"&'/:<>@` {
		t[c] = false
	}
	return t
}()

// prepLocal prepares a localpart (RFC 7622 §3.3).
func prepLocal(s string) (string, error) {
	if localFast(s) {
		return s, nil
	}
	return prepLocalSlow(s)
}

// localFast reports whether s is already a prepared localpart: the
// UsernameCaseMapped profile leaves such ASCII unchanged, so the routing
// hot path can skip it and keep a substring of its input.
func localFast(s string) bool {
	if s == "" || len(s) > maxPart {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !localOK[s[i]] {
			return false
		}
	}
	return true
}

func prepLocalSlow(s string) (string, error) {
	switch {
	case s == "":
		return "", partError(ErrLocalpart, "empty", nil)
	case len(s) > maxInput:
		return "", partError(ErrLocalpart, "too long", nil)
	case !utf8.ValidString(s):
		return "", partError(ErrLocalpart, "invalid UTF-8", nil)
	}
	p, err := precis.UsernameCaseMapped.String(s)
	if err != nil {
		return "", partError(ErrLocalpart, "not a valid username", err)
	}
	// Checked after preparation: width mapping turns U+FF20 into '@'.
	if strings.ContainsAny(p, `"&'/:<>@`) {
		return "", partError(ErrLocalpart, `contains one of "&'/:<>@`, nil)
	}
	return checkLen(ErrLocalpart, p)
}

// prepDomain prepares a domainpart (RFC 7622 §3.2).
func prepDomain(s string) (string, error) {
	// RFC 7622 §3.2: a trailing label separator is removed.
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return "", partError(ErrDomainpart, "empty", nil)
	}
	if s[0] == '[' {
		return prepIPv6(s)
	}
	if domainFast(s) {
		return s, nil
	}
	return prepDomainSlow(s)
}

// domainFast reports whether s is lower-case LDH labels that the IDNA
// mapping leaves as they are: no label is empty, starts or ends with a
// hyphen, or has hyphens in its third and fourth places (which covers the
// "xn--" of A-labels, whose canonical form is a U-label).
func domainFast(s string) bool {
	if len(s) > maxPart {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			c := s[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
			continue
		}
		l := s[start:i]
		n := len(l)
		if n == 0 || l[0] == '-' || l[n-1] == '-' || n >= 4 && l[2] == '-' && l[3] == '-' {
			return false
		}
		start = i + 1
	}
	return true
}

func prepDomainSlow(s string) (string, error) {
	switch {
	case len(s) > maxInput:
		return "", partError(ErrDomainpart, "too long", nil)
	case !utf8.ValidString(s):
		// idna would turn bad bytes into U+FFFD instead of failing.
		return "", partError(ErrDomainpart, "invalid UTF-8", nil)
	}
	if strings.HasSuffix(s, ".") {
		// prepDomain has removed one already.
		return "", partError(ErrDomainpart, "empty label", nil)
	}
	u, err := domainProfile.ToUnicode(s)
	if err != nil {
		return "", partError(ErrDomainpart, "not a valid domain name", err)
	}
	// The mapping may have produced the trailing separator (U+3002 → '.').
	u = strings.TrimSuffix(u, ".")
	if u == "" || u[0] == '.' || u[len(u)-1] == '.' || strings.Contains(u, "..") {
		return "", partError(ErrDomainpart, "empty label", nil)
	}
	// A JID must survive being serialised and parsed again (RFC 8264 §7
	// asks the same of PRECIS profiles); refuse the rare input whose
	// mapping is not idempotent rather than route on an unstable address.
	if v, err := domainProfile.ToUnicode(u); err != nil || v != u {
		return "", partError(ErrDomainpart, "unstable under preparation", err)
	}
	return checkLen(ErrDomainpart, u)
}

// prepIPv6 accepts an IPv6 literal in brackets (RFC 7622 §3.2, RFC 3986
// IP-literal) and returns it in canonical RFC 5952 text form.
func prepIPv6(s string) (string, error) {
	if len(s) < 2 || s[len(s)-1] != ']' || len(s) > 64 {
		return "", partError(ErrDomainpart, "bad IP literal", nil)
	}
	inner := s[1 : len(s)-1]
	a, err := netip.ParseAddr(inner)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return "", partError(ErrDomainpart, "bad IPv6 literal", err)
	}
	var buf [64]byte
	b := a.AppendTo(buf[:0])
	if string(b) == inner {
		return s, nil
	}
	return "[" + string(b) + "]", nil
}

// prepResource prepares a resourcepart (RFC 7622 §3.4).
func prepResource(s string) (string, error) {
	if resourceFast(s) {
		return s, nil
	}
	return prepResourceSlow(s)
}

// resourceFast reports whether s is printable ASCII (space included), which
// the OpaqueString profile leaves unchanged.
func resourceFast(s string) bool {
	if s == "" || len(s) > maxPart {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func prepResourceSlow(s string) (string, error) {
	switch {
	case s == "":
		return "", partError(ErrResourcepart, "empty", nil)
	case len(s) > maxInput:
		return "", partError(ErrResourcepart, "too long", nil)
	case !utf8.ValidString(s):
		return "", partError(ErrResourcepart, "invalid UTF-8", nil)
	}
	p, err := precis.OpaqueString.String(s)
	if err != nil {
		return "", partError(ErrResourcepart, "not a valid opaque string", err)
	}
	return checkLen(ErrResourcepart, p)
}

func checkLen(part error, s string) (string, error) {
	if len(s) > maxPart {
		return "", partError(part, "longer than 1023 bytes", nil)
	}
	return s, nil
}
