// Package xmpptest has test helpers that speak raw XMPP to a server: send
// bytes, expect elements (the nats-server sendProto/expectResult habit).
// It is for tests only and must not be imported by production code.
package xmpptest

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Conn is a raw client connection.
type Conn struct {
	T       testing.TB
	Net     net.Conn
	dec     *xmltok.Decoder
	Domain  string
	JID     string
	Timeout time.Duration
	opened  bool // the server's stream header has been read
}

// Dial connects to addr.
func Dial(t testing.TB, addr, domain string) *Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &Conn{T: t, Net: nc, dec: xmltok.NewDecoder(nc, xmltok.Limits{MaxStanzaSize: 1 << 20}), Domain: domain, Timeout: 10 * time.Second}
}

// DialTLS connects with direct TLS (XEP-0368).
func DialTLS(t testing.TB, addr, domain string) *Conn {
	t.Helper()
	nc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: domain, NextProtos: []string{"xmpp-client"}})
	if err != nil {
		t.Fatalf("dial tls %s: %v", addr, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &Conn{T: t, Net: nc, dec: xmltok.NewDecoder(nc, xmltok.Limits{MaxStanzaSize: 1 << 20}), Domain: domain, Timeout: 10 * time.Second}
}

// Send writes raw bytes.
func (c *Conn) Send(s string) {
	c.T.Helper()
	c.Net.SetWriteDeadline(time.Now().Add(c.Timeout))
	if _, err := c.Net.Write([]byte(s)); err != nil {
		c.T.Fatalf("send: %v", err)
	}
}

// SendIgnoringErrors writes bytes the server may refuse halfway (it
// closes the connection while they are still being sent).
func (c *Conn) SendIgnoringErrors(s string) {
	c.Net.SetWriteDeadline(time.Now().Add(c.Timeout))
	c.Net.Write([]byte(s))
}

// Open sends a stream header and reads the server's header and features.
func (c *Conn) Open() *xmltok.Element {
	c.T.Helper()
	c.Send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" + c.Domain + "' version='1.0'>")
	c.Net.SetReadDeadline(time.Now().Add(c.Timeout))
	if _, err := c.dec.ReadStart(); err != nil {
		c.T.Fatalf("read stream header: %v", err)
	}
	c.opened = true
	f := c.Next()
	if f.Local != "features" {
		c.T.Fatalf("expected features, got %s", f)
	}
	return f
}

// Next reads the next element.
func (c *Conn) Next() *xmltok.Element {
	c.T.Helper()
	el, err := c.TryNext()
	if err != nil {
		c.T.Fatalf("read: %v", err)
	}
	return el
}

// TryNext reads the next element or returns the error.
func (c *Conn) TryNext() (*xmltok.Element, error) {
	c.Net.SetReadDeadline(time.Now().Add(c.Timeout))
	raw, err := c.dec.Next()
	if err != nil {
		return nil, err
	}
	return xmltok.Parse(raw.Bytes, stanza.NSClient, c.dec.Prefixes())
}

// Expect reads elements until one with the local name arrives, failing
// after skipping more than 20.
func (c *Conn) Expect(local string) *xmltok.Element {
	c.T.Helper()
	for i := 0; i < 20; i++ {
		el := c.Next()
		if el.Local == local {
			return el
		}
	}
	c.T.Fatalf("no <%s/> arrived", local)
	return nil
}

// ExpectStreamError reads until a stream error and checks its condition,
// then checks that the server closes the stream.
func (c *Conn) ExpectStreamError(cond string) {
	c.T.Helper()
	if !c.opened {
		c.Net.SetReadDeadline(time.Now().Add(c.Timeout))
		if _, err := c.dec.ReadStart(); err != nil {
			c.T.Fatalf("expected stream error %s, got %v", cond, err)
		}
		c.opened = true
	}
	for i := 0; i < 20; i++ {
		el, err := c.TryNext()
		if err != nil {
			c.T.Fatalf("expected stream error %s, got %v", cond, err)
		}
		if el.Space == stanza.NSStream && el.Local == "error" {
			if el.Child(stanza.NSStreams, cond) == nil {
				c.T.Fatalf("expected stream error %s, got %s", cond, el)
			}
			c.ExpectClosed()
			return
		}
	}
	c.T.Fatalf("no stream error arrived")
}

// ExpectClosed checks that the stream ends and the connection closes.
func (c *Conn) ExpectClosed() {
	c.T.Helper()
	for i := 0; i < 5; i++ {
		_, err := c.TryNext()
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.T.Fatalf("connection still open")
		}
		if errors.Is(err, xmltok.ErrStreamEnd) {
			// Answer the server's closing tag with ours (RFC 6120 §4.4),
			// as a client does; the server then closes at once.
			c.Net.SetWriteDeadline(time.Now().Add(c.Timeout))
			c.Net.Write([]byte("</stream:stream>"))
		}
		break
	}
	c.Net.SetReadDeadline(time.Now().Add(c.Timeout))
	var b [1]byte
	if _, err := c.Net.Read(b[:]); err == nil {
		c.T.Fatalf("connection not closed")
	}
}

