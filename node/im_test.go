package node_test

import (
	"context"
	"sync"

	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// expectItem reads until a roster push for contact arrives and returns
// its item.
func expectPush(t *testing.T, c *xmpptest.Conn, contact string) *xmltok.Element {
	t.Helper()
	for i := 0; i < 20; i++ {
		el := c.Next()
		if el.Local != "iq" || el.Attr("type") != "set" {
			continue
		}
		q := el.Child("jabber:iq:roster", "query")
		if q == nil {
			continue
		}
		it := q.Child("jabber:iq:roster", "item")
		c.Send("<iq type='result' id='" + el.Attr("id") + "'/>")
		if it != nil && it.Attr("jid") == contact {
			return it
		}
	}
	t.Fatalf("no roster push for %s", contact)
	return nil
}

// TestSubscriptionFlow walks RFC 6121 §3: request, approval both ways,
// roster pushes with versions, presence broadcast and probes, then
// cancellation.
func TestSubscriptionFlow(t *testing.T) {
	s := xmpptest.Start(t, nil)
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	b := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "b")
	for _, c := range []*xmpptest.Conn{a, b} {
		c.Send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster' ver=''/></iq>")
		r := c.Expect("iq")
		if r.Attr("type") != "result" || r.Child("jabber:iq:roster", "query").Attr("ver") != "0" {
			t.Fatalf("roster get: %s", r)
		}
		c.Send("<presence><priority>1</priority></presence>")
		c.Expect("presence")
	}
	// Alice asks; bob gets the request, alice's item is none+ask.
	a.Send("<presence to='bob@localhost' type='subscribe'/>")
	if it := expectPush(t, a, "bob@localhost"); it.Attr("subscription") != "none" || it.Attr("ask") != "subscribe" {
		t.Fatalf("alice's item after subscribe: %s", it)
	}
	b.ExpectPresence("alice@localhost", "subscribe")
	// Bob approves: alice has 'to' and sees bob online.
	b.Send("<presence to='alice@localhost' type='subscribed'/>")
	if it := expectPush(t, b, "alice@localhost"); it.Attr("subscription") != "from" {
		t.Fatalf("bob's item after subscribed: %s", it)
	}
	if it := expectPush(t, a, "bob@localhost"); it.Attr("subscription") != "to" || it.HasAttr("ask") {
		t.Fatalf("alice's item after subscribed: %s", it)
	}
	a.ExpectPresence("bob@localhost/b", "")
	// The other direction.
	b.Send("<presence to='alice@localhost' type='subscribe'/>")
	if it := expectPush(t, b, "alice@localhost"); it.Attr("subscription") != "from" || it.Attr("ask") != "subscribe" {
		t.Fatalf("bob's item after subscribe: %s", it)
	}
	a.ExpectPresence("bob@localhost", "subscribe")
	a.Send("<presence to='bob@localhost' type='subscribed'/>")
	if it := expectPush(t, a, "bob@localhost"); it.Attr("subscription") != "both" {
		t.Fatalf("alice's item: %s", it)
	}
	if it := expectPush(t, b, "alice@localhost"); it.Attr("subscription") != "both" {
		t.Fatalf("bob's item: %s", it)
	}
	// Broadcast: bob changes presence, alice sees it.
	b.Send("<presence><show>away</show></presence>")
	if p := a.ExpectPresence("bob@localhost/b", ""); p.Child("", "show") == nil {
		t.Fatalf("presence: %s", p)
	}
	// A new resource of alice probes bob and learns his presence.
	a2 := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a2")
	a2.Send("<presence/>")
	a2.ExpectPresence("bob@localhost/b", "")
	// Roster versioning: an up-to-date client gets an empty result.
	a2.Send("<iq type='get' id='r2'><query xmlns='jabber:iq:roster'/></iq>")
	full := a2.Expect("iq")
	ver := full.Child("jabber:iq:roster", "query").Attr("ver")
	a2.Send("<iq type='get' id='r3'><query xmlns='jabber:iq:roster' ver='" + ver + "'/></iq>")
	if r := a2.Expect("iq"); r.Attr("id") != "r3" || len(r.Children) != 0 {
		t.Fatalf("versioned roster get: %s", r)
	}
	// Bob leaves: alice's resources see unavailable.
	b.Close()
	a.ExpectPresence("bob@localhost/b", "unavailable")
	// Removing bob from alice's roster cancels both subscriptions.
	a.Send("<iq type='set' id='rm'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' subscription='remove'/></query></iq>")
	if it := expectPush(t, a, "bob@localhost"); it.Attr("subscription") != "remove" {
		t.Fatalf("remove push: %s", it)
	}
	// The result comes once the cancellations are routed.
	if r := a.Expect("iq"); r.Attr("id") != "rm" || r.Attr("type") != "result" {
		t.Fatalf("remove result: %s", r)
	}
	b = xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "b")
	b.Send("<iq type='get' id='r4'><query xmlns='jabber:iq:roster'/></iq>")
	r := b.Expect("iq")
	if it := r.Child("jabber:iq:roster", "query").Child("", "item"); it == nil || it.Attr("subscription") != "none" {
		t.Fatalf("bob's roster after alice removed him: %s", r)
	}
}

