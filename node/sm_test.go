package node_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

const nsSM = "urn:xmpp:sm:3"

// smClient is a test client that counts the stanzas it handled, as a
// stream-managed client does (XEP-0198 §4).
type smClient struct {
	*xmpptest.Conn
	h int // stanzas received since <enabled/> or <resumed/>
}

// next reads the next stanza, answering <r/> with nothing (the test acks
// explicitly) and counting stanzas.
func (c *smClient) next() *xmltok.Element {
	c.T.Helper()
	for {
		el := c.Next()
		if el.Space == nsSM {
			if el.Local == "r" {
				continue
			}
			c.T.Fatalf("unexpected %s", el)
		}
		c.h++
		return el
	}
}

// expectMessage reads until a message arrives, counting what passes.
func (c *smClient) expectMessage() *xmltok.Element {
	c.T.Helper()
	for i := 0; i < 20; i++ {
		if el := c.next(); el.Local == "message" {
			return el
		}
	}
	c.T.Fatal("no message")
	return nil
}

// connectAuthed dials, secures and authenticates, without binding.
func connectAuthed(t *testing.T, s *xmpptest.Server, user string) *xmpptest.Conn {
	t.Helper()
	c := xmpptest.Dial(t, s.C2S, "localhost")
	c.Open()
	c.StartTLS()
	f := c.AuthPlain(user, "pw")
	if f.Child(nsSM, "sm") == nil || f.Child("urn:xmpp:csi:0", "csi") == nil {
		t.Fatalf("features after auth lack sm or csi: %s", f)
	}
	return c
}

// smLogin binds and enables stream management; it returns the
// resumption id ("" when not resumable).
func smLogin(t *testing.T, s *xmpptest.Server, user, res string, resume bool) (*smClient, string) {
	t.Helper()
	c := connectAuthed(t, s, user)
	c.Bind(res)
	if resume {
		c.Send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	} else {
		c.Send("<enable xmlns='urn:xmpp:sm:3'/>")
	}
	el := c.Next()
	if el.Local != "enabled" || el.Space != nsSM {
		t.Fatalf("enable: %s", el)
	}
	if resume && (el.Attr("id") == "" || el.Attr("resume") != "true") {
		t.Fatalf("not resumable: %s", el)
	}
	if !resume && el.Attr("id") != "" {
		t.Fatalf("resumable without asking: %s", el)
	}
	return &smClient{Conn: c}, el.Attr("id")
}

// sync makes sure everything c sent before was routed: a ping round trip.
func pingSync(t *testing.T, c *xmpptest.Conn, id string) {
	t.Helper()
	rawIQ(t, c, id, "<iq to='localhost' type='get' id='"+id+"'><ping xmlns='urn:xmpp:ping'/></iq>")
}

func smConfig(t *testing.T, resume string) *xmpptest.Server {
	cfg := testConfig(t, "")
	d, err := time.ParseDuration(resume)
	if err != nil {
		t.Fatal(err)
	}
	cfg.C2S.ResumeTimeout.Duration = d
	s := xmpptest.Start(t, cfg)
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	return s
}

func TestSMAcknowledgements(t *testing.T) {
	s := smConfig(t, "5m")
	b, _ := smLogin(t, s, "bob", "b", false)
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	b.Send("<presence/>")
	if p := b.next(); p.Local != "presence" {
		t.Fatalf("own presence: %s", p)
	}
	for i := 0; i < 3; i++ {
		a.Send(fmt.Sprintf("<message to='bob@localhost/b' type='chat' id='m%d'><body>%d</body></message>", i, i))
	}
	// The server asks for an acknowledgement after sending.
	sawR := false
	got := 0
	for got < 3 {
		el := b.Next()
		switch {
		case el.Space == nsSM && el.Local == "r":
			sawR = true
		case el.Local == "message":
			got++
			b.h++
		default:
			t.Fatalf("unexpected %s", el)
		}
	}
	if !sawR {
		// The request may follow the last message.
		if el := b.Next(); el.Space != nsSM || el.Local != "r" {
			t.Fatalf("expected <r/>, got %s", el)
		}
	}
	b.Send("<a xmlns='urn:xmpp:sm:3' h='" + strconv.Itoa(b.h) + "'/>")
	// Our own count: bob sent one presence.
	b.Send("<r xmlns='urn:xmpp:sm:3'/>")
	if el := b.Next(); el.Local != "a" || el.Attr("h") != "1" {
		t.Fatalf("server h: %s", el)
	}
	b.Send("<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>")
	b.Send("<r xmlns='urn:xmpp:sm:3'/>")
	for {
		el := b.Next()
		if el.Local == "a" {
			if el.Attr("h") != "2" {
				t.Fatalf("server h after ping: %s", el)
			}
			break
		}
	}
}

