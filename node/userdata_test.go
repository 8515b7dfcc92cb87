package node_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/core/userdata"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/node"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// befriend gives two local users a mutual subscription, written to the
// roster store directly.
func befriend(t *testing.T, s *xmpptest.Server, a, b string) {
	t.Helper()
	st := s.Core().Store("roster").(roster.Store)
	for _, p := range [][2]string{{a, b}, {b, a}} {
		if _, err := st.PutItem(context.Background(), mustJID(t, p[0]), roster.Item{JID: mustJID(t, p[1]), Subscription: roster.SubBoth}); err != nil {
			t.Fatal(err)
		}
	}
}

// iq sends an IQ and returns the answer with its id.
func iq(t *testing.T, c *xmpptest.Conn, id, attrs, payload string) *xmltok.Element {
	t.Helper()
	return rawIQ(t, c, id, "<iq id='"+id+"' "+attrs+">"+payload+"</iq>")
}

func expectError(t *testing.T, r *xmltok.Element, cond string) {
	t.Helper()
	if r.Attr("type") != "error" || xmpptest.Condition(r) != cond {
		t.Fatalf("want %s, got %s", cond, r)
	}
}

func expectResult(t *testing.T, r *xmltok.Element) {
	t.Helper()
	if r.Attr("type") != "result" {
		t.Fatalf("want a result, got %s", r)
	}
}

// quiet checks that nothing arrives at c but what skip allows, up to
// the answer to a ping sent now.
func quiet(t *testing.T, c *xmpptest.Conn, skip func(*xmltok.Element) bool) {
	t.Helper()
	c.Send("<iq type='get' id='quiet' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
	for {
		el := c.Next()
		if el.Local == "iq" && el.Attr("id") == "quiet" {
			return
		}
		if skip == nil || !skip(el) {
			t.Fatalf("%s got unexpected %s", c.JID, el)
		}
	}
}

var avatar = []byte("\x89PNG\r\n\x1a\nan avatar of sorts")

func avatarHash() string {
	sum := sha1.Sum(avatar)
	return hex.EncodeToString(sum[:])
}

const vcardNS = "vcard-temp"

// TestVCard: XEP-0054 get/set over the stream, and XEP-0153 hashes the
// server adds to presence broadcasts.
func TestVCard(t *testing.T) {
	s := xmpptest.Start(t, testConfig(t, "[modules.vcard]\nmax_size = 2048\n"))
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	befriend(t, s, "alice@localhost", "bob@localhost")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	b := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "b")

	// Nothing stored: own is an empty vCard, another's item-not-found.
	r := iq(t, a, "v1", "type='get'", "<vCard xmlns='vcard-temp'/>")
	if expectResult(t, r); r.Child(vcardNS, "vCard") == nil || len(r.Child(vcardNS, "vCard").Children) != 0 {
		t.Fatalf("own empty vCard: %s", r)
	}
	expectError(t, iq(t, b, "v2", "type='get' to='alice@localhost'", "<vCard xmlns='vcard-temp'/>"), "item-not-found")
	expectError(t, iq(t, b, "v3", "type='get' to='nobody@localhost'", "<vCard xmlns='vcard-temp'/>"), "service-unavailable")

	// Bob, online with presence, learns of alice's avatar from her
	// broadcast; she has no vCard yet, so the photo is empty.
	b.Send("<presence/>")
	b.ExpectPresence("bob@localhost/b", "")
	quiet(t, b, nil) // his probe of alice is handled before she is online
	a.Send("<presence/>")
	p := b.ExpectPresence("alice@localhost/a", "")
	if x := p.Child("vcard-temp:x:update", "x"); x == nil || x.Child("vcard-temp:x:update", "photo") == nil || x.Child("vcard-temp:x:update", "photo").Text != "" {
		t.Fatalf("presence without a vCard: %s", p)
	}

	b64 := base64.StdEncoding.EncodeToString(avatar)
	card := "<vCard xmlns='vcard-temp'><FN>Alice</FN><NICKNAME>al</NICKNAME><PHOTO><TYPE>image/png</TYPE><BINVAL>" + b64 + "</BINVAL></PHOTO></vCard>"
	expectResult(t, iq(t, a, "v4", "type='set'", card))
	// XEP-0153: the set re-broadcasts nothing; the client's next
	// presence carries the hash, added by the server.
	quiet(t, b, nil)
	a.Send("<presence><show>away</show></presence>")
	p = b.ExpectPresence("alice@localhost/a", "")
	if photo := p.Child("vcard-temp:x:update", "x").Child("vcard-temp:x:update", "photo"); photo.Text != avatarHash() || p.Child("", "show") == nil {
		t.Fatalf("presence with an avatar: %s (want hash %s)", p, avatarHash())
	}
	// A client's own update child is kept as it is.
	a.Send("<presence><x xmlns='vcard-temp:x:update'/></presence>")
	p = b.ExpectPresence("alice@localhost/a", "")
	if x := p.Child("vcard-temp:x:update", "x"); x == nil || len(x.Children) != 0 || strings.Count(xmltokString(p), "vcard-temp:x:update") != 1 {
		t.Fatalf("client's update child: %s", p)
	}

	// Bob gets alice's card from her bare JID, answered by the server.
	r = iq(t, b, "v5", "type='get' to='alice@localhost'", "<vCard xmlns='vcard-temp'/>")
	expectResult(t, r)
	if r.Attr("from") != "alice@localhost" || r.Child(vcardNS, "vCard").Child(vcardNS, "NICKNAME").Text != "al" {
		t.Fatalf("alice's vCard for bob: %s", r)
	}
	r = iq(t, a, "v6", "type='get' to='alice@localhost'", "<vCard xmlns='vcard-temp'/>")
	if r.Child(vcardNS, "vCard").Child(vcardNS, "PHOTO").Child(vcardNS, "BINVAL").Text != b64 {
		t.Fatalf("own vCard: %s", r)
	}

	// Refused: another user's set, an oversized card, a photo that is
	// not base64. Alice's card is unchanged after all of them.
	expectError(t, iq(t, b, "v7", "type='set' to='alice@localhost'", "<vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard>"), "forbidden")
	expectError(t, iq(t, a, "v8", "type='set'", "<vCard xmlns='vcard-temp'><DESC>"+strings.Repeat("d", 3000)+"</DESC></vCard>"), "not-acceptable")
	expectError(t, iq(t, a, "v9", "type='set'", "<vCard xmlns='vcard-temp'><PHOTO><BINVAL>*** not base64 ***</BINVAL></PHOTO></vCard>"), "bad-request")
	r = iq(t, b, "v10", "type='get' to='alice@localhost'", "<vCard xmlns='vcard-temp'/>")
	if r.Child(vcardNS, "vCard").Child(vcardNS, "FN").Text != "Alice" {
		t.Fatalf("after refused sets: %s", r)
	}
}

