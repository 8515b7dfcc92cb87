package node_test

import (
	"testing"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

const nsCarbons = "urn:xmpp:carbons:2"

func enableCarbons(t *testing.T, c *xmpptest.Conn) {
	t.Helper()
	c.Send("<iq type='set' id='cb'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
	if r := c.Expect("iq"); r.Attr("id") != "cb" || r.Attr("type") != "result" {
		t.Fatalf("enable carbons: %s", r)
	}
}

// forwarded returns the message inside a carbon copy of the given kind.
func forwarded(t *testing.T, el *xmltok.Element, kind string) *xmltok.Element {
	t.Helper()
	w := el.Child(nsCarbons, kind)
	if w == nil {
		t.Fatalf("not a %s carbon: %s", kind, el)
	}
	f := w.Child("urn:xmpp:forward:0", "forwarded")
	if f == nil {
		t.Fatalf("no forwarded: %s", el)
	}
	m := f.Child("jabber:client", "message")
	if m == nil {
		t.Fatalf("no jabber:client message inside: %s", el)
	}
	return m
}

func TestCarbons(t *testing.T) {
	s := smConfig(t, "5m")
	phone := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "phone")
	laptop := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "laptop")
	old := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "old") // never enables
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	for _, c := range []*xmpptest.Conn{phone, laptop, old, a} {
		c.Send("<presence/>")
	}
	enableCarbons(t, phone)
	enableCarbons(t, laptop)
	pingSync(t, phone, "p0")
	pingSync(t, laptop, "l0")
	pingSync(t, old, "o0")

	// Received: alice writes to bob's phone; the laptop gets a copy.
	a.Send("<message to='bob@localhost/phone' type='chat' id='r1'><body>hi phone</body></message>")
	if m := phone.Expect("message"); m.Attr("id") != "r1" {
		t.Fatalf("%s", m)
	}
	c := laptop.Expect("message")
	if c.Attr("from") != "bob@localhost" || c.Attr("to") != "bob@localhost/laptop" {
		t.Fatalf("carbon addressing: %s", c)
	}
	if m := forwarded(t, c, "received"); m.Attr("id") != "r1" || m.Attr("from") != "alice@localhost/a" {
		t.Fatalf("received carbon: %s", c)
	}

	// Sent: the laptop writes to alice; the phone gets a copy, the
	// sender does not.
	laptop.Send("<message to='alice@localhost' type='chat' id='s1'><body>from laptop</body></message>")
	if m := a.Expect("message"); m.Attr("id") != "s1" {
		t.Fatalf("%s", m)
	}
	if m := forwarded(t, phone.Expect("message"), "sent"); m.Attr("id") != "s1" || m.Attr("from") != "bob@localhost/laptop" || m.Attr("to") != "alice@localhost" {
		t.Fatalf("sent carbon: %s", m)
	}

	// Private and no-copy messages are not copied; neither are headlines.
	a.Send("<message to='bob@localhost/phone' type='chat' id='p1'><body>secret</body><private xmlns='urn:xmpp:carbons:2'/></message>")
	a.Send("<message to='bob@localhost/phone' type='chat' id='p2'><body>secret</body><no-copy xmlns='urn:xmpp:hints'/></message>")
	a.Send("<message to='bob@localhost/phone' type='headline' id='p3'><body>news</body></message>")
	for _, id := range []string{"p1", "p2", "p3"} {
		if m := phone.Expect("message"); m.Attr("id") != id {
			t.Fatalf("%s", m)
		}
	}
	// After disabling, the laptop gets nothing more.
	laptop.Send("<iq type='set' id='off'><disable xmlns='urn:xmpp:carbons:2'/></iq>")
	if r := laptop.Expect("iq"); r.Attr("type") != "result" {
		t.Fatalf("%s", r)
	}
	a.Send("<message to='bob@localhost/phone' type='chat' id='r2'><body>again</body></message>")
	phone.Expect("message")
	pingSync(t, a, "a1")
	for _, c := range []*xmpptest.Conn{laptop, old} {
		c.Send("<iq to='localhost' type='get' id='end'><ping xmlns='urn:xmpp:ping'/></iq>")
		for {
			el := c.Next()
			if el.Local == "message" {
				t.Fatalf("%s got an unexpected message: %s", c.JID, el)
			}
			if el.Local == "iq" && el.Attr("id") == "end" {
				break
			}
		}
	}
}

func TestCarbonsBadInput(t *testing.T) {
	s := smConfig(t, "5m")
	b := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "b")
	for _, c := range []struct{ name, iq, cond string }{
		{"get instead of set", "<iq type='get' id='x'><enable xmlns='urn:xmpp:carbons:2'/></iq>", "bad-request"},
		{"unknown element", "<iq type='set' id='x'><toggle xmlns='urn:xmpp:carbons:2'/></iq>", "bad-request"},
		{"another user's account", "<iq type='set' to='alice@localhost' id='x'><enable xmlns='urn:xmpp:carbons:2'/></iq>", "forbidden"},
	} {
		b.Send(c.iq)
		if r := b.Expect("iq"); r.Attr("type") != "error" || xmpptest.Condition(r) != c.cond {
			t.Errorf("%s: %s", c.name, r)
		}
	}
	// The server announces the feature.
	b.Send("<iq type='get' to='localhost' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	if r := b.Expect("iq"); !xmpptest.HasText(r, "urn:xmpp:carbons:2") {
		t.Fatalf("disco lacks carbons: %s", r)
	}
}

// Delivery receipts (XEP-0184) and chat states (XEP-0085) are end-to-end:
// the server passes them through byte for byte (apart from the stamped
// from), to the full JID they name.
func TestReceiptsAndChatStatesPassThrough(t *testing.T) {
	s := smConfig(t, "5m")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	b := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "b")
	b.Send("<presence/>")
	b.Expect("presence")
	a.Send("<message to='bob@localhost' type='chat' id='m1'><body>hi</body><request xmlns='urn:xmpp:receipts'/><active xmlns='http://jabber.org/protocol/chatstates'/></message>")
	m := b.Expect("message")
	if m.Child("urn:xmpp:receipts", "request") == nil || m.Child("http://jabber.org/protocol/chatstates", "active") == nil {
		t.Fatalf("payloads lost: %s", m)
	}
	b.Send("<message to='" + m.Attr("from") + "' id='r1'><received xmlns='urn:xmpp:receipts' id='m1'/></message>")
	r := a.Expect("message")
	if rc := r.Child("urn:xmpp:receipts", "received"); rc == nil || rc.Attr("id") != "m1" || r.Attr("from") != "bob@localhost/b" {
		t.Fatalf("receipt: %s", r)
	}
	b.Send("<message to='alice@localhost/a' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
	if c := a.Expect("message"); c.Child("http://jabber.org/protocol/chatstates", "composing") == nil {
		t.Fatalf("chat state: %s", c)
	}
}

// RFC 6120 §8.1.2.1: an error to a stanza the client sent without a to
// comes back without a from, like its results.
func TestErrorToOwnAccountHasNoFrom(t *testing.T) {
	s := smConfig(t, "5m")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	a.Send("<iq type='get' id='u'><query xmlns='urn:example:unknown'/></iq>")
	r := a.Expect("iq")
	if r.Attr("type") != "error" || xmpptest.Condition(r) != "service-unavailable" || r.HasAttr("from") {
		t.Fatalf("%s", r)
	}
}
