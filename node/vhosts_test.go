package node_test

import (
	"testing"

	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// TestVirtualHosts: two domains on one node, registration on one only,
// messages between them.
func TestVirtualHosts(t *testing.T) {
	cfg := xmpptest.Config(t)
	cfg.VHosts = []config.VHost{{Domain: "localhost", Registration: true}, {Domain: "example.test"}}
	s := xmpptest.Start(t, cfg)

	c := xmpptest.Dial(t, s.C2S, "example.test")
	c.Open()
	f := c.StartTLS()
	if f.Child("http://jabber.org/features/iq-register", "register") != nil {
		t.Fatalf("registration offered on a host without it: %s", f)
	}
	if r := c.Register("eve", "pw"); xmpptest.Condition(r) != "not-allowed" {
		t.Fatalf("registration on example.test: %s", r)
	}
	c = xmpptest.Dial(t, s.C2S, "localhost")
	c.Open()
	if f := c.StartTLS(); f.Child("http://jabber.org/features/iq-register", "register") == nil {
		t.Fatalf("registration not offered on localhost: %s", f)
	}
	if r := c.Register("alice", "pw"); r.Attr("type") != "result" {
		t.Fatalf("registration on localhost: %s", r)
	}
	if err := s.Core().CreateUser(t.Context(), mustJID(t, "dave@example.test"), "pw"); err != nil {
		t.Fatal(err)
	}
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	d := xmpptest.Login(t, s.C2S, "example.test", "dave", "pw", "d")
	if d.JID != "dave@example.test/d" {
		t.Fatalf("bound %s", d.JID)
	}
	d.Send("<presence/>")
	d.Expect("presence")
	a.Send("<message to='dave@example.test' type='chat'><body>across hosts</body></message>")
	if m := d.Expect("message"); m.Attr("from") != "alice@localhost/a" {
		t.Fatalf("%s", m)
	}
	// An account of one host cannot log in on the other.
	x := xmpptest.Dial(t, s.C2S, "example.test")
	x.Open()
	x.StartTLS()
	x.Send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHB3</auth>")
	if el := x.Next(); el.Child(stanza.NSSASL, "not-authorized") == nil {
		t.Fatalf("alice on example.test: %s", el)
	}
}

// TestInBandAccountManagement: password change and account removal
// (XEP-0077 §3.2, §3.3) over the stream.
func TestInBandAccountManagement(t *testing.T) {
	s := xmpptest.Start(t, nil)
	s.AddUser(t, "alice", "old")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "old", "a")
	a.Send("<iq type='set' id='pw' to='localhost'><query xmlns='jabber:iq:register'><username>alice</username><password>new</password></query></iq>")
	if r := a.Expect("iq"); r.Attr("type") != "result" {
		t.Fatalf("password change: %s", r)
	}
	a2 := xmpptest.Login(t, s.C2S, "localhost", "alice", "new", "a2")
	a2.Send("<iq type='set' id='rm' to='localhost'><query xmlns='jabber:iq:register'><remove/></query></iq>")
	if r := a2.Expect("iq"); r.Attr("type") != "result" || r.Attr("id") != "rm" {
		t.Fatalf("remove: %s", r)
	}
	a2.ExpectStreamError(stanza.NotAuthorized)
	a.ExpectStreamError(stanza.NotAuthorized)
	c := xmpptest.Dial(t, s.C2S, "localhost")
	c.Open()
	c.StartTLS()
	c.Send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAG5ldw==</auth>")
	if el := c.Next(); el.Child(stanza.NSSASL, "not-authorized") == nil {
		t.Fatalf("login after removal: %s", el)
	}
}

// TestModuleSwitchedOff: a disabled module is gone from disco and its
// requests get service-unavailable, while the others stay.
func TestModuleSwitchedOff(t *testing.T) {
	for _, m := range []struct{ name, feature, probe string }{
		{"version", "jabber:iq:version", "<iq to='localhost' type='get' id='p'><query xmlns='jabber:iq:version'/></iq>"},
		{"carbons", "urn:xmpp:carbons:2", "<iq type='set' id='p'><enable xmlns='urn:xmpp:carbons:2'/></iq>"},
		{"time", "urn:xmpp:time", "<iq to='localhost' type='get' id='p'><time xmlns='urn:xmpp:time'/></iq>"},
		{"last", "jabber:iq:last", "<iq to='localhost' type='get' id='p'><query xmlns='jabber:iq:last'/></iq>"},
	} {
		t.Run(m.name, func(t *testing.T) {
			cfg := testConfig(t, "[modules."+m.name+"]\nenabled = false\n")
			s := xmpptest.Start(t, cfg)
			s.AddUser(t, "alice", "pw")
			a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
			a.Send("<iq to='localhost' type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
			info := a.Expect("iq")
			if xmpptest.HasText(info, "'"+m.feature+"'") || !xmpptest.HasText(info, "urn:xmpp:ping") {
				t.Fatalf("disco: %s", info)
			}
			a.Send(m.probe)
			if r := a.Expect("iq"); xmpptest.Condition(r) != "service-unavailable" {
				t.Fatalf("%s: %s", m.name, r)
			}
		})
	}
	// With everything on, the same features are there.
	s := xmpptest.Start(t, testConfig(t, ""))
	s.AddUser(t, "alice", "pw")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	a.Send("<iq to='localhost' type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	info := a.Expect("iq")
	for _, f := range []string{"jabber:iq:version", "urn:xmpp:carbons:2", "urn:xmpp:time", "jabber:iq:last"} {
		if !xmpptest.HasText(info, "'"+f+"'") {
			t.Errorf("disco lacks %s: %s", f, info)
		}
	}
}
