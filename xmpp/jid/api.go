// Package jid parses, prepares and compares XMPP addresses (RFC 7622). It
// owns PRECIS preparation of localparts and resourceparts and domain
// normalisation, and nothing else.
package jid

// JID is a prepared XMPP address. The zero value is the empty JID. JIDs are
// comparable with ==.
type JID struct {
	local, domain, resource string
}

// Local returns the localpart.
func (j JID) Local() string { return j.local }

// Domain returns the domainpart.
func (j JID) Domain() string { return j.domain }

// Resource returns the resourcepart.
func (j JID) Resource() string { return j.resource }

// IsZero reports whether j is the empty JID.
func (j JID) IsZero() bool { return j.domain == "" }

// IsBare reports whether j has no resource.
func (j JID) IsBare() bool { return j.resource == "" }

// Bare returns j without its resource.
func (j JID) Bare() JID { return JID{local: j.local, domain: j.domain} }

// DomainJID returns the JID of j's domain alone.
func (j JID) DomainJID() JID { return JID{domain: j.domain} }