// A recipient whose TCP connection is cut mid-flight resumes and receives
// every message: those it had not acknowledged and those that arrived
// while it was away, in order.
func TestSMResumeAfterCut(t *testing.T) {
	s := smConfig(t, "5m")
	b, id := smLogin(t, s, "bob", "phone", true)
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	b.Send("<presence/>")
	b.next() // own presence
	for i := 0; i < 5; i++ {
		a.Send(fmt.Sprintf("<message to='bob@localhost' type='chat' id='m%d'><body>%d</body></message>", i, i))
	}
	// bob handles two messages, acknowledges them, then the line drops
	// with three more in flight.
	for i := 0; i < 2; i++ {
		if m := b.expectMessage(); m.Attr("id") != fmt.Sprintf("m%d", i) {
			t.Fatalf("message %d: %s", i, m)
		}
	}
	b.Send("<a xmlns='urn:xmpp:sm:3' h='" + strconv.Itoa(b.h) + "'/>")
	handled := b.h
	pingSync(t, a, "s1")
	b.Net.Close()
	// While bob is away, more arrive; the session is still there, so
	// alice gets no error.
	time.Sleep(50 * time.Millisecond)
	for i := 5; i < 8; i++ {
		a.Send(fmt.Sprintf("<message to='bob@localhost' type='chat' id='m%d'><body>%d</body></message>", i, i))
	}
	pingSync(t, a, "s2")

	c := connectAuthed(t, s, "bob")
	c.Send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='" + strconv.Itoa(handled) + "'/>")
	el := c.Next()
	if el.Local != "resumed" || el.Attr("previd") != id || el.Attr("h") != "1" {
		t.Fatalf("resume: %s", el)
	}
	nb := &smClient{Conn: c, h: handled}
	for i := 2; i < 8; i++ {
		if m := nb.expectMessage(); m.Attr("id") != fmt.Sprintf("m%d", i) || m.Attr("from") != "alice@localhost/a" {
			t.Fatalf("after resume, message %d: %s", i, m)
		}
	}
	// The resumed session is the same full JID and keeps working.
	a.Send("<message to='bob@localhost/phone' type='chat' id='after'><body>x</body></message>")
	if m := nb.expectMessage(); m.Attr("id") != "after" {
		t.Fatalf("%s", m)
	}
	// The previous id is spent once resumed elsewhere? No: it stays valid
	// for the new stream until it ends cleanly.
	nb.Close()
	c2 := connectAuthed(t, s, "bob")
	c2.Send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>")
	if el := c2.Next(); el.Local != "failed" || el.Child("urn:ietf:params:xml:ns:xmpp-stanzas", "item-not-found") == nil {
		t.Fatalf("resume after clean close: %s", el)
	}
}

// An unresumed session's unacknowledged messages land in offline storage
// when the resumption window closes.
func TestSMUnresumedGoesOffline(t *testing.T) {
	s := smConfig(t, "300ms")
	b, _ := smLogin(t, s, "bob", "phone", true)
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	b.Send("<presence/>")
	b.next()
	for i := 0; i < 3; i++ {
		a.Send(fmt.Sprintf("<message to='bob@localhost' type='chat' id='m%d'><body>%d</body></message>", i, i))
	}
	b.expectMessage() // m0 read but never acknowledged
	pingSync(t, a, "s1")
	b.Net.Close()
	time.Sleep(50 * time.Millisecond)
	a.Send("<message to='bob@localhost' type='chat' id='m3'><body>3</body></message>")
	pingSync(t, a, "s2")
	// Wait out the resumption window; bob comes back with a new session.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if len(s.Core().Sessions(mustJID(t, "bob@localhost"))) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("detached session never expired")
		}
		time.Sleep(20 * time.Millisecond)
	}
	nb := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "laptop")
	nb.Send("<presence/>")
	for i := 0; i < 4; i++ {
		m := nb.Expect("message")
		if m.Attr("id") != fmt.Sprintf("m%d", i) || m.Child("urn:xmpp:delay", "delay") == nil {
			t.Fatalf("offline message %d: %s", i, m)
		}
	}
}

