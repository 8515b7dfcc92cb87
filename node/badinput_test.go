package node_test

import (
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// witness is a logged-in session that must keep working while other
// clients misbehave.
func witness(t *testing.T, s *xmpptest.Server) *xmpptest.Conn {
	s.AddUser(t, "witness", "pw")
	w := xmpptest.Login(t, s.C2S, "localhost", "witness", "pw", "w")
	return w
}

func stillServes(t *testing.T, w *xmpptest.Conn) {
	t.Helper()
	w.Send("<iq type='get' id='alive' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
	if el := w.Expect("iq"); el.Attr("type") != "result" || el.Attr("id") != "alive" {
		t.Fatalf("witness ping: %s", el)
	}
}

// TestBadInput sends each kind of bad input on a fresh authenticated
// stream and checks the stream error, the closed connection and that the
// server carries on.
func TestBadInput(t *testing.T) {
	s := xmpptest.Start(t, nil)
	w := witness(t, s)
	s.AddUser(t, "mallory", "pw")
	big := "<message to='witness@localhost'><body>" + strings.Repeat("A", 10<<20) + "</body></message>"
	deep := strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000)
	cases := []struct {
		name, send, cond string
	}{
		{"malformed XML", "<message><body>x</bod></message>", stanza.NotWellFormed},
		{"unclosed attribute", "<message to='a@localhost><body/></message>", stanza.NotWellFormed},
		{"DTD", "<!DOCTYPE lolz [<!ENTITY lol 'lol'>]>", stanza.RestrictedXML},
		{"billion laughs", "<message><body>&lol9;</body></message>", stanza.RestrictedXML},
		{"comment", "<!-- hello -->", stanza.RestrictedXML},
		{"processing instruction", "<?php evil() ?>", stanza.RestrictedXML},
		{"10 MB stanza", big, stanza.PolicyViolation},
		{"10000-deep nesting", "<message>" + deep + "</message>", stanza.PolicyViolation},
		{"forged from", "<message from='witness@localhost/w' to='witness@localhost'><body>x</body></message>", stanza.InvalidFrom},
		{"invalid from", "<message from='@@@' to='witness@localhost'/>", stanza.InvalidFrom},
		{"unknown top-level element", "<foo xmlns='jabber:client'/>", stanza.UnsupportedStanzaType},
		{"invalid UTF-8", "<message><body>\xff\xfe</body></message>", stanza.NotWellFormed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := xmpptest.Login(t, s.C2S, "localhost", "mallory", "pw", "m")
			c.SendIgnoringErrors(tc.send)
			c.ExpectStreamError(tc.cond)
			stillServes(t, w)
		})
	}
}

// TestInvalidJIDs: an invalid to is a stanza error (RFC 6120 §8.3.3.8)
// and the stream stays up; invalid stream to is host-unknown.
func TestInvalidJIDs(t *testing.T) {
	s := xmpptest.Start(t, nil)
	w := witness(t, s)
	for _, to := range []string{"@localhost", "a@b@c", "user@" + strings.Repeat("x", 1100), "a@localhost/" + strings.Repeat("r", 1100), "user@exa mple.com"} {
		w.Send("<message to='" + to + "' id='bad'><body>x</body></message>")
		el := w.Expect("message")
		if el.Attr("type") != "error" || xmpptest.Condition(el) != "jid-malformed" {
			t.Fatalf("to=%q: %s", to[:min(len(to), 30)], el)
		}
	}
	stillServes(t, w)

	c := xmpptest.Dial(t, s.C2S, "nonexistent.example")
	c.Send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='nonexistent.example' version='1.0'>")
	c.ExpectStreamError(stanza.HostUnknown)
	stillServes(t, w)
}

func TestBadStreamHeaders(t *testing.T) {
	s := xmpptest.Start(t, nil)
	w := witness(t, s)
	cases := []struct{ name, header, cond string }{
		{"wrong stream namespace", "<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong' to='localhost' version='1.0'>", stanza.InvalidNamespace},
		{"wrong content namespace", "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>", stanza.InvalidNamespace},
		{"old version", "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='0.9'>", stanza.UnsupportedVersion},
		{"garbage", "GET / HTTP/1.1\r\n\r\n", stanza.NotWellFormed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := xmpptest.Dial(t, s.C2S, "localhost")
			c.Send(tc.header)
			c.ExpectStreamError(tc.cond)
			stillServes(t, w)
		})
	}
}

