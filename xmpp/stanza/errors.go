package stanza

import (
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// StreamError is an RFC 6120 §4.9 stream error: it ends the stream.
type StreamError struct {
	Condition string // e.g. "not-well-formed", "host-unknown"
	Text      string // optional human-readable text
	// Extra is an application-specific condition element, serialised
	// as is (RFC 6120 §4.9.4), e.g. XEP-0198's <handled-count-too-high/>.
	Extra string
	// Host is the character data of the condition element; only
	// see-other-host carries one: the host[:port] to reconnect to (RFC
	// 6120 §4.9.3.19).
	Host string
}

func (e *StreamError) Error() string {
	if e.Text != "" {
		return "stream error: " + e.Condition + ": " + e.Text
	}
	return "stream error: " + e.Condition
}

// Stream error conditions (RFC 6120 §4.9.3).
const (
	BadFormat             = "bad-format"
	BadNamespacePrefix    = "bad-namespace-prefix"
	Conflict              = "conflict"
	ConnectionTimeout     = "connection-timeout"
	HostUnknown           = "host-unknown"
	ImproperAddressing    = "improper-addressing"
	InternalServerError   = "internal-server-error"
	InvalidFrom           = "invalid-from"
	InvalidNamespace      = "invalid-namespace"
	InvalidXML            = "invalid-xml"
	NotAuthorized         = "not-authorized"
	NotWellFormed         = "not-well-formed"
	PolicyViolation       = "policy-violation"
	ResourceConstraint    = "resource-constraint"
	RestrictedXML         = "restricted-xml"
	SeeOtherHost          = "see-other-host"
	SystemShutdown        = "system-shutdown"
	UndefinedCondition    = "undefined-condition"
	UnsupportedEncoding   = "unsupported-encoding"
	UnsupportedFeature    = "unsupported-feature"
	UnsupportedStanzaType = "unsupported-stanza-type"
	UnsupportedVersion    = "unsupported-version"
)

// Append serialises the error as it appears inside a stream whose prefix
// for the streams namespace is "stream".
func (e *StreamError) Append(buf []byte) []byte {
	buf = append(buf, "<stream:error><"...)
	buf = append(buf, e.Condition...)
	if e.Host != "" {
		buf = append(buf, " xmlns='"+NSStreams+"'>"...)
		buf = xmltok.EscapeText(buf, e.Host)
		buf = append(buf, "</"...)
		buf = append(buf, e.Condition...)
		buf = append(buf, '>')
	} else {
		buf = append(buf, " xmlns='"+NSStreams+"'/>"...)
	}
	if e.Text != "" {
		buf = append(buf, "<text xmlns='"+NSStreams+"'>"...)
		buf = xmltok.EscapeText(buf, e.Text)
		buf = append(buf, "</text>"...)
	}
	buf = append(buf, e.Extra...)
	return append(buf, "</stream:error>"...)
}

// Error is an RFC 6120 §8.3 stanza error.
type Error struct {
	Type      string // cancel, continue, modify, auth, wait
	Condition string
	Text      string
	// App is an optional application-specific condition (RFC 6120
	// §8.3.4), e.g. <blocked xmlns='urn:xmpp:blocking:errors'/>. It is
	// shared, not copied: it must not be changed once set.
	App *xmltok.Element
}

func (e *Error) Error() string {
	if e.Text != "" {
		return "stanza error: " + e.Condition + ": " + e.Text
	}
	return "stanza error: " + e.Condition
}

// Stanza error conditions (RFC 6120 §8.3.3) with their usual types.
var (
	ErrBadRequest            = &Error{Type: "modify", Condition: "bad-request"}
	ErrConflict              = &Error{Type: "cancel", Condition: "conflict"}
	ErrFeatureNotImplemented = &Error{Type: "cancel", Condition: "feature-not-implemented"}
	ErrForbidden             = &Error{Type: "auth", Condition: "forbidden"}
	ErrGone                  = &Error{Type: "cancel", Condition: "gone"}
	ErrInternalServerError   = &Error{Type: "cancel", Condition: "internal-server-error"}
	ErrItemNotFound          = &Error{Type: "cancel", Condition: "item-not-found"}
	ErrJIDMalformed          = &Error{Type: "modify", Condition: "jid-malformed"}
	ErrNotAcceptable         = &Error{Type: "modify", Condition: "not-acceptable"}
	ErrNotAllowed            = &Error{Type: "cancel", Condition: "not-allowed"}
	ErrNotAuthorized         = &Error{Type: "auth", Condition: "not-authorized"}
	ErrPolicyViolation       = &Error{Type: "modify", Condition: "policy-violation"}
	ErrRecipientUnavailable  = &Error{Type: "wait", Condition: "recipient-unavailable"}
	ErrRemoteServerNotFound  = &Error{Type: "cancel", Condition: "remote-server-not-found"}
	ErrRemoteServerTimeout   = &Error{Type: "wait", Condition: "remote-server-timeout"}
	ErrResourceConstraint    = &Error{Type: "wait", Condition: "resource-constraint"}
	ErrServiceUnavailable    = &Error{Type: "cancel", Condition: "service-unavailable"}
	ErrSubscriptionRequired  = &Error{Type: "auth", Condition: "subscription-required"}
	ErrUndefinedCondition    = &Error{Type: "cancel", Condition: "undefined-condition"}
	ErrUnexpectedRequest     = &Error{Type: "wait", Condition: "unexpected-request"}
)

// WithText returns a copy of e carrying a text.
func (e *Error) WithText(text string) *Error {
	c := *e
	c.Text = text
	return &c
}

// WithApp returns a copy of e carrying an application-specific condition.
func (e *Error) WithApp(app *xmltok.Element) *Error {
	c := *e
	c.App = app
	return &c
}

// Element returns the <error/> child.
func (e *Error) Element() *xmltok.Element {
	el := xmltok.NewElement(NSClient, "error", xmltok.Attr{Name: "type", Value: e.Type})
	el.Add(xmltok.NewElement(NSStanzas, e.Condition))
	if e.Text != "" {
		el.Add(xmltok.NewElement(NSStanzas, "text").SetText(e.Text))
	}
	if e.App != nil {
		el.Add(e.App.Copy())
	}
	return el
}

// ErrorReply builds the error response to s (RFC 6120 §8.3.1): the same
// element with to and from swapped, type='error', and the error child
// appended. from is the address the error comes from (usually s.To; the
// server's domain when s.To is empty).
func ErrorReply(s *Stanza, e *Error, from jid.JID) *Stanza {
	var el *xmltok.Element
	if parsed, err := s.Element(); err == nil {
		el = parsed.Copy()
		// An error to an IQ carries at most the request payload.
		if s.Kind == IQ && len(el.Children) > 1 {
			el.Children = el.Children[:1]
		}
		// Drop an error child the stanza already had.
		kept := el.Children[:0]
		for _, c := range el.Children {
			if !(c.Local == "error" && c.Space == NSClient) {
				kept = append(kept, c)
			}
		}
		el.Children = kept
	} else {
		el = xmltok.NewElement(NSClient, s.Kind.String())
		if s.ID != "" {
			el.SetAttr("id", s.ID)
		}
	}
	el.RemoveAttr("to")
	el.RemoveAttr("from")
	if !s.From.IsZero() {
		el.SetAttr("to", s.From.String())
	}
	if !from.IsZero() {
		el.SetAttr("from", from.String())
	}
	el.SetAttr("type", "error")
	el.Add(e.Element())
	return FromElement(el)
}

// Result builds an IQ result to s carrying payload (may be nil).
func Result(s *Stanza, payload *xmltok.Element, from jid.JID) *Stanza {
	el := xmltok.NewElement(NSClient, "iq", xmltok.Attr{Name: "type", Value: "result"})
	if s.ID != "" {
		el.SetAttr("id", s.ID)
	}
	if !from.IsZero() {
		el.SetAttr("from", from.String())
	}
	if !s.From.IsZero() {
		el.SetAttr("to", s.From.String())
	}
	if payload != nil {
		el.Add(payload)
	}
	return FromElement(el)
}

// ErrorOf returns the condition of an error stanza, or "".
func ErrorOf(s *Stanza) string {
	el, err := s.Element()
	if err != nil {
		return ""
	}
	e := el.Child(NSClient, "error")
	if e == nil {
		return ""
	}
	for _, c := range e.Children {
		if c.Space == NSStanzas && c.Local != "text" {
			return c.Local
		}
	}
	return ""
}
