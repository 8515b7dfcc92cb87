package quic

import (
	"bytes"
	"errors"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/link/ca"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/sasl"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

func TestRequests(t *testing.T) {
	p := newPKI(t)
	core := newFakeCore("core1")
	srv := startServer(t, core, p.node("core1", ca.IssueOptions{}, nil), "core1", nil)
	c := startClient(t, p.node("edge1", ca.IssueOptions{}, nil), []string{srv.addr}, nil)
	ctx := ctxT(t)

	cr, err := c.Credentials(ctx, "localhost", "alice", "SHA-256")
	if err != nil || string(cr.Salt) != "salt-localhost" || cr.Iterations != 4096 || string(cr.StoredKey) != "stored-SHA-256" || string(cr.ServerKey) != "server" {
		t.Fatalf("credentials: %+v %v", cr, err)
	}
	if _, err := c.Credentials(ctx, "localhost", "bob", "SHA-1"); !errors.Is(err, sasl.ErrUnknownUser) {
		t.Fatalf("unknown user: %v", err)
	}
	if ok, err := c.VerifyPassword(ctx, "localhost", "alice", "secret"); !ok || err != nil {
		t.Fatalf("password: %v %v", ok, err)
	}
	if ok, err := c.VerifyPassword(ctx, "localhost", "alice", "wrong"); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	if _, err := c.VerifyPassword(ctx, "localhost", "broken", "x"); err == nil {
		t.Fatal("a core error was not carried")
	}
	iq := &stanza.Stanza{Kind: stanza.IQ, Type: "get", ID: "r1", To: jid.MustParse("localhost"),
		Bytes: []byte("<iq type='get' id='r1' to='localhost'><query xmlns='jabber:iq:register'/></iq>")}
	reply := c.PreAuth(ctx, link.PreAuthClient{Domain: "localhost", RemoteAddr: "192.0.2.1", Secure: true}, iq)
	if reply == nil || reply.Type != "result" || reply.ID != "r1" || !bytes.Contains(reply.Bytes, []byte("localhost 192.0.2.1true")) {
		t.Fatalf("pre-auth reply: %+v", reply)
	}
	feats := c.StreamFeatures("localhost", false)
	if len(feats) != 2 || feats[0].Space != "urn:xmpp:sm:3" || feats[1].Local != "csi" {
		t.Fatalf("features: %v", feats)
	}
	if f := c.StreamFeatures("localhost", true); len(f) != 1 || f[0].Local != "register" {
		t.Fatalf("pre-auth features: %v", f)
	}
	if c.Connected() != "core1" {
		t.Fatalf("connected to %q", c.Connected())
	}
}

func TestSessions(t *testing.T) {
	p := newPKI(t)
	core := newFakeCore("core1")
	srv := startServer(t, core, p.node("core1", ca.IssueOptions{}, nil), "core1", nil)
	c := startClient(t, p.node("edge1", ca.IssueOptions{}, nil), []string{srv.addr}, nil)
	ctx := ctxT(t)

	ka, kb := newSink(), newSink()
	a, err := c.Open(ctx, link.OpenRequest{User: jid.MustParse("alice@localhost"), Resource: "phone", Transport: "tcp"}, ka)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Open(ctx, link.OpenRequest{User: jid.MustParse("bob@localhost")}, kb)
	if err != nil {
		t.Fatal(err)
	}
	if a.JID().String() != "alice@localhost/phone" || b.JID().String() != "bob@localhost/gen" {
		t.Fatalf("jids %s %s", a.JID(), b.JID())
	}
	if _, err := c.Open(ctx, link.OpenRequest{User: jid.MustParse("nobody@localhost")}, newSink()); err == nil {
		t.Fatal("open refused by the core succeeded")
	} else if se, ok := err.(*stanza.Error); !ok || se.Condition != "not-allowed" || se.Text != "no such user here" {
		t.Fatalf("open error %#v", err)
	}

	// alice → bob through the core, in order, header intact.
	const n = 500
	for i := range n {
		a.Handle(message(a.JID(), b.JID(), strconv.Itoa(i)))
	}
	for i := range n {
		st := <-kb.ch
		want := message(a.JID(), b.JID(), strconv.Itoa(i))
		if st.ID != want.ID || st.Kind != stanza.Message || st.Type != "chat" || st.From != want.From || st.To != want.To || !bytes.Equal(st.Bytes, want.Bytes) {
			t.Fatalf("stanza %d: %+v", i, st)
		}
	}
	fa := core.session(a.JID())
	waitFor(t, "acks", func() bool {
		a.(*csession).f.mu.Lock()
		defer a.(*csession).f.mu.Unlock()
		return len(a.(*csession).f.unacked) == 0
	})

	// The core ends bob's stream; bob's client goes; what bob's stream
	// refused and what it never acknowledged go back to the core.
	fb := core.session(b.JID())
	kb.mu.Lock()
	kb.refuse = true
	kb.mu.Unlock()
	fb.sink.Deliver(message(a.JID(), b.JID(), "refused"))
	fb.sink.Close(&stanza.StreamError{Condition: stanza.Conflict})
	waitFor(t, "stream error at the edge", func() bool { return len(kb.closes()) == 1 })
	if e := kb.closes()[0]; e == nil || e.Condition != stanza.Conflict {
		t.Fatalf("close %v", e)
	}
	b.Close([]*stanza.Stanza{message(a.JID(), b.JID(), "unacked-by-client")})
	waitFor(t, "close at the core", func() bool { _, _, cl := fb.snapshot(); return cl >= 1 })
	_, und, _ := fb.snapshot()
	if len(und) != 2 || und[0].ID != "refused" || und[1].ID != "unacked-by-client" {
		t.Fatalf("undelivered at the core: %v", ids(und))
	}
	waitFor(t, "edge session forgotten", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.sessions) == 1
	})
	if h, _, _ := fa.snapshot(); len(h) != n {
		t.Fatalf("core handled %d", len(h))
	}
}