func xmltokString(el *xmltok.Element) string { return el.String() }

// TestPrivateStorage: XEP-0049 over the stream.
func TestPrivateStorage(t *testing.T) {
	s := xmpptest.Start(t, testConfig(t, "[modules.private]\nmax_size = 1024\n"))
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	b := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "b")

	r := iq(t, a, "p1", "type='get'", "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query>")
	if expectResult(t, r); r.Child("jabber:iq:private", "query").Child("storage:bookmarks", "storage") == nil {
		t.Fatalf("nothing stored: %s", r)
	}
	bookmarks := "<storage xmlns='storage:bookmarks'><conference jid='room@conference.localhost' autojoin='true'><nick>al</nick></conference></storage>"
	expectResult(t, iq(t, a, "p2", "type='set'", "<query xmlns='jabber:iq:private'>"+bookmarks+"<prefs xmlns='urn:example:prefs' theme='dark'/></query>"))
	r = iq(t, a, "p3", "type='get' to='alice@localhost'", "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query>")
	conf := r.Child("jabber:iq:private", "query").Child("storage:bookmarks", "storage").Child("storage:bookmarks", "conference")
	if conf == nil || conf.Attr("jid") != "room@conference.localhost" || conf.Child("storage:bookmarks", "nick").Text != "al" {
		t.Fatalf("bookmarks: %s", r)
	}
	r = iq(t, a, "p4", "type='get'", "<query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'/></query>")
	if r.Child("jabber:iq:private", "query").Child("urn:example:prefs", "prefs").Attr("theme") != "dark" {
		t.Fatalf("prefs: %s", r)
	}
	// Bob sees his own (empty) storage, never alice's.
	r = iq(t, b, "p5", "type='get'", "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query>")
	if strings.Contains(r.String(), "conference") {
		t.Fatalf("bob got alice's bookmarks: %s", r)
	}
	expectError(t, iq(t, b, "p6", "type='get' to='alice@localhost'", "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query>"), "forbidden")
	expectError(t, iq(t, b, "p7", "type='set' to='alice@localhost'", "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query>"), "forbidden")
}

