package core

import (
	"context"
	"testing"

	"github.com/meridian-xmpp/meridian/internal/linktest"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// TestAllSessionsAndKick: sessions are listed with their transport and
// address; a kicked session gets the stream error and is unbound at once.
func TestAllSessionsAndKick(t *testing.T) {
	c := newCore(t, "replace", 0)
	ka := &linktest.Sink{}
	if _, err := c.Open(context.Background(), link.OpenRequest{User: jid.MustParse("a@localhost"), Resource: "r", RemoteAddr: "192.0.2.1", Transport: "websocket"}, ka); err != nil {
		t.Fatal(err)
	}
	_, kb1, _ := open(t, c, "b@localhost", "1")
	_, kb2, _ := open(t, c, "b@localhost", "2")
	all := c.AllSessions()
	if len(all) != 3 || all[0].JID.String() != "a@localhost/r" || all[0].Transport != "websocket" || all[0].RemoteAddr != "192.0.2.1" || all[0].Since.IsZero() {
		t.Fatalf("%+v", all)
	}
	e := &stanza.StreamError{Condition: stanza.PolicyViolation}
	if !c.KickSession(jid.MustParse("a@localhost/r"), e) || ka.Closed() != e {
		t.Fatalf("kick: closed=%v", ka.Closed())
	}
	if c.KickSession(jid.MustParse("a@localhost/r"), e) || c.KickSession(jid.MustParse("a@localhost"), e) {
		t.Fatal("kicked a session that is not bound")
	}
	if n := c.KickUser(jid.MustParse("b@localhost"), e); n != 2 || kb1.Closed() != e || kb2.Closed() != e {
		t.Fatalf("kick user: %d", n)
	}
	if n := c.SessionCount(); n != 0 || len(c.AllSessions()) != 0 {
		t.Fatalf("%d sessions left", n)
	}
}

// TestHandleAs: a stanza from a bound resource goes through its session;
// without one HandleAs does nothing.
func TestHandleAs(t *testing.T) {
	c := newCore(t, "replace", 0)
	_, kb, _ := open(t, c, "b@localhost", "r")
	sa, _, _ := open(t, c, "a@localhost", "x")
	msg := func(from string) *stanza.Stanza {
		return stanza.FromElement(stanzaElement("message", "b@localhost/r", from, "chat"))
	}
	if c.HandleAs(msg("a@localhost/gone")) || c.HandleAs(msg("a@localhost")) {
		t.Fatal("handled without a bound session")
	}
	if !c.HandleAs(msg(sa.JID().String())) {
		t.Fatal("not handled")
	}
	if len(kb.Got()) != 1 || kb.Got()[0].From != sa.JID() {
		t.Fatalf("delivered: %v", kb.Got())
	}
}

// TestSendAsBare: an account's bare JID may send without a session.
func TestSendAsBare(t *testing.T) {
	c := newCore(t, "replace", 0)
	_, kb, _ := open(t, c, "b@localhost", "r")
	a := jid.MustParse("a@localhost")
	if err := c.SendAs(context.Background(), a, stanza.FromElement(stanzaElement("message", "b@localhost/r", a.String(), "chat"))); err != nil {
		t.Fatal(err)
	}
	if len(kb.Got()) != 1 || kb.Got()[0].From != a {
		t.Fatalf("delivered: %v", kb.Got())
	}
}

// TestRequestAnsweredThroughAnotherCore: the answer to a Request a core
// made for one of its users, forwarded by the core of the JID it asked,
// reaches the waiting Request.
func TestRequestAnsweredThroughAnotherCore(t *testing.T) {
	c := newCore(t, "replace", 0)
	_, kb, err := open(t, c, "b@localhost", "r")
	if err != nil {
		t.Fatal(err)
	}
	iq := stanza.FromElement(stanzaElement("iq", "b@localhost/r", "a@localhost", "get"))
	done := make(chan *stanza.Stanza, 1)
	go func() {
		res, _ := c.Request(context.Background(), iq)
		done <- res
	}()
	var asked *stanza.Stanza
	for asked == nil {
		for _, st := range kb.Got() {
			if st.Kind == stanza.IQ {
				asked = st
			}
		}
	}
	el := stanzaElement("iq", "a@localhost", "b@localhost/r", "result")
	el.SetAttr("id", asked.ID)
	c.RouteInbound(context.Background(), stanza.FromElement(el))
	if res := <-done; res == nil || res.ID != asked.ID || res.Type != "result" {
		t.Fatalf("Request got %v", res)
	}
}