// StartTLS negotiates STARTTLS and reopens the stream.
func (c *Conn) StartTLS() *xmltok.Element {
	c.T.Helper()
	c.Send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	if el := c.Next(); el.Local != "proceed" {
		c.T.Fatalf("expected proceed, got %s", el)
	}
	c.opened = false
	tc := tls.Client(c.Net, &tls.Config{InsecureSkipVerify: true, ServerName: c.Domain})
	c.Net.SetDeadline(time.Now().Add(c.Timeout))
	if err := tc.Handshake(); err != nil {
		c.T.Fatalf("tls: %v", err)
	}
	c.Net = tc
	c.dec.Reset(tc)
	return c.Open()
}

// AuthPlain authenticates with SASL PLAIN and reopens the stream.
func (c *Conn) AuthPlain(user, pass string) *xmltok.Element {
	c.T.Helper()
	c.Send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)) + "</auth>")
	if el := c.Next(); el.Local != "success" {
		c.T.Fatalf("auth as %s failed: %s", user, el)
	}
	c.dec = xmltok.NewDecoder(c.Net, xmltok.Limits{MaxStanzaSize: 1 << 20})
	c.opened = false
	return c.Open()
}

// Bind binds a resource and returns the full JID.
func (c *Conn) Bind(res string) string {
	c.T.Helper()
	c.Send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" + res + "</resource></bind></iq>")
	el := c.Next()
	b := el.Child(stanza.NSBind, "bind")
	if el.Attr("type") != "result" || b == nil || b.Child(stanza.NSBind, "jid") == nil {
		c.T.Fatalf("bind failed: %s", el)
	}
	c.JID = b.Child(stanza.NSBind, "jid").Text
	return c.JID
}

// Register creates an account in-band (XEP-0077) on a secured stream.
func (c *Conn) Register(user, pass string) *xmltok.Element {
	c.T.Helper()
	c.Send(fmt.Sprintf("<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>%s</username><password>%s</password></query></iq>", user, pass))
	return c.Next()
}

// Login opens, secures, authenticates and binds; presence is not sent.
func Login(t testing.TB, addr, domain, user, pass, res string) *Conn {
	t.Helper()
	c := Dial(t, addr, domain)
	c.Open()
	c.StartTLS()
	c.AuthPlain(user, pass)
	c.Bind(res)
	return c
}

// Close ends the stream politely.
func (c *Conn) Close() {
	c.Send("</stream:stream>")
	c.Net.Close()
}

// Condition returns the stanza error condition inside an error stanza.
func Condition(el *xmltok.Element) string {
	e := el.Child("", "error")
	if e == nil {
		return ""
	}
	for _, ch := range e.Children {
		if ch.Space == stanza.NSStanzas && ch.Local != "text" {
			return ch.Local
		}
	}
	return ""
}

// HasText reports whether the element's serialisation contains s.
func HasText(el *xmltok.Element, s string) bool { return strings.Contains(el.String(), s) }

// LoginTLS is Login over direct TLS (XEP-0368).
func LoginTLS(t testing.TB, addr, domain, user, pass, res string) *Conn {
	t.Helper()
	c := DialTLS(t, addr, domain)
	c.Open()
	c.AuthPlain(user, pass)
	c.Bind(res)
	return c
}