// TestBlocking: XEP-0191 end to end between two online users with a
// mutual subscription.
func TestBlocking(t *testing.T) {
	s := xmpptest.Start(t, nil)
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	befriend(t, s, "alice@localhost", "bob@localhost")
	a1 := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a1")
	a2 := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a2")
	b := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "b")
	// Everyone online, one after the other; then every presence that
	// exchange caused is read, so that what follows is all there is.
	isPresence := func(el *xmltok.Element) bool { return el.Local == "presence" }
	for _, c := range []*xmpptest.Conn{b, a1, a2} {
		c.Send("<presence/>")
		quiet(t, c, isPresence) // handled, probes included
	}
	for _, c := range []*xmpptest.Conn{b, a1, a2} {
		quiet(t, c, isPresence)
	}

	// a1 asks for the (empty) list and so gets pushes; a2 does not.
	r := iq(t, a1, "l1", "type='get'", "<blocklist xmlns='urn:xmpp:blocking'/>")
	if expectResult(t, r); r.Child("urn:xmpp:blocking", "blocklist") == nil {
		t.Fatalf("blocklist: %s", r)
	}
	a1.Send("<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'><item jid='bob@localhost'/></block></iq>")
	var push, result bool
	for !push || !result {
		el := a1.Next()
		switch {
		case el.Local == "iq" && el.Attr("id") == "b1":
			expectResult(t, el)
			result = true
		case el.Local == "iq" && el.Attr("type") == "set":
			it := el.Child("urn:xmpp:blocking", "block").Child("urn:xmpp:blocking", "item")
			if it.Attr("jid") != "bob@localhost" {
				t.Fatalf("push: %s", el)
			}
			a1.Send("<iq type='result' id='" + el.Attr("id") + "'/>")
			push = true
		case el.Local == "presence" && el.Attr("from") == "bob@localhost/b" && el.Attr("type") == "unavailable":
			// §3.3: bob now looks offline to alice.
		default:
			t.Fatalf("a1 got %s", el)
		}
	}
	// Bob sees both of alice's resources go away.
	b.ExpectPresence("alice@localhost/a1", "unavailable")
	b.ExpectPresence("alice@localhost/a2", "unavailable")
	// a2 got no push, only bob's unavailable presence.
	a2.ExpectPresence("bob@localhost/b", "unavailable")
	quiet(t, a2, nil)

	// Inbound from bob: message and IQ bounce, presence vanishes.
	b.Send("<message to='alice@localhost' type='chat' id='m1'><body>hello?</body></message>")
	if m := b.Expect("message"); m.Attr("id") != "m1" || xmpptest.Condition(m) != "service-unavailable" {
		t.Fatalf("bob's message: %s", m)
	}
	expectError(t, iq(t, b, "q1", "type='get' to='alice@localhost'", "<vCard xmlns='vcard-temp'/>"), "service-unavailable")
	expectError(t, iq(t, b, "q2", "type='get' to='alice@localhost/a1'", "<ping xmlns='urn:xmpp:ping'/>"), "service-unavailable")
	b.Send("<presence><show>dnd</show></presence>")
	b.Send("<presence to='alice@localhost' type='subscribe'/>")
	b.Send("<presence to='alice@localhost/a2'/>")
	b.ExpectPresence("bob@localhost/b", "") // his own broadcast
	quiet(t, b, nil)
	quiet(t, a1, nil)
	quiet(t, a2, nil)

	// Outbound to bob: not-acceptable with <blocked/>, nothing reaches him.
	a2.Send("<message to='bob@localhost' type='chat' id='m2'><body>hi</body></message>")
	m := a2.Expect("message")
	if m.Attr("type") != "error" || xmpptest.Condition(m) != "not-acceptable" || m.Child("", "error").Child("urn:xmpp:blocking:errors", "blocked") == nil {
		t.Fatalf("alice's message to bob: %s", m)
	}
	r = iq(t, a1, "q3", "type='get' to='bob@localhost/b'", "<ping xmlns='urn:xmpp:ping'/>")
	if expectError(t, r, "not-acceptable"); r.Child("", "error").Child("urn:xmpp:blocking:errors", "blocked") == nil {
		t.Fatalf("alice's ping to bob: %s", r)
	}
	// Alice's broadcasts no longer reach bob (her own resources still
	// see them).
	a1.Send("<presence><show>chat</show></presence>")
	a2.ExpectPresence("alice@localhost/a1", "")
	quiet(t, b, nil)

	// Unblock: pushed, bob gets alice's current presence and she his.
	a1.Send("<iq type='set' id='u1'><unblock xmlns='urn:xmpp:blocking'><item jid='bob@localhost'/></unblock></iq>")
	push, result = false, false
	for !push || !result {
		el := a1.Next()
		switch {
		case el.Local == "iq" && el.Attr("id") == "u1":
			expectResult(t, el)
			result = true
		case el.Local == "iq" && el.Child("urn:xmpp:blocking", "unblock") != nil:
			a1.Send("<iq type='result' id='" + el.Attr("id") + "'/>")
			push = true
		case el.Local == "presence":
		default:
			t.Fatalf("a1 got %s", el)
		}
	}
	b.ExpectPresence("alice@localhost/a1", "")
	b.ExpectPresence("alice@localhost/a2", "")
	a2.ExpectPresence("bob@localhost/b", "") // the probe's answer
	b.Send("<message to='alice@localhost/a2' type='chat' id='m3'><body>back</body></message>")
	if m := a2.Expect("message"); m.Attr("id") != "m3" || m.Attr("type") == "error" {
		t.Fatalf("after unblock: %s", m)
	}
}