// Without resumption, a lost connection ends the session at once and what
// was not acknowledged goes offline.
func TestSMNoResumeGoesOffline(t *testing.T) {
	s := smConfig(t, "5m")
	b, _ := smLogin(t, s, "bob", "phone", false)
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	b.Send("<presence/>")
	b.next()
	a.Send("<message to='bob@localhost' type='chat' id='m0'><body>0</body></message>")
	b.expectMessage()
	b.Net.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.Core().Sessions(mustJID(t, "bob@localhost"))) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("session never ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	nb := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "laptop")
	nb.Send("<presence/>")
	if m := nb.Expect("message"); m.Attr("id") != "m0" {
		t.Fatalf("%s", m)
	}
}

// A client that resumes while the server still holds the old connection
// takes the session over; the old connection is closed.
func TestSMResumeTakesOverLiveConnection(t *testing.T) {
	s := smConfig(t, "5m")
	b, id := smLogin(t, s, "bob", "phone", true)
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	a.Send("<message to='bob@localhost/phone' type='chat' id='m0'><body>0</body></message>")
	b.expectMessage()
	c := connectAuthed(t, s, "bob")
	c.Send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>")
	if el := c.Next(); el.Local != "resumed" {
		t.Fatalf("%s", el)
	}
	if m := c.Expect("message"); m.Attr("id") != "m0" {
		t.Fatalf("unacked message not resent: %s", m)
	}
	b.ExpectClosed()
	a.Send("<message to='bob@localhost/phone' type='chat' id='m1'><body>1</body></message>")
	if m := c.Expect("message"); m.Attr("id") != "m1" {
		t.Fatalf("%s", m)
	}
}

func TestSMBadInput(t *testing.T) {
	s := smConfig(t, "5m")
	t.Run("acknowledging more than was sent", func(t *testing.T) {
		b, _ := smLogin(t, s, "bob", "x1", false)
		b.Send("<a xmlns='urn:xmpp:sm:3' h='5'/>")
		el := b.Next()
		if el.Local != "error" || el.Child("urn:ietf:params:xml:ns:xmpp-streams", "undefined-condition") == nil {
			t.Fatalf("%s", el)
		}
		tc := el.Child(nsSM, "handled-count-too-high")
		if tc == nil || tc.Attr("h") != "5" || tc.Attr("send-count") != "0" {
			t.Fatalf("%s", el)
		}
	})
	t.Run("h not a number", func(t *testing.T) {
		b, _ := smLogin(t, s, "bob", "x2", false)
		b.Send("<a xmlns='urn:xmpp:sm:3' h='many'/>")
		b.ExpectStreamError("bad-format")
	})
	t.Run("unknown previd", func(t *testing.T) {
		c := connectAuthed(t, s, "bob")
		c.Send("<resume xmlns='urn:xmpp:sm:3' previd='no-such-session' h='0'/>")
		if el := c.Next(); el.Local != "failed" || el.Child("urn:ietf:params:xml:ns:xmpp-stanzas", "item-not-found") == nil {
			t.Fatalf("%s", el)
		}
		// The stream goes on: the client binds instead.
		c.Bind("fresh")
	})
	t.Run("another user's session", func(t *testing.T) {
		_, id := smLogin(t, s, "bob", "x3", true)
		c := connectAuthed(t, s, "alice")
		c.Send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>")
		if el := c.Next(); el.Local != "failed" || el.Child("urn:ietf:params:xml:ns:xmpp-stanzas", "item-not-found") == nil {
			t.Fatalf("%s", el)
		}
	})
	t.Run("enable before bind", func(t *testing.T) {
		c := connectAuthed(t, s, "bob")
		c.Send("<enable xmlns='urn:xmpp:sm:3'/>")
		if el := c.Next(); el.Local != "failed" || el.Child("urn:ietf:params:xml:ns:xmpp-stanzas", "unexpected-request") == nil {
			t.Fatalf("%s", el)
		}
		c.Bind("late")
	})
	t.Run("enable twice", func(t *testing.T) {
		b, _ := smLogin(t, s, "bob", "x4", false)
		b.Send("<enable xmlns='urn:xmpp:sm:3'/>")
		if el := b.Next(); el.Local != "failed" {
			t.Fatalf("%s", el)
		}
	})
	t.Run("resume before authentication", func(t *testing.T) {
		c := xmpptest.Dial(t, s.C2S, "localhost")
		c.Open()
		c.StartTLS()
		c.Send("<resume xmlns='urn:xmpp:sm:3' previd='x' h='0'/>")
		c.ExpectStreamError("not-authorized")
	})
	t.Run("ack request without enable", func(t *testing.T) {
		c := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "x5")
		c.Send("<r xmlns='urn:xmpp:sm:3'/>")
		c.ExpectStreamError("unsupported-stanza-type")
	})
}

