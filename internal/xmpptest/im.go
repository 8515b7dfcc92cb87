package xmpptest

import (
	"strings"

	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Bare is the bare JID of the connection's account.
func (c *Conn) Bare() string { return strings.SplitN(c.JID, "/", 2)[0] }

// ExpectPresence reads until a presence from from of type typ ("" for
// available) arrives, within 30 elements.
func (c *Conn) ExpectPresence(from, typ string) *xmltok.Element {
	c.T.Helper()
	for range 30 {
		el := c.Next()
		if el.Local == "presence" && el.Attr("from") == from && el.Attr("type") == typ {
			return el
		}
	}
	c.T.Fatalf("%s: no presence type=%q from %s", c.JID, typ, from)
	return nil
}

// SubscribeBoth makes a and b subscribe to each other (RFC 6121 §3) and
// checks that each then sees the other's available presence; both must
// have sent initial presence.
func SubscribeBoth(a, b *Conn) {
	a.T.Helper()
	for _, p := range [][2]*Conn{{a, b}, {b, a}} {
		from, to := p[0], p[1]
		from.Send("<presence to='" + to.Bare() + "' type='subscribe'/>")
		to.ExpectPresence(from.Bare(), "subscribe")
		to.Send("<presence to='" + from.Bare() + "' type='subscribed'/>")
		from.ExpectPresence(to.JID, "")
	}
}

// EndedWith reads until the stream error that ends the stream, waits for
// the close, and names it: "see-other-host HOST:PORT" or
// "system-shutdown"; any other error, or none, fails the test.
func (c *Conn) EndedWith() string {
	c.T.Helper()
	for range 20 {
		el, err := c.TryNext()
		if err != nil {
			c.T.Fatalf("%s: no stream error: %v", c.JID, err)
		}
		if el.Space == stanza.NSStream && el.Local == "error" {
			if h := el.Child(stanza.NSStreams, stanza.SeeOtherHost); h != nil {
				c.ExpectClosed()
				return "see-other-host " + h.Text
			}
			if el.Child(stanza.NSStreams, stanza.SystemShutdown) != nil {
				c.ExpectClosed()
				return "system-shutdown"
			}
			c.T.Fatalf("%s: stream error %s", c.JID, el)
		}
	}
	c.T.Fatalf("%s: no stream error", c.JID)
	return ""
}