func TestRosterBadSets(t *testing.T) {
	s := xmpptest.Start(t, nil)
	s.AddUser(t, "alice", "pw")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	cases := []struct{ name, query, cond string }{
		{"two items", "<item jid='x@localhost'/><item jid='y@localhost'/>", "bad-request"},
		{"bad jid", "<item jid='@@'/>", "jid-malformed"},
		{"empty group", "<item jid='x@localhost'><group></group></item>", "not-acceptable"},
		{"duplicate group", "<item jid='x@localhost'><group>g</group><group>g</group></item>", "bad-request"},
		{"remove missing", "<item jid='nobody@localhost' subscription='remove'/>", "item-not-found"},
	}
	for _, tc := range cases {
		a.Send("<iq type='set' id='s'><query xmlns='jabber:iq:roster'>" + tc.query + "</query></iq>")
		r := a.Expect("iq")
		if r.Attr("type") != "error" || xmpptest.Condition(r) != tc.cond {
			t.Errorf("%s: want %s, got %s", tc.name, tc.cond, r)
		}
	}
	a.Send("<iq type='get' id='g' to='bob@localhost'><query xmlns='jabber:iq:roster'/></iq>")
	if r := a.Expect("iq"); r.Attr("type") != "error" {
		t.Errorf("roster of another user: %s", r)
	}
	// Nothing was stored.
	a.Send("<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>")
	if r := a.Expect("iq"); len(r.Child("jabber:iq:roster", "query").Children) != 0 {
		t.Fatalf("roster not empty: %s", r)
	}
}

// TestRouting checks RFC 6121 §8 rules for unavailable and unknown
// recipients and server-handled IQs.
func TestRouting(t *testing.T) {
	s := xmpptest.Start(t, nil)
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	cases := []struct{ name, send, cond string }{
		{"message to unknown user", "<message to='nobody@localhost' type='chat' id='1'><body>x</body></message>", "service-unavailable"},
		{"groupchat to a user", "<message to='bob@localhost' type='groupchat' id='2'><body>x</body></message>", "service-unavailable"},
		{"iq to offline full jid", "<iq to='bob@localhost/x' type='get' id='3'><ping xmlns='urn:xmpp:ping'/></iq>", "service-unavailable"},
		{"remote domain", "<message to='x@remote.example' id='4'><body>x</body></message>", "remote-server-not-found"},
		{"unknown server iq", "<iq to='localhost' type='get' id='5'><query xmlns='urn:unknown'/></iq>", "service-unavailable"},
	}
	for _, tc := range cases {
		a.Send(tc.send)
		r := a.Next()
		if r.Attr("type") != "error" || xmpptest.Condition(r) != tc.cond {
			t.Errorf("%s: want %s, got %s", tc.name, tc.cond, r)
		}
	}
	for _, q := range []string{
		"<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>",
		"<query xmlns='http://jabber.org/protocol/disco#info'/>",
		"<query xmlns='jabber:iq:version'/>",
		"<time xmlns='urn:xmpp:time'/>",
		"<query xmlns='jabber:iq:last'/>",
		"<ping xmlns='urn:xmpp:ping'/>",
	} {
		typ := "get"
		if strings.Contains(q, "xmpp-session") {
			typ = "set"
		}
		a.Send("<iq to='localhost' type='" + typ + "' id='q'>" + q + "</iq>")
		if r := a.Next(); r.Attr("type") != "result" {
			t.Errorf("%s: %s", q, r)
		}
	}
	// Message to a full JID of an online but unavailable session is delivered.
	b := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "b")
	a.Send("<message to='bob@localhost/b' id='6'><body>direct</body></message>")
	if m := b.Expect("message"); m.Attr("from") != "alice@localhost/a" {
		t.Fatalf("%s", m)
	}
	// Resource conflict: a second bind of bob/b replaces the first.
	b2 := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "b")
	b.ExpectStreamError("conflict")
	a.Send("<message to='bob@localhost/b' id='7'><body>again</body></message>")
	b2.Expect("message")
}

