package quic

import (
	"bytes"
	"testing"

	"github.com/meridian-xmpp/meridian/core"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/link/ca"
	"github.com/meridian-xmpp/meridian/storage"
	_ "github.com/meridian-xmpp/meridian/storage/embedded"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// TestRealCore carries the real core over the link: authentication data,
// binding, a message between two sessions, presence on close.
func TestRealCore(t *testing.T) {
	st, err := storage.Open("embedded", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cr, err := core.New(core.Options{Hosts: []string{"localhost"}, Stores: st, ScramIterations: 4096})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	for _, u := range []string{"alice@localhost", "bob@localhost"} {
		if err := cr.CreateUser(ctx, jid.MustParse(u), "pw-"+u); err != nil {
			t.Fatal(err)
		}
	}
	p := newPKI(t)
	srv := startServer(t, cr, p.node("core1", ca.IssueOptions{}, nil), "core1", nil)
	c := startClient(t, p.node("edge1", ca.IssueOptions{}, nil), []string{srv.addr}, nil)

	if ok, err := c.VerifyPassword(ctx, "localhost", "alice", "pw-alice@localhost"); !ok || err != nil {
		t.Fatalf("password: %v %v", ok, err)
	}
	creds, err := c.Credentials(ctx, "localhost", "bob", "SHA-256")
	if err != nil || creds.IsZero() || creds.Iterations != 4096 {
		t.Fatalf("credentials: %+v %v", creds, err)
	}
	if len(c.StreamFeatures("localhost", false)) != len(cr.StreamFeatures("localhost", false)) {
		t.Fatal("features differ from the core's")
	}
	ka, kb := newSink(), newSink()
	a, err := c.Open(ctx, link.OpenRequest{User: jid.MustParse("alice@localhost"), Resource: "a", Transport: "tcp"}, ka)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Open(ctx, link.OpenRequest{User: jid.MustParse("bob@localhost"), Resource: "b", Transport: "tcp"}, kb)
	if err != nil {
		t.Fatal(err)
	}
	if cr.SessionCount() != 2 {
		t.Fatalf("core has %d sessions", cr.SessionCount())
	}
	a.Handle(message(a.JID(), b.JID(), "m1"))
	got := waitStanza(t, kb, "m1")
	if !bytes.Contains(got.Bytes, []byte("<body>m1</body>")) || got.From != a.JID() {
		t.Fatalf("got %+v", got)
	}
	// An IQ to the server comes back as a reply through the link.
	ping := &stanza.Stanza{Kind: stanza.IQ, Type: "get", ID: "p1", From: a.JID(), To: jid.MustParse("localhost"),
		Bytes: []byte("<iq type='get' id='p1' from='alice@localhost/a' to='localhost'><query xmlns='jabber:iq:version'/></iq>")}
	a.Handle(ping)
	if r := waitStanza(t, ka, "p1"); r.Type != "result" && r.Type != "error" {
		t.Fatalf("reply %+v", r)
	}
	b.Close(nil)
	a.Close(nil)
	waitFor(t, "sessions unbound at the core", func() bool { return cr.SessionCount() == 0 })
}