func TestSASLGarbage(t *testing.T) {
	s := xmpptest.Start(t, nil)
	w := witness(t, s)
	tries := []struct{ send, failure string }{
		{"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>!!!not base64!!!</auth>", "incorrect-encoding"},
		{"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-UNKNOWN'>AA==</auth>", "invalid-mechanism"},
		{"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>Z2FyYmFnZQ==</auth>", "malformed-request"},
	}
	c := xmpptest.Dial(t, s.C2S, "localhost")
	c.Open()
	c.StartTLS()
	for i, tr := range tries {
		c.Send(tr.send)
		el := c.Next()
		if el.Local != "failure" || el.Child(stanza.NSSASL, tr.failure) == nil {
			t.Fatalf("try %d: want <%s/>, got %s", i, tr.failure, el)
		}
	}
	// The third failure ends the stream (RFC 6120 §6.4.5).
	c.ExpectStreamError(stanza.PolicyViolation)

	// Wrong password.
	s.AddUser(t, "carol", "right")
	c = xmpptest.Dial(t, s.C2S, "localhost")
	c.Open()
	c.StartTLS()
	c.Send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGNhcm9sAHdyb25n</auth>")
	if el := c.Next(); el.Child(stanza.NSSASL, "not-authorized") == nil {
		t.Fatalf("wrong password: %s", el)
	}
	// Stanzas before authentication.
	c.Send("<message to='witness@localhost'><body>spam</body></message>")
	c.ExpectStreamError(stanza.NotAuthorized)
	stillServes(t, w)
}

func TestStartTLSRequired(t *testing.T) {
	s := xmpptest.Start(t, nil)
	c := xmpptest.Dial(t, s.C2S, "localhost")
	f := c.Open()
	if f.Child(stanza.NSTLS, "starttls") == nil || f.Child(stanza.NSTLS, "starttls").Child("", "required") == nil {
		t.Fatalf("features: %s", f)
	}
	if f.Child(stanza.NSSASL, "mechanisms") != nil {
		t.Fatalf("mechanisms offered before TLS: %s", f)
	}
	c.Send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>")
	if el := c.Next(); el.Child(stanza.NSSASL, "encryption-required") == nil {
		t.Fatalf("auth before TLS: %s", el)
	}
}

// TestSlowClient: a client sending one byte a second never completes a
// stanza and is cut off by the idle timeout; before authentication the
// handshake timeout does the same.
func TestSlowClient(t *testing.T) {
	cfg := xmpptest.Config(t)
	cfg.C2S.HandshakeTimeout = config.Duration{Duration: 2 * time.Second}
	cfg.C2S.IdleTimeout = config.Duration{Duration: 2 * time.Second}
	s := xmpptest.Start(t, cfg)
	w := witness(t, s)
	s.AddUser(t, "slow", "pw")
	// The witness keeps its own stream alive with whitespace (RFC 6120
	// §4.6.1) while the slow clients are cut off.
	stopKeepalive := make(chan struct{})
	keepaliveDone := make(chan struct{})
	go func() {
		defer close(keepaliveDone)
		for {
			select {
			case <-stopKeepalive:
				return
			case <-time.After(500 * time.Millisecond):
				w.Net.Write([]byte(" "))
			}
		}
	}()

	trickle := func(c *xmpptest.Conn, data string) {
		go func() {
			for i := 0; i < len(data); i++ {
				if _, err := c.Net.Write([]byte{data[i]}); err != nil {
					return
				}
				time.Sleep(time.Second)
			}
		}()
	}
	// Before authentication.
	c := xmpptest.Dial(t, s.C2S, "localhost")
	trickle(c, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>")
	c.ExpectStreamError(stanza.ConnectionTimeout)
	// After: one stanza trickled byte by byte.
	c = xmpptest.Login(t, s.C2S, "localhost", "slow", "pw", "s")
	trickle(c, "<message to='witness@localhost'><body>"+strings.Repeat("x", 100)+"</body></message>")
	c.ExpectStreamError(stanza.ConnectionTimeout)
	close(stopKeepalive)
	<-keepaliveDone
	stillServes(t, w)
}

// TestWhitespaceKeepalive: a bound stream that receives nothing gets a
// whitespace keepalive after keepalive_interval (RFC 6120 §4.6.1).
func TestWhitespaceKeepalive(t *testing.T) {
	cfg := xmpptest.Config(t)
	cfg.C2S.KeepaliveInterval = config.Duration{Duration: 300 * time.Millisecond}
	s := xmpptest.Start(t, cfg)
	s.AddUser(t, "idle", "pw")
	c := xmpptest.Login(t, s.C2S, "localhost", "idle", "pw", "i")
	c.Net.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 16)
	n, err := c.Net.Read(buf)
	if err != nil || strings.TrimSpace(string(buf[:n])) != "" || n == 0 {
		t.Fatalf("read %q, %v; want whitespace", buf[:n], err)
	}
}