// TestUserDataBadInput sends malformed and refused requests to each
// module; each gets its stanza error and the stream stays up.
func TestUserDataBadInput(t *testing.T) {
	s := xmpptest.Start(t, testConfig(t, "[modules.blocking]\nmax_items = 3\n"))
	w := witness(t, s)
	s.AddUser(t, "mallory", "pw")
	c := xmpptest.Login(t, s.C2S, "localhost", "mallory", "pw", "m")
	cases := []struct{ name, attrs, payload, cond string }{
		{"vCard not base64", "type='set'", "<vCard xmlns='vcard-temp'><PHOTO><BINVAL>%%%</BINVAL></PHOTO></vCard>", "bad-request"},
		{"vCard over max_size", "type='set'", "<vCard xmlns='vcard-temp'><DESC>" + strings.Repeat("x", 70<<10) + "</DESC></vCard>", "not-acceptable"},
		{"vCard of another user", "type='set' to='witness@localhost'", "<vCard xmlns='vcard-temp'/>", "forbidden"},
		{"vCard wrong element", "type='get'", "<vcard xmlns='vcard-temp'/>", "bad-request"},
		{"private empty get", "type='get'", "<query xmlns='jabber:iq:private'/>", "bad-request"},
		{"private empty set", "type='set'", "<query xmlns='jabber:iq:private'/>", "not-acceptable"},
		{"private reserved", "type='set'", "<query xmlns='jabber:iq:private'><query xmlns='jabber:iq:roster'/></query>", "not-acceptable"},
		{"private no namespace", "type='set'", "<query xmlns='jabber:iq:private'><prefs/></query>", "not-acceptable"},
		{"private over max_size", "type='set'", "<query xmlns='jabber:iq:private'><big xmlns='urn:big'>" + strings.Repeat("b", 70<<10) + "</big></query>", "not-acceptable"},
		{"private of another user", "type='get' to='witness@localhost'", "<query xmlns='jabber:iq:private'><x xmlns='urn:x'/></query>", "forbidden"},
		{"block without items", "type='set'", "<block xmlns='urn:xmpp:blocking'/>", "bad-request"},
		{"block invalid JID", "type='set'", "<block xmlns='urn:xmpp:blocking'><item jid='a@b@c'/></block>", "jid-malformed"},
		{"block JID too long", "type='set'", "<block xmlns='urn:xmpp:blocking'><item jid='" + strings.Repeat("l", 1100) + "@localhost'/></block>", "jid-malformed"},
		{"block item without jid", "type='set'", "<block xmlns='urn:xmpp:blocking'><item/></block>", "jid-malformed"},
		{"block past max_items", "type='set'", "<block xmlns='urn:xmpp:blocking'><item jid='a@x'/><item jid='b@x'/><item jid='c@x'/><item jid='d@x'/></block>", "not-acceptable"},
		{"block as get", "type='get'", "<block xmlns='urn:xmpp:blocking'><item jid='a@x'/></block>", "bad-request"},
		{"blocklist of another user", "type='get' to='witness@localhost'", "<blocklist xmlns='urn:xmpp:blocking'/>", "forbidden"},
	}
	for i, tc := range cases {
		r := iq(t, c, "bad"+string(rune('a'+i)), tc.attrs, tc.payload)
		if r.Attr("type") != "error" || xmpptest.Condition(r) != tc.cond {
			t.Errorf("%s: want %s, got %.300s", tc.name, tc.cond, r)
		}
	}
	stillServes(t, c)
	stillServes(t, w)
	// Nothing was stored by any of them.
	r := iq(t, c, "l", "type='get'", "<blocklist xmlns='urn:xmpp:blocking'/>")
	if len(r.Child("urn:xmpp:blocking", "blocklist").Children) != 0 {
		t.Fatalf("blocklist after refused blocks: %s", r)
	}
	r = iq(t, c, "v", "type='get'", "<vCard xmlns='vcard-temp'/>")
	if len(r.Child(vcardNS, "vCard").Children) != 0 {
		t.Fatalf("vCard after refused sets: %s", r)
	}
}

