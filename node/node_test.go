package node_test

import (
	"testing"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
)

func TestRegisterLoginChat(t *testing.T) {
	s := xmpptest.Start(t, nil)
	for _, u := range []string{"alice", "bob"} {
		c := xmpptest.Dial(t, s.C2S, "localhost")
		c.Open()
		c.StartTLS()
		if r := c.Register(u, "secret"); r.Attr("type") != "result" {
			t.Fatalf("register %s: %s", u, r)
		}
		c.Close()
	}
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "secret", "phone")
	b := xmpptest.LoginTLS(t, s.TLS, "localhost", "bob", "secret", "laptop")
	_ = b
	a.Send("<presence/>")
	a.Expect("presence")
	b.Send("<presence/>")
	b.Expect("presence")
	a.Send("<message to='bob@localhost' type='chat' id='m1'><body>hi</body></message>")
	m := b.Expect("message")
	if m.Attr("from") != "alice@localhost/phone" || m.Child("", "body").Text != "hi" {
		t.Fatalf("got %s", m)
	}
}
