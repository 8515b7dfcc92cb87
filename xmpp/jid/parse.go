package jid

import "strings"

// Parse splits s into its parts (RFC 7622 §3.1) and prepares each one. An
// input that is already prepared ASCII costs no allocation: the JID then
// holds substrings of s.
func Parse(s string) (JID, error) {
	rest := s
	var local, resource string
	hasLocal, hasResource := false, false
	// RFC 7622 §3.1: the first '/' starts the resourcepart, which may
	// itself contain '/' and '@'; then the first '@' ends the localpart.
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest, resource, hasResource = rest[:i], rest[i+1:], true
	}
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		local, rest, hasLocal = rest[:i], rest[i+1:], true
	}
	return build(local, hasLocal, rest, resource, hasResource)
}

// New prepares the three parts of a JID. An empty local or resource means
// the JID has none; the domain is required.
func New(local, domain, resource string) (JID, error) {
	return build(local, local != "", domain, resource, resource != "")
}

// MustParse is Parse for addresses known to be valid, such as constants in
// tests and configuration defaults; it panics on error.
func MustParse(s string) JID {
	j, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return j
}

func build(local string, hasLocal bool, domain, resource string, hasResource bool) (JID, error) {
	var j JID
	var err error
	if hasLocal {
		if j.local, err = prepLocal(local); err != nil {
			return JID{}, err
		}
	}
	if j.domain, err = prepDomain(domain); err != nil {
		return JID{}, err
	}
	if hasResource {
		if j.resource, err = prepResource(resource); err != nil {
			return JID{}, err
		}
	}
	return j, nil
}

// WithResource returns the full JID of j's bare JID with resource r. An
// empty r returns the bare JID.
func (j JID) WithResource(r string) (JID, error) {
	if j.IsZero() {
		return JID{}, partError(ErrDomainpart, "empty", nil)
	}
	if r == "" {
		return j.Bare(), nil
	}
	p, err := prepResource(r)
	if err != nil {
		return JID{}, err
	}
	return JID{local: j.local, domain: j.domain, resource: p}, nil
}

// Equal reports whether j and o are the same address. Both are prepared,
// so this is a byte comparison of the parts (RFC 7622 §3.5).
func (j JID) Equal(o JID) bool { return j == o }

// String returns the JID in its textual form, local@domain/resource. A
// domain-only JID is returned without allocating.
func (j JID) String() string {
	if j.local == "" && j.resource == "" {
		return j.domain
	}
	n := len(j.domain)
	if j.local != "" {
		n += len(j.local) + 1
	}
	if j.resource != "" {
		n += len(j.resource) + 1
	}
	var b strings.Builder
	b.Grow(n)
	if j.local != "" {
		b.WriteString(j.local)
		b.WriteByte('@')
	}
	b.WriteString(j.domain)
	if j.resource != "" {
		b.WriteByte('/')
		b.WriteString(j.resource)
	}
	return b.String()
}