func ids(sts []*stanza.Stanza) []string {
	var out []string
	for _, s := range sts {
		out = append(out, s.ID)
	}
	return out
}

// TestFailover kills a core in the middle of a stream: the edge moves the
// session to the second core, replays what the first never acknowledged,
// and nothing Handle took is lost; each core sees the session's stanzas
// in order.
func TestFailover(t *testing.T) {
	p := newPKI(t)
	core1, core2 := newFakeCore("core1"), newFakeCore("core2")
	s1 := startServer(t, core1, p.node("core1", ca.IssueOptions{}, nil), "core1", nil)
	s2 := startServer(t, core2, p.node("core2", ca.IssueOptions{}, nil), "core2", nil)
	c := startClient(t, p.node("edge1", ca.IssueOptions{}, nil), []string{s1.addr, s2.addr}, func(o *ClientOptions) {
		o.IdleTimeout = time.Second // a crashed core is noticed within a second
	})
	ctx := ctxT(t)
	k := newSink()
	sess, err := c.Open(ctx, link.OpenRequest{User: jid.MustParse("alice@localhost"), Resource: "r"}, k)
	if err != nil {
		t.Fatal(err)
	}
	if c.Connected() != "core1" {
		t.Fatalf("connected to %q", c.Connected())
	}
	self := sess.JID()
	const n = 20000
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range n {
			sess.Handle(message(self, jid.MustParse("bob@localhost/x"), strconv.Itoa(i)))
		}
	}()
	waitFor(t, "traffic on core1", func() bool {
		fs := core1.session(self)
		if fs == nil {
			return false
		}
		h, _, _ := fs.snapshot()
		return len(h) > n/10
	})
	// A crash: the socket goes without a word to the edge.
	s1.pc.Close()
	<-sent
	waitFor(t, "session on core2", func() bool { return core2.session(self) != nil })
	waitFor(t, "every stanza on a core", func() bool {
		h, _, _ := core2.session(self).snapshot()
		return len(h) > 0 && h[len(h)-1].ID == strconv.Itoa(n-1)
	})
	seen := make([]bool, n)
	for _, fc := range []*fakeCore{core1, core2} {
		for _, fs := range fc.log {
			h, _, _ := fs.snapshot()
			last := -1
			for _, st := range h {
				i, _ := strconv.Atoi(st.ID)
				if i <= last {
					t.Fatalf("%s: %d after %d", fc.name, i, last)
				}
				last = i
				seen[i] = true
			}
		}
	}
	for i, ok := range seen {
		if !ok {
			t.Fatalf("stanza %d lost", i)
		}
	}
	if c.Connected() != "core2" {
		t.Fatalf("connected to %q", c.Connected())
	}
	// Deliveries work on the new core.
	core2.session(self).sink.Deliver(message(jid.MustParse("bob@localhost/x"), self, "after"))
	if st := waitStanza(t, k, "after"); st == nil {
		t.Fatal("no delivery after failover")
	}
	t.Logf("core1 handled %d, core2 %d (replayed %d)", count(core1), count(core2), count(core1)+count(core2)-n)
}

func count(fc *fakeCore) int {
	n := 0
	for _, fs := range fc.log {
		h, _, _ := fs.snapshot()
		n += len(h)
	}
	return n
}

func waitStanza(t *testing.T, k *sink, id string) *stanza.Stanza {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case st := <-k.ch:
			if st.ID == id {
				return st
			}
		case <-timeout:
			t.Fatalf("no stanza %q", id)
			return nil
		}
	}
}