// TestUserDataRemoved: deleting an account deletes its vCard, private
// XML and blocklist; a new account of the same name starts empty.
func TestUserDataRemoved(t *testing.T) {
	s := xmpptest.Start(t, nil)
	s.AddUser(t, "alice", "pw")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	expectResult(t, iq(t, a, "1", "type='set'", "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>"))
	expectResult(t, iq(t, a, "2", "type='set'", "<query xmlns='jabber:iq:private'><x xmlns='urn:x'>secret</x></query>"))
	expectResult(t, iq(t, a, "3", "type='set'", "<block xmlns='urn:xmpp:blocking'><item jid='bob@localhost'/></block>"))
	expectResult(t, iq(t, a, "rm", "type='set' to='localhost'", "<query xmlns='jabber:iq:register'><remove/></query>"))
	// The session ends once every module has dropped the user's data.
	a.ExpectStreamError("not-authorized")
	store := s.Core().Store("userdata").(userdata.Store)
	for _, key := range []string{"vcard", "private", "blocklist"} {
		if _, ok, err := store.Get(context.Background(), mustJID(t, "alice@localhost"), key); ok || err != nil {
			t.Errorf("%s still stored after the account was removed (%v)", key, err)
		}
	}
	s.AddUser(t, "alice", "pw2")
	a = xmpptest.Login(t, s.C2S, "localhost", "alice", "pw2", "a")
	if r := iq(t, a, "4", "type='get'", "<vCard xmlns='vcard-temp'/>"); len(r.Child(vcardNS, "vCard").Children) != 0 {
		t.Fatalf("new account's vCard: %s", r)
	}
	if r := iq(t, a, "5", "type='get'", "<query xmlns='jabber:iq:private'><x xmlns='urn:x'/></query>"); strings.Contains(r.String(), "secret") {
		t.Fatalf("new account's private XML: %s", r)
	}
	if r := iq(t, a, "6", "type='get'", "<blocklist xmlns='urn:xmpp:blocking'/>"); len(r.Child("urn:xmpp:blocking", "blocklist").Children) != 0 {
		t.Fatalf("new account's blocklist: %s", r)
	}
}