// TestPrioritiesAndDirectedPresence: RFC 6121 §8.5.2.1.1 (highest
// non-negative priority gets bare-JID messages), §4.6 (directed presence
// and its unavailable on disconnect), §3.4 (pre-approval).
func TestPrioritiesAndDirectedPresence(t *testing.T) {
	s := xmpptest.Start(t, nil)
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	hi := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "hi")
	lo := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "lo")
	neg := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "neg")
	hi.Send("<presence><priority>10</priority></presence>")
	lo.Send("<presence><priority>1</priority></presence>")
	neg.Send("<presence><priority>-1</priority></presence>")
	for _, c := range []*xmpptest.Conn{hi, lo, neg} {
		c.ExpectPresence(c.JID, "") // processed: each sees its own presence
	}
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	a.Send("<message to='bob@localhost' type='chat' id='p1'><body>to the top</body></message>")
	if m := hi.Expect("message"); m.Attr("id") != "p1" {
		t.Fatalf("%s", m)
	}
	// lo and neg got presences only: a ping to lo proves nothing else is queued.
	for _, c := range []*xmpptest.Conn{lo, neg} {
		c.Send("<iq type='get' id='q' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
		for {
			el := c.Next()
			if el.Local == "message" {
				t.Fatalf("%s got %s", c.JID, el)
			}
			if el.Local == "iq" {
				break
			}
		}
	}
	// Only negative priority left: the message waits offline (XEP-0160)
	// and comes with the next non-negative initial presence.
	hi.Close()
	lo.Close()
	waitSessions(t, s, "bob@localhost", 1)
	a.Send("<message to='bob@localhost' type='chat' id='p2'><body>x</body></message>")
	// Alice's stream is handled in order: once her ping is answered the
	// message was stored, before bob's new resource is there to take it.
	a.Send("<iq type='get' id='p2sync' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
	for el := a.Next(); el.Local != "iq" || el.Attr("id") != "p2sync"; el = a.Next() {
	}
	back := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "back")
	back.Send("<presence/>")
	if m := back.Expect("message"); m.Attr("id") != "p2" || m.Child("urn:xmpp:delay", "delay") == nil {
		t.Fatalf("offline message: %s", m)
	}
	back.Close()
	waitSessions(t, s, "bob@localhost", 1)

	// Directed presence: alice (no subscription) sends presence to bob's
	// full JID; when she leaves, bob's resource learns she is unavailable.
	a.Send("<presence to='bob@localhost/neg'/>")
	neg.ExpectPresence("alice@localhost/a", "")
	a.Send("<presence/>")
	a.Close()
	neg.ExpectPresence("alice@localhost/a", "unavailable")

	// Pre-approval: bob approves alice before she asks; her request is
	// then answered at once.
	neg.Send("<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>")
	neg.Expect("iq")
	neg.Send("<presence to='alice@localhost' type='subscribed'/>")
	if it := expectPush(t, neg, "alice@localhost"); it.Attr("approved") != "true" || it.Attr("subscription") != "none" {
		t.Fatalf("pre-approval item: %s", it)
	}
	a = xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	a.Send("<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>")
	a.Expect("iq")
	a.Send("<presence to='bob@localhost' type='subscribe'/>")
	if it := expectPush(t, a, "bob@localhost"); it.Attr("ask") != "subscribe" {
		t.Fatalf("%s", it)
	}
	if it := expectPush(t, a, "bob@localhost"); it.Attr("subscription") != "to" {
		t.Fatalf("after pre-approved subscribe: %s", it)
	}
	if it := expectPush(t, neg, "alice@localhost"); it.Attr("subscription") != "from" || it.HasAttr("approved") {
		t.Fatalf("bob's item: %s", it)
	}
}