// TestCoreReturnsUnacked: when the connection ends, what the core
// delivered but the edge did not acknowledge goes back to the core's
// router through Session.Close, in order.
func TestCoreReturnsUnacked(t *testing.T) {
	p := newPKI(t)
	core := newFakeCore("core1")
	srv := startServer(t, core, p.node("core1", ca.IssueOptions{}, nil), "core1", nil)
	c := startClient(t, p.node("edge1", ca.IssueOptions{}, nil), []string{srv.addr}, nil)
	entered, release := make(chan struct{}), make(chan struct{})
	k := newSink()
	var once sync.Once
	k.gate = func() {
		once.Do(func() { close(entered); <-release })
	}
	sess, err := c.Open(ctxT(t), link.OpenRequest{User: jid.MustParse("alice@localhost"), Resource: "r"}, k)
	if err != nil {
		t.Fatal(err)
	}
	fs := core.session(sess.JID())
	peer := jid.MustParse("bob@localhost/x")
	for i := range 5 {
		if !fs.sink.Deliver(message(peer, sess.JID(), "d"+strconv.Itoa(i))) {
			t.Fatal("deliver refused")
		}
	}
	<-entered // the edge is handing d0 to its client and has acked nothing
	before := testutil.ToFloat64(metrics.LinkReturned)
	srv.srv.Close()
	close(release)
	_, und, closed := fs.snapshot()
	if closed != 1 || strings.Join(ids(und), ",") != "d0,d1,d2,d3,d4" {
		t.Fatalf("closed %d, returned %v", closed, ids(und))
	}
	if got := testutil.ToFloat64(metrics.LinkReturned) - before; got != 5 {
		t.Fatalf("returned counted %v", got)
	}
}

// TestWindow: with the window full, Handle waits until the core
// acknowledges; a core's Deliver past its window is refused.
func TestWindow(t *testing.T) {
	p := newPKI(t)
	core := newFakeCore("core1")
	srv := startServer(t, core, p.node("core1", ca.IssueOptions{}, nil), "core1", func(o *ServerOptions) { o.Window = 4 })
	c := startClient(t, p.node("edge1", ca.IssueOptions{}, nil), []string{srv.addr}, func(o *ClientOptions) { o.Window = 4 })
	release := make(chan struct{})
	k := newSink()
	k.gate = func() { <-release }
	sess, err := c.Open(ctxT(t), link.OpenRequest{User: jid.MustParse("alice@localhost"), Resource: "r"}, k)
	if err != nil {
		t.Fatal(err)
	}
	fs := core.session(sess.JID())
	peer := jid.MustParse("bob@localhost/x")
	for i := range 4 {
		if !fs.sink.Deliver(message(peer, sess.JID(), strconv.Itoa(i))) {
			t.Fatalf("deliver %d refused", i)
		}
	}
	if fs.sink.Deliver(message(peer, sess.JID(), "over")) {
		t.Fatal("deliver past the window accepted")
	}
	close(release)
	waitFor(t, "room again", func() bool { return fs.sink.Deliver(message(peer, sess.JID(), "later")) })
	// Edge → core: the fake core handles at once, so 100 stanzas through a
	// window of 4 all arrive.
	for i := range 100 {
		sess.Handle(message(sess.JID(), peer, strconv.Itoa(i)))
	}
	waitFor(t, "all handled", func() bool { h, _, _ := fs.snapshot(); return len(h) == 100 })
}

// TestFairness: a session whose client stops taking stanzas fills its
// QUIC stream's flow control window; the connection's writer must not
// wait on it, so another session on the same connection still gets its
// deliveries, and the stuck one gets everything once it reads again.
func TestFairness(t *testing.T) {
	p := newPKI(t)
	core := newFakeCore("core1")
	srv := startServer(t, core, p.node("core1", ca.IssueOptions{}, nil), "core1", func(o *ServerOptions) { o.Window = 1 << 20 })
	c := startClient(t, p.node("edge1", ca.IssueOptions{}, nil), []string{srv.addr}, nil)
	ctx := ctxT(t)
	release := make(chan struct{})
	stuck, free := newSink(), newSink()
	stuck.gate = func() { <-release }
	s1, err := c.Open(ctx, link.OpenRequest{User: jid.MustParse("alice@localhost"), Resource: "stuck"}, stuck)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := c.Open(ctx, link.OpenRequest{User: jid.MustParse("bob@localhost"), Resource: "free"}, free)
	if err != nil {
		t.Fatal(err)
	}
	peer := jid.MustParse("carol@localhost/x")
	big := message(peer, s1.JID(), "big")
	big.Bytes = append(big.Bytes[:len(big.Bytes):len(big.Bytes)], make([]byte, 64<<10)...)
	// 16 MiB: more than quic-go lets one stream have unread.
	const n = 256
	fs1 := core.session(s1.JID())
	for i := range n {
		if !fs1.sink.Deliver(big) {
			t.Fatalf("deliver %d refused", i)
		}
	}
	fs2 := core.session(s2.JID())
	for i := range 100 {
		fs2.sink.Deliver(message(peer, s2.JID(), strconv.Itoa(i)))
	}
	waitStanza(t, free, "99")
	close(release)
	waitFor(t, "the stuck session's deliveries", func() bool {
		stuck.mu.Lock()
		defer stuck.mu.Unlock()
		return len(stuck.got) == n
	})
}