// TestUserDataDisco: each module announces its feature, and a switched
// off module is gone from disco and answers service-unavailable.
func TestUserDataDisco(t *testing.T) {
	s := xmpptest.Start(t, testConfig(t, `
[modules.contact_addresses]
abuse = ["mailto:abuse@localhost", "xmpp:abuse@localhost"]
security = ["https://localhost/security"]
`))
	s.AddUser(t, "alice", "pw")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	r := iq(t, a, "d", "type='get' to='localhost'", "<query xmlns='http://jabber.org/protocol/disco#info'/>")
	for _, f := range []string{"vcard-temp", "jabber:iq:private", "urn:xmpp:blocking"} {
		if !xmpptest.HasText(r, "var='"+f+"'") {
			t.Errorf("disco lacks %s: %s", f, r)
		}
	}
	x := r.Child("http://jabber.org/protocol/disco#info", "query").Child("jabber:x:data", "x")
	if x == nil || x.Attr("type") != "result" {
		t.Fatalf("no XEP-0128 form: %s", r)
	}
	var got []string
	for _, f := range x.Children {
		for _, v := range f.Children {
			got = append(got, f.Attr("var")+"="+v.Text)
		}
	}
	want := "FORM_TYPE=http://jabber.org/network/serverinfo abuse-addresses=mailto:abuse@localhost abuse-addresses=xmpp:abuse@localhost security-addresses=https://localhost/security"
	if strings.Join(got, " ") != want {
		t.Fatalf("form fields %v, want %s", got, want)
	}
	r = iq(t, a, "d2", "type='get' to='alice@localhost'", "<query xmlns='http://jabber.org/protocol/disco#info'/>")
	if !xmpptest.HasText(r, "var='vcard-temp'") || xmpptest.HasText(r, "jabber:x:data") {
		t.Errorf("account disco: %s", r)
	}

	off := xmpptest.Start(t, testConfig(t, `
[modules.vcard]
enabled = false
[modules.private]
enabled = false
[modules.blocking]
enabled = false
`))
	off.AddUser(t, "alice", "pw")
	a = xmpptest.Login(t, off.C2S, "localhost", "alice", "pw", "a")
	r = iq(t, a, "d", "type='get' to='localhost'", "<query xmlns='http://jabber.org/protocol/disco#info'/>")
	for _, f := range []string{"vcard-temp", "jabber:iq:private", "urn:xmpp:blocking", "jabber:x:data"} {
		if xmpptest.HasText(r, f) {
			t.Errorf("disco of a node without the module has %s: %s", f, r)
		}
	}
	for i, p := range []string{"<vCard xmlns='vcard-temp'/>", "<query xmlns='jabber:iq:private'><x xmlns='urn:x'/></query>", "<blocklist xmlns='urn:xmpp:blocking'/>"} {
		expectError(t, iq(t, a, "off"+string(rune('0'+i)), "type='get'", p), "service-unavailable")
	}
	// Without vcard, presence is left as the client sent it.
	a.Send("<presence/>")
	if p := a.ExpectPresence("alice@localhost/a", ""); p.Child("vcard-temp:x:update", "x") != nil {
		t.Fatalf("presence changed by a disabled module: %s", p)
	}
}

// TestContactAddressesConfig: a bad address is a config error naming
// the key, found before any start (meridian config check runs
// node.Modules).
func TestContactAddressesConfig(t *testing.T) {
	cfg := testConfig(t, `
[modules.contact_addresses]
admin = ["xmpp:admin@localhost", "http://localhost/admin"]
`)
	_, err := node.Modules(cfg)
	if err == nil || !strings.Contains(err.Error(), `modules.contact_addresses.admin[1]: "http://localhost/admin"`) {
		t.Fatalf("Modules = %v", err)
	}
	for _, tc := range []struct{ table, key string }{
		{"[modules.vcard]\nmax_size = -1\n", "modules.vcard.max_size"},
		{"[modules.private]\nmax_size = -1\n", "modules.private.max_size"},
		{"[modules.blocking]\nmax_items = -1\n", "modules.blocking.max_items"},
	} {
		if _, err := node.Modules(testConfig(t, tc.table)); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: %v", tc.key, err)
		}
	}
}
