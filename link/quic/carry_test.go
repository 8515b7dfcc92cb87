package quic

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/link/ca"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

func clientStanza(kind stanza.Kind, typ, id string, from, to jid.JID, b string) *stanza.Stanza {
	return &stanza.Stanza{Kind: kind, Type: typ, ID: id, From: from, To: to, Bytes: []byte(b)}
}

// TestCarryState: what a session's core knew from its client (its
// broadcast presence, a roster get, carbons enabled) is carried to the
// core it moves to, ahead of the replay; a directed presence and stanzas
// that were already handed on are not sent again, and the replies to the
// carrying IQs do not reach the client.
func TestCarryState(t *testing.T) {
	p := newPKI(t)
	core1, core2 := newFakeCore("core1"), newFakeCore("core2")
	core1.answerIQs, core2.answerIQs = true, true
	s1 := startServer(t, core1, p.node("core1", ca.IssueOptions{}, nil), "core1", nil)
	s2 := startServer(t, core2, p.node("core2", ca.IssueOptions{}, nil), "core2", nil)
	c := startClient(t, p.node("edge1", ca.IssueOptions{}, nil), []string{s1.addr, s2.addr}, func(o *ClientOptions) {
		o.IdleTimeout = time.Second
	})
	ctx := ctxT(t)
	k := newSink()
	sess, err := c.Open(ctx, link.OpenRequest{User: jid.MustParse("alice@localhost"), Resource: "r"}, k)
	if err != nil {
		t.Fatal(err)
	}
	self := sess.JID()
	bare, server, bob := self.Bare(), self.DomainJID(), jid.MustParse("bob@localhost")
	var none jid.JID
	presence := clientStanza(stanza.Presence, "", "", self, none, "<presence from='alice@localhost/r'><show>away</show></presence>")
	for _, st := range []*stanza.Stanza{
		clientStanza(stanza.Presence, "", "", self, none, "<presence from='alice@localhost/r'/>"),
		presence,
		clientStanza(stanza.Presence, "", "", self, jid.MustParse("room@muc.localhost/me"), "<presence from='alice@localhost/r' to='room@muc.localhost/me'/>"),
		clientStanza(stanza.IQ, "get", "r1", self, none, "<iq type='get' id='r1' from='alice@localhost/r'><query xmlns='jabber:iq:roster'/></iq>"),
		clientStanza(stanza.IQ, "set", "c1", self, none, "<iq type='set' id='c1' from='alice@localhost/r'><enable xmlns='urn:xmpp:carbons:2'/></iq>"),
		message(self, bob, "m1"),
	} {
		sess.Handle(st)
	}
	waitStanza(t, k, "r1")
	waitStanza(t, k, "c1")
	cs := sess.(*csession)
	waitFor(t, "core1 acknowledged everything", func() bool {
		cs.f.mu.Lock()
		defer cs.f.mu.Unlock()
		return len(cs.f.unacked) == 0
	})

	if c.Connected() != "core1" {
		t.Fatalf("connected to %q", c.Connected())
	}
	s1.srv.Close()
	waitFor(t, "session on core2", func() bool { return core2.session(self) != nil })
	// A ping after the move: its reply comes after those to the carrying
	// IQs (one stream, in order).
	sess.Handle(clientStanza(stanza.IQ, "get", "p2", self, server, "<iq type='get' id='p2' to='localhost' from='alice@localhost/r'><ping xmlns='urn:xmpp:ping'/></iq>"))
	waitStanza(t, k, "p2")

	h, _, _ := core2.session(self).snapshot()
	if len(h) != 4 {
		t.Fatalf("core2 handled %d stanzas, want presence, roster get, carbons enable, ping: %v", len(h), dump(h))
	}
	if !bytes.Equal(h[0].Bytes, presence.Bytes) {
		t.Fatalf("first on core2: %s, want the last broadcast presence", h[0].Bytes)
	}
	if h[1].Kind != stanza.IQ || h[1].Type != "get" || h[1].To != bare || h[1].From != self || !bytes.Contains(h[1].Bytes, []byte("jabber:iq:roster")) {
		t.Fatalf("second on core2: %+v %s, want a roster get", h[1], h[1].Bytes)
	}
	if h[2].Kind != stanza.IQ || h[2].Type != "set" || !bytes.Contains(h[2].Bytes, []byte("<enable xmlns='urn:xmpp:carbons:2'")) {
		t.Fatalf("third on core2: %+v %s, want a carbons enable", h[2], h[2].Bytes)
	}
	k.mu.Lock()
	for _, st := range k.got {
		if strings.HasPrefix(st.ID, "link-carry-") || st.ID == h[1].ID || st.ID == h[2].ID {
			t.Errorf("the client got the reply to a carrying IQ: %s", st.Bytes)
		}
	}
	k.mu.Unlock()
}

func dump(h []*stanza.Stanza) []string {
	var out []string
	for _, st := range h {
		out = append(out, st.ID+":"+string(st.Bytes))
	}
	return out
}

// TestCarriedNote: which client stanzas change what a reopen carries.
func TestCarriedNote(t *testing.T) {
	self := jid.MustParse("alice@localhost/r")
	var none jid.JID
	pres := func(typ string, to jid.JID) *stanza.Stanza {
		return clientStanza(stanza.Presence, typ, "", self, to, "<presence/>")
	}
	iq := func(typ string, to jid.JID, payload string) *stanza.Stanza {
		return clientStanza(stanza.IQ, typ, "x", self, to, "<iq type='"+typ+"' id='x'>"+payload+"</iq>")
	}
	var k carried
	k.note(pres("", jid.MustParse("room@muc.localhost/me")), self)
	if k.presence != nil {
		t.Fatal("a directed presence was taken as the session's")
	}
	avail := pres("", none)
	k.note(avail, self)
	k.note(pres("probe", none), self)
	if k.presence != avail {
		t.Fatal("available presence not kept")
	}
	k.note(pres("unavailable", none), self)
	if k.presence != nil {
		t.Fatal("unavailable presence did not clear it")
	}
	k.note(iq("set", none, "<query xmlns='jabber:iq:roster'><item jid='b@localhost'/></query>"), self)
	k.note(iq("get", jid.MustParse("bob@localhost"), "<query xmlns='jabber:iq:roster'/>"), self)
	k.note(iq("get", none, "<query xmlns='jabber:iq:version'/>"), self)
	if k.interested {
		t.Fatal("interested without a roster get of the own roster")
	}
	k.note(iq("get", self.Bare(), "<query xmlns='jabber:iq:roster'/>"), self)
	if !k.interested {
		t.Fatal("roster get not noted")
	}
	k.note(iq("set", self.DomainJID(), "<enable xmlns='urn:xmpp:carbons:2'/>"), self)
	if !k.carbons {
		t.Fatal("carbons enable not noted")
	}
	k.note(iq("set", none, "<disable xmlns='urn:xmpp:carbons:2'/>"), self)
	if k.carbons {
		t.Fatal("carbons disable not noted")
	}
	k.note(iq("set", none, "<enable xmlns='urn:xmpp:carbons:2'"), self) // malformed
	if k.carbons {
		t.Fatal("a malformed IQ changed the state")
	}
	k.presence, k.carbons = avail, true
	out, idl := k.stanzas(self)
	if len(out) != 3 || out[0] != avail || len(idl) != 2 || out[1].ID != idl[0] || out[2].ID != idl[1] || idl[0] == idl[1] {
		t.Fatalf("carrying stanzas: %v %v", dump(out), idl)
	}
}
