// Package stanza is the stanza model shared by edges and cores: a stanza is
// its bytes plus the header that routing reads (kind, to, from, type, id),
// with the element tree parsed only when a module looks inside. It also
// owns XMPP error values (stream and stanza errors) and their
// serialisation. It must not know about sessions or transports.
package stanza

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Namespaces used across the server.
const (
	NSClient  = "jabber:client"
	NSServer  = "jabber:server"
	NSStream  = "http://etherx.jabber.org/streams"
	NSStreams = "urn:ietf:params:xml:ns:xmpp-streams"
	NSStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"
	NSTLS     = "urn:ietf:params:xml:ns:xmpp-tls"
	NSSASL    = "urn:ietf:params:xml:ns:xmpp-sasl"
	NSBind    = "urn:ietf:params:xml:ns:xmpp-bind"
	NSSession = "urn:ietf:params:xml:ns:xmpp-session"
	NSSM      = "urn:xmpp:sm:3"      // stream management, XEP-0198
	NSCSI     = "urn:xmpp:csi:0"     // client state indication, XEP-0352
	NSDelay   = "urn:xmpp:delay"     // delayed delivery, XEP-0203
	NSForward = "urn:xmpp:forward:0" // stanza forwarding, XEP-0297
	NSData    = "jabber:x:data"      // data forms, XEP-0004
)

// Kind is the kind of a top-level element.
type Kind uint8

// Stanza kinds (RFC 6120 §8).
const (
	Other Kind = iota
	Message
	Presence
	IQ
)

func (k Kind) String() string {
	switch k {
	case Message:
		return "message"
	case Presence:
		return "presence"
	case IQ:
		return "iq"
	}
	return "other"
}

// KindOf maps a local name in the content namespace to a Kind.
func KindOf(local string) Kind {
	switch local {
	case "message":
		return Message
	case "presence":
		return Presence
	case "iq":
		return IQ
	}
	return Other
}

// Stanza is one routable stanza. Bytes is what goes on the wire in a
// jabber:client stream (no xmlns on the top element). A Stanza is
// immutable once handed to the router: code that changes one builds a new
// one.
type Stanza struct {
	Kind  Kind
	Bytes []byte
	To    jid.JID
	From  jid.JID
	Type  string
	ID    string
	// el is the parsed tree, set on first use. Atomic because a stanza
	// is shared once routed (a hook may read it while the router hands
	// it back from a closed session): two parses at once both succeed
	// and either result is kept.
	// (An unsafe.Pointer with the atomic functions rather than an
	// atomic.Pointer, which may not be copied: stanzas are copied by
	// value in places.)
	el unsafe.Pointer // *xmltok.Element
}

// Element returns the parsed element tree, parsing the bytes on first use.
// Callers must not modify it.
func (s *Stanza) Element() (*xmltok.Element, error) {
	if el := (*xmltok.Element)(atomic.LoadPointer(&s.el)); el != nil {
		return el, nil
	}
	el, err := xmltok.Parse(s.Bytes, NSClient, nil)
	if err != nil {
		return nil, err
	}
	if !atomic.CompareAndSwapPointer(&s.el, nil, unsafe.Pointer(el)) {
		return (*xmltok.Element)(atomic.LoadPointer(&s.el)), nil
	}
	return el, nil
}

// FromElement builds a stanza from an element tree (server-generated
// stanzas). The element's Space should be jabber:client.
func FromElement(el *xmltok.Element) *Stanza {
	s := &Stanza{Kind: KindOf(el.Local), Type: el.Attr("type"), ID: el.Attr("id")}
	s.el = unsafe.Pointer(el)
	s.To, _ = jid.Parse(el.Attr("to"))
	s.From, _ = jid.Parse(el.Attr("from"))
	s.Bytes = el.Append(make([]byte, 0, 256), NSClient)
	return s
}

// Payload returns the first child element of an IQ (its query), or nil.
func (s *Stanza) Payload() *xmltok.Element {
	el, err := s.Element()
	if err != nil || len(el.Children) == 0 {
		return nil
	}
	for _, c := range el.Children {
		if !(c.Local == "error" && c.Space == NSClient) {
			return c
		}
	}
	return nil
}

// IsError reports whether the stanza has type='error'.
func (s *Stanza) IsError() bool { return s.Type == "error" }

// WithTo returns a copy of s addressed to another JID (new bytes).
func (s *Stanza) WithTo(to jid.JID) *Stanza {
	el, err := s.Element()
	if err != nil {
		return s
	}
	c := el.Copy()
	c.SetAttr("to", to.String())
	return FromElement(c)
}

// Priority reads the <priority/> of a presence element (RFC 6121
// §4.7.2.3): -128..127, 0 when absent or invalid.
func Priority(presence *xmltok.Element) int {
	p := presence.Child(NSClient, "priority")
	if p == nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(p.Text))
	if err != nil || n < -128 || n > 127 {
		return 0
	}
	return n
}

// StampFormat is the XEP-0082 DateTime layout of delay stamps, in UTC with
// milliseconds.
const StampFormat = "2006-01-02T15:04:05.000Z"

// Delay returns a XEP-0203 <delay/> from an entity at a time.
func Delay(from string, at time.Time) *xmltok.Element {
	return xmltok.NewElement(NSDelay, "delay",
		xmltok.Attr{Name: "from", Value: from},
		xmltok.Attr{Name: "stamp", Value: at.UTC().Format(StampFormat)})
}