func waitSessions(t *testing.T, s *xmpptest.Server, bare string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Core().Sessions(mustJID(t, bare))) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%s still has %d sessions", bare, len(s.Core().Sessions(mustJID(t, bare))))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCrossingSubscriptions: both sides of many pairs subscribe to each
// other at the same moment; no roster update may be lost.
func TestCrossingSubscriptions(t *testing.T) {
	s := xmpptest.Start(t, nil)
	const pairs = 8
	var conns [pairs][2]*xmpptest.Conn
	for i := 0; i < pairs; i++ {
		for j := 0; j < 2; j++ {
			u := "u" + string(rune('a'+i)) + string(rune('0'+j))
			s.AddUser(t, u, "pw")
			conns[i][j] = xmpptest.Login(t, s.C2S, "localhost", u, "pw", "r")
		}
	}
	jidOf := func(i, j int) string { return "u" + string(rune('a'+i)) + string(rune('0'+j)) + "@localhost" }
	// Each side pre-approves and asks in one write, all at once.
	var wg sync.WaitGroup
	for i := 0; i < pairs; i++ {
		for j := 0; j < 2; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				peer := jidOf(i, 1-j)
				conns[i][j].Net.Write([]byte("<presence to='" + peer + "' type='subscribed'/><presence to='" + peer + "' type='subscribe'/>"))
			}()
		}
	}
	wg.Wait()
	for i := 0; i < pairs; i++ {
		for j := 0; j < 2; j++ {
			want := jidOf(i, 1-j)
			deadline := time.Now().Add(5 * time.Second)
			for {
				items, _, err := s.Core().Store("roster").(interface {
					Items(ctx context.Context, user jid.JID) ([]roster.Item, uint64, error)
				}).Items(context.Background(), mustJID(t, jidOf(i, j)))
				if err != nil {
					t.Fatal(err)
				}
				if len(items) == 1 && items[0].JID.String() == want && items[0].Subscription == "both" && !items[0].Ask {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: roster %+v, want %s both", jidOf(i, j), items, want)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
}

// TestOfflineMessages: XEP-0160 storage, order, delay stamps (XEP-0203),
// the per-user limit, and nothing for headlines.
func TestOfflineMessages(t *testing.T) {
	cfg := xmpptest.Config(t)
	s := xmpptest.Start(t, cfg)
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	for i := 0; i < 3; i++ {
		a.Send("<message to='bob@localhost' type='chat' id='o" + string(rune('0'+i)) + "'><body>later</body></message>")
	}
	a.Send("<message to='bob@localhost' type='headline' id='h'><body>news</body></message>")
	a.Send("<iq to='localhost' type='get' id='sync'><ping xmlns='urn:xmpp:ping'/></iq>")
	if r := a.Expect("iq"); r.Attr("id") != "sync" {
		t.Fatalf("%s", r)
	}
	b := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "b")
	b.Send("<presence/>")
	for i := 0; i < 3; i++ {
		m := b.Expect("message")
		d := m.Child("urn:xmpp:delay", "delay")
		if m.Attr("id") != "o"+string(rune('0'+i)) || m.Attr("from") != "alice@localhost/a" || d == nil || d.Attr("from") != "localhost" || d.Attr("stamp") == "" {
			t.Fatalf("offline message %d: %s", i, m)
		}
	}
	// Nothing else was stored: the headline was dropped (XEP-0160 §3).
	b.Send("<iq to='localhost' type='get' id='sync2'><ping xmlns='urn:xmpp:ping'/></iq>")
	for {
		el := b.Next()
		if el.Local == "message" {
			t.Fatalf("unexpected %s", el)
		}
		if el.Local == "iq" && el.Attr("id") == "sync2" {
			break
		}
	}
}

func TestOfflineLimit(t *testing.T) {
	cfg := testConfig(t, `
[modules.offline]
max_per_user = 2
`)
	s := xmpptest.Start(t, cfg)
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	for i := 0; i < 3; i++ {
		a.Send("<message to='bob@localhost' type='chat' id='l" + string(rune('0'+i)) + "'><body>x</body></message>")
	}
	// The third exceeds the limit and bounces: nothing lost silently.
	if r := a.Expect("message"); r.Attr("id") != "l2" || xmpptest.Condition(r) != "service-unavailable" {
		t.Fatalf("%s", r)
	}
}