func TestCSIHoldsBackNonUrgent(t *testing.T) {
	s := smConfig(t, "5m")
	b := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "b")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	b.Send("<presence/>")
	b.Expect("presence")
	b.Send("<inactive xmlns='urn:xmpp:csi:0'/>")
	pingSync(t, b, "s0")
	a.Send("<presence to='bob@localhost/b'><status>one</status></presence>")
	a.Send("<presence to='bob@localhost/b'><status>two</status></presence>")
	a.Send("<message to='bob@localhost/b' type='chat' id='typing'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
	pingSync(t, a, "s1")
	// Nothing non-urgent reached bob: his next element is his own ping
	// reply, which is urgent (an IQ).
	b.Send("<iq to='localhost' type='get' id='s2'><ping xmlns='urn:xmpp:ping'/></iq>")
	var got []string
	for {
		el := b.Next()
		if el.Local == "iq" && el.Attr("id") == "s2" {
			break
		}
		got = append(got, el.Local+":"+el.Attr("id")+el.String())
	}
	// The IQ reply flushed what was held, in order, with only the newest
	// presence of alice.
	if len(got) != 2 || !strings.Contains(got[0], "two") || !strings.Contains(got[1], "composing") {
		t.Fatalf("held stanzas flushed as %q", got)
	}
	a.Send("<message to='bob@localhost/b' type='chat' id='typing2'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
	a.Send("<message to='bob@localhost/b' type='chat' id='real'><body>hi</body></message>")
	if m := b.Expect("message"); m.Attr("id") != "typing2" {
		t.Fatalf("%s", m)
	}
	if m := b.Expect("message"); m.Attr("id") != "real" {
		t.Fatalf("%s", m)
	}
	// Active again: chat states flow at once.
	b.Send("<active xmlns='urn:xmpp:csi:0'/>")
	pingSync(t, b, "s3")
	a.Send("<message to='bob@localhost/b' type='chat' id='typing3'><paused xmlns='http://jabber.org/protocol/chatstates'/></message>")
	if m := b.Expect("message"); m.Attr("id") != "typing3" {
		t.Fatalf("%s", m)
	}
}

// RFC 6120 §4.4: after its closing tag the server waits for the client's
// before it closes the connection, so the client is not cut off while it
// answers.
func TestServerWaitsForClientClose(t *testing.T) {
	s := smConfig(t, "5m")
	c := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "b")
	c.Send("<nonsense xmlns='urn:example'/>")
	el := c.Next()
	if el.Local != "error" {
		t.Fatalf("%s", el)
	}
	if _, err := c.TryNext(); err == nil {
		t.Fatal("expected the server's closing tag")
	}
	// The connection is still open for our answer.
	c.Net.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var b [1]byte
	if _, err := c.Net.Read(b[:]); err == nil {
		t.Fatal("unexpected data after the closing tag")
	} else if ne, ok := err.(interface{ Timeout() bool }); !ok || !ne.Timeout() {
		t.Fatalf("connection closed before the client's closing tag: %v", err)
	}
	c.Send("</stream:stream>")
	c.Net.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Net.Read(b[:]); err == nil {
		t.Fatal("connection not closed after the client's closing tag")
	}
}
