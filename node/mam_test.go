package node_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

const (
	nsMAM     = "urn:xmpp:mam:2"
	nsSID     = "urn:xmpp:sid:0"
	nsForward = "urn:xmpp:forward:0"
	nsDelay   = "urn:xmpp:delay"
	nsRSM     = "http://jabber.org/protocol/rsm"
)

// mamPage is what one archive query brought back.
type mamPage struct {
	ids    []string          // result ids, in the order received
	bodies []string          // body of each forwarded message
	fwd    []*xmltok.Element // the forwarded messages
	stamps []string          // delay stamps
	iq     *xmltok.Element   // the IQ result or error
	fin    *xmltok.Element
}

func (p mamPage) complete() string { return p.fin.Attr("complete") }

func (p mamPage) rsm(name string) string {
	if el := p.fin.Child(nsRSM, "set").Child(nsRSM, name); el != nil {
		return el.Text
	}
	return ""
}

// mamForm builds a query form from var/value pairs.
func mamForm(pairs ...string) string {
	var b strings.Builder
	b.WriteString("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>")
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(&b, "<field var='%s'><value>%s</value></field>", pairs[i], pairs[i+1])
	}
	b.WriteString("</x>")
	return b.String()
}

func mamRSM(inner string) string {
	return "<set xmlns='http://jabber.org/protocol/rsm'>" + inner + "</set>"
}

var mamQueries int

// mamQuery sends a query with the given children and collects the
// results until the IQ answer, checking each result's envelope.
func mamQuery(t *testing.T, c *xmpptest.Conn, children string) mamPage {
	t.Helper()
	mamQueries++
	id := fmt.Sprintf("mq%d", mamQueries)
	qid := "qid-" + id
	c.Send("<iq type='set' id='" + id + "'><query xmlns='urn:xmpp:mam:2' queryid='" + qid + "'>" + children + "</query></iq>")
	var p mamPage
	bare, _, _ := strings.Cut(c.JID, "/")
	for i := 0; i < 500; i++ {
		el := c.Next()
		if el.Local == "iq" && el.Attr("id") == id {
			p.iq = el
			p.fin = el.Child(nsMAM, "fin")
			if el.Attr("type") == "result" && (p.fin == nil || p.fin.Child(nsRSM, "set") == nil) {
				t.Fatalf("query result without fin/set: %s", el)
			}
			return p
		}
		r := el.Child(nsMAM, "result")
		if el.Local != "message" || r == nil {
			continue
		}
		if el.Attr("to") != c.JID || el.Attr("from") != bare || r.Attr("queryid") != qid {
			t.Fatalf("result envelope: %s", el)
		}
		f := r.Child(nsForward, "forwarded")
		if f == nil || f.Child(nsDelay, "delay") == nil || f.Child("jabber:client", "message") == nil {
			t.Fatalf("result without forwarded/delay/message: %s", el)
		}
		m := f.Child("jabber:client", "message")
		body := ""
		if b := m.Child("jabber:client", "body"); b != nil {
			body = b.Text
		}
		p.ids = append(p.ids, r.Attr("id"))
		p.bodies = append(p.bodies, body)
		p.fwd = append(p.fwd, m)
		p.stamps = append(p.stamps, f.Child(nsDelay, "delay").Attr("stamp"))
	}
	t.Fatal("no answer to the archive query")
	return p
}

// expectBodies checks a page's bodies and that it was a result.
func expectBodies(t *testing.T, name string, p mamPage, want ...string) {
	t.Helper()
	if p.iq.Attr("type") != "result" {
		t.Fatalf("%s: %s", name, p.iq)
	}
	if !slices.Equal(p.bodies, want) && !(len(p.bodies) == 0 && len(want) == 0) {
		t.Fatalf("%s: bodies %q, want %q", name, p.bodies, want)
	}
}

// expectMessage reads until a message with the id arrives.
func expectMessage(t *testing.T, c *xmpptest.Conn, id string) *xmltok.Element {
	t.Helper()
	for i := 0; i < 30; i++ {
		el := c.Next()
		if el.Local == "message" && el.Attr("id") == id {
			return el
		}
	}
	t.Fatalf("no message %s", id)
	return nil
}

// stanzaIDs returns the by → id of a message's stanza-ids.
func stanzaIDs(m *xmltok.Element) map[string]string {
	out := map[string]string{}
	for _, s := range m.ChildrenNamed(nsSID, "stanza-id") {
		out[s.Attr("by")] = s.Attr("id")
	}
	return out
}

func online(t *testing.T, s *xmpptest.Server, user, res string) *xmpptest.Conn {
	t.Helper()
	c := xmpptest.Login(t, s.C2S, "localhost", user, "pw", res)
	c.Send("<presence/>")
	c.Expect("presence")
	return c
}

func chat(to, id, body string) string {
	return "<message to='" + to + "' type='chat' id='" + id + "'><body>" + body + "</body></message>"
}

// TestMAMArchiving: both directions are archived, the recipient's copy
// carries the stanza-id of its archive, content-free messages and
// no-store hints stay out, OMEMO without a body goes in, a message to
// oneself is archived once, a spoofed stanza-id is replaced.
func TestMAMArchiving(t *testing.T) {
	s := xmpptest.Start(t, nil)
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	a := online(t, s, "alice", "a")
	b := online(t, s, "bob", "b")

	a.Send(chat("bob@localhost", "m1", "hello bob"))
	m1 := expectMessage(t, b, "m1")
	bobID := stanzaIDs(m1)["bob@localhost"]
	if bobID == "" || len(m1.ChildrenNamed(nsSID, "stanza-id")) != 1 {
		t.Fatalf("delivered without one stanza-id by bob: %s", m1)
	}
	b.Send(chat("alice@localhost/a", "m2", "hi alice"))
	m2 := expectMessage(t, a, "m2")
	if stanzaIDs(m2)["alice@localhost"] == "" {
		t.Fatalf("delivered without stanza-id: %s", m2)
	}
	// Not archived: a chat state alone, a no-store hint, a headline.
	a.Send("<message to='bob@localhost' type='chat' id='cs'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")
	a.Send("<message to='bob@localhost' type='chat' id='ns'><body>secret</body><no-store xmlns='urn:xmpp:hints'/></message>")
	a.Send("<message to='bob@localhost' type='headline' id='hl'><body>news</body></message>")
	// Archived: OMEMO without a body.
	a.Send("<message to='bob@localhost' type='chat' id='om'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><iv>AA==</iv></header><payload>BB==</payload></encrypted><store xmlns='urn:xmpp:hints'/></message>")
	for _, id := range []string{"cs", "ns", "hl"} {
		if m := expectMessage(t, b, id); len(stanzaIDs(m)) != 0 {
			t.Errorf("%s got a stanza-id: %s", id, m)
		}
	}
	if m := expectMessage(t, b, "om"); stanzaIDs(m)["bob@localhost"] == "" {
		t.Errorf("OMEMO message without stanza-id: %s", m)
	}
	// A spoofed stanza-id for bob's archive is replaced; others stay.
	a.Send("<message to='bob@localhost' type='chat' id='sp'><body>spoof</body><stanza-id xmlns='urn:xmpp:sid:0' by='bob@localhost' id='fake'/><stanza-id xmlns='urn:xmpp:sid:0' by='room@muc.example' id='keep'/></message>")
	sp := expectMessage(t, b, "sp")
	if ids := stanzaIDs(sp); len(sp.ChildrenNamed(nsSID, "stanza-id")) != 2 || ids["bob@localhost"] == "fake" || ids["bob@localhost"] == "" || ids["room@muc.example"] != "keep" {
		t.Errorf("spoofed stanza-id: %s", sp)
	}
	// Not archived, but still scrubbed: a spoof on a message without body.
	a.Send("<message to='bob@localhost' type='chat' id='sp2'><stanza-id xmlns='urn:xmpp:sid:0' by='bob@localhost' id='fake'/><active xmlns='http://jabber.org/protocol/chatstates'/></message>")
	if m := expectMessage(t, b, "sp2"); len(stanzaIDs(m)) != 0 {
		t.Errorf("spoofed stanza-id on an unarchived message: %s", m)
	}
	// To oneself: archived once.
	a.Send(chat("alice@localhost", "self", "note to self"))
	if m := expectMessage(t, a, "self"); stanzaIDs(m)["alice@localhost"] == "" {
		t.Errorf("message to oneself without stanza-id: %s", m)
	}

	p := mamQuery(t, a, "")
	expectBodies(t, "alice's archive", p, "hello bob", "hi alice", "", "spoof", "note to self")
	if p.complete() != "true" || p.rsm("count") != "5" || p.rsm("first") != p.ids[0] || p.rsm("last") != p.ids[4] {
		t.Errorf("fin: %s", p.iq)
	}
	if p.fwd[0].Attr("from") != "alice@localhost/a" || p.fwd[0].Attr("to") != "bob@localhost" || p.fwd[1].Attr("from") != "bob@localhost/b" {
		t.Errorf("forwarded addresses: %s / %s", p.fwd[0], p.fwd[1])
	}
	if p.fwd[1].Child(nsSID, "stanza-id") != nil {
		t.Errorf("archived copy carries the stanza-id: %s", p.fwd[1])
	}
	if p.fwd[2].Child("eu.siacs.conversations.axolotl", "encrypted") == nil {
		t.Errorf("OMEMO payload lost: %s", p.fwd[2])
	}
	if p.ids[1] != stanzaIDs(m2)["alice@localhost"] {
		t.Errorf("result id %s, stanza-id %s", p.ids[1], stanzaIDs(m2)["alice@localhost"])
	}
	for i := 1; i < len(p.stamps); i++ {
		if p.stamps[i] < p.stamps[i-1] || p.ids[i] <= p.ids[i-1] {
			t.Errorf("results out of order: %v %v", p.stamps, p.ids)
		}
	}
	pb := mamQuery(t, b, "")
	expectBodies(t, "bob's archive", pb, "hello bob", "hi alice", "", "spoof")
	if pb.ids[0] != bobID {
		t.Errorf("bob's result id %s, stanza-id %s", pb.ids[0], bobID)
	}
}

// TestMAMOffline: a message to an offline user is archived and the
// offline copy carries the stanza-id.
func TestMAMOffline(t *testing.T) {
	s := xmpptest.Start(t, nil)
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "bob", "pw")
	a := online(t, s, "alice", "a")
	a.Send(chat("bob@localhost", "off1", "while you were out"))
	a.Send(chat("nobody@localhost", "nb", "to nobody"))
	if e := expectMessage(t, a, "nb"); xmpptest.Condition(e) != "service-unavailable" {
		t.Fatalf("message to nobody: %s", e)
	}
	pingSync(t, a, "sync")
	b := online(t, s, "bob", "b")
	m := expectMessage(t, b, "off1")
	id := stanzaIDs(m)["bob@localhost"]
	if id == "" || m.Child(nsDelay, "delay") == nil {
		t.Fatalf("offline message: %s", m)
	}
	p := mamQuery(t, b, "")
	expectBodies(t, "bob's archive", p, "while you were out")
	if p.ids[0] != id {
		t.Errorf("archive id %s, stanza-id %s", p.ids[0], id)
	}
	expectBodies(t, "alice's archive", mamQuery(t, a, ""), "while you were out", "to nobody")
}

// mamFixture has alice exchange 10 messages: m0..m9, even ones to bob's
// phone, odd ones from bob's laptop, and m4, m8 with carol instead.
func mamFixture(t *testing.T, extra string) (s *xmpptest.Server, a *xmpptest.Conn, all mamPage) {
	t.Helper()
	s = xmpptest.Start(t, testConfig(t, extra))
	for _, u := range []string{"alice", "bob", "carol"} {
		s.AddUser(t, u, "pw")
	}
	a = online(t, s, "alice", "a")
	phone := online(t, s, "bob", "phone")
	laptop := online(t, s, "bob", "laptop")
	carol := online(t, s, "carol", "c")
	for i := range 10 {
		id, body := fmt.Sprintf("f%d", i), fmt.Sprintf("m%d", i)
		switch {
		case i%4 == 0 && i > 0:
			carol.Send(chat("alice@localhost", id, body))
		case i%2 == 0:
			a.Send(chat("bob@localhost/phone", id, body))
			expectMessage(t, phone, id)
			continue
		default:
			laptop.Send(chat("alice@localhost", id, body))
		}
		expectMessage(t, a, id)
	}
	// The whole archive, page by page whatever the page size.
	for after := ""; ; {
		p := mamQuery(t, a, mamRSM("<max>100</max>"+after))
		all.ids, all.bodies, all.stamps = append(all.ids, p.ids...), append(all.bodies, p.bodies...), append(all.stamps, p.stamps...)
		all.iq, all.fin = p.iq, p.fin
		if p.complete() == "true" {
			break
		}
		after = "<after>" + p.rsm("last") + "</after>"
	}
	expectBodies(t, "fixture", all, "m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9")
	return s, a, all
}

// TestMAMFilters: with (bare and full), start, end, before-id, after-id
// and ids, alone and together.
func TestMAMFilters(t *testing.T) {
	_, a, all := mamFixture(t, "")
	q := func(name string, children string, want ...string) mamPage {
		t.Helper()
		p := mamQuery(t, a, children)
		expectBodies(t, name, p, want...)
		return p
	}
	p := q("with bare", mamForm("with", "bob@localhost"), "m0", "m1", "m2", "m3", "m5", "m6", "m7", "m9")
	if p.rsm("count") != "8" {
		t.Errorf("with bare: count %q", p.rsm("count"))
	}
	q("with full", mamForm("with", "bob@localhost/laptop"), "m1", "m3", "m5", "m7", "m9")
	q("with phone", mamForm("with", "bob@localhost/phone"), "m0", "m2", "m6")
	q("with carol", mamForm("with", "carol@localhost"), "m4", "m8")
	q("with nobody", mamForm("with", "dave@localhost"))
	q("start", mamForm("start", all.stamps[7]), "m7", "m8", "m9")
	q("end", mamForm("end", all.stamps[2]), "m0", "m1", "m2")
	q("start and end", mamForm("start", all.stamps[3], "end", all.stamps[5]), "m3", "m4", "m5")
	q("start, end, with", mamForm("start", all.stamps[3], "end", all.stamps[8], "with", "carol@localhost"), "m4", "m8")
	q("start far future", mamForm("start", "2999-01-01T00:00:00Z"))
	q("end long ago, offset", mamForm("end", "2001-01-01T00:00:00+02:00"))
	q("after-id", mamForm("after-id", all.ids[6]), "m7", "m8", "m9")
	q("before-id", mamForm("before-id", all.ids[2]), "m0", "m1")
	q("between", mamForm("after-id", all.ids[1], "before-id", all.ids[5]), "m2", "m3", "m4")
	q("between, with", mamForm("after-id", all.ids[1], "before-id", all.ids[9], "with", "bob@localhost/phone"), "m2", "m6")
	ids := "<field var='ids'><value>" + all.ids[8] + "</value><value>" + all.ids[3] + "</value></field>"
	q("ids", strings.Replace(mamForm(), "</x>", ids+"</x>", 1), "m3", "m8")
	q("ids, with", strings.Replace(mamForm("with", "carol@localhost"), "</x>", ids+"</x>", 1), "m8")
	// Empty values are as if the field were not there; include-groupchat is understood.
	q("empty with", mamForm("with", "", "include-groupchat", "false"), "m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9")
}

// TestMAMPaging: RSM forward and backward, the last page, flip-page,
// max 0, and the configured page sizes.
func TestMAMPaging(t *testing.T) {
	_, a, all := mamFixture(t, "[modules.mam]\ndefault_page = 4\nmax_page = 6\n")
	// Forward, the default page size.
	p := mamQuery(t, a, "")
	expectBodies(t, "first page", p, "m0", "m1", "m2", "m3")
	if p.complete() != "false" || p.rsm("count") != "10" || p.fin.Child(nsRSM, "set").Child(nsRSM, "first").Attr("index") != "0" {
		t.Errorf("first page fin: %s", p.iq)
	}
	p = mamQuery(t, a, mamRSM("<max>3</max><after>"+p.rsm("last")+"</after>"))
	expectBodies(t, "second page", p, "m4", "m5", "m6")
	p = mamQuery(t, a, mamRSM("<max>3</max><after>"+p.rsm("last")+"</after>"))
	expectBodies(t, "third page", p, "m7", "m8", "m9")
	if p.complete() != "true" {
		t.Errorf("last forward page: %s", p.iq)
	}
	// The server caps max.
	expectBodies(t, "capped", mamQuery(t, a, mamRSM("<max>100</max>")), "m0", "m1", "m2", "m3", "m4", "m5")
	// Backward from the end.
	p = mamQuery(t, a, mamRSM("<max>3</max><before/>"))
	expectBodies(t, "last page", p, "m7", "m8", "m9")
	if p.complete() != "false" || p.fin.Child(nsRSM, "set").Child(nsRSM, "first").Attr("index") != "7" {
		t.Errorf("last page fin: %s", p.iq)
	}
	p = mamQuery(t, a, mamRSM("<max>3</max><before>"+p.rsm("first")+"</before>"))
	expectBodies(t, "page before", p, "m4", "m5", "m6")
	p = mamQuery(t, a, mamRSM("<max>3</max><before>"+p.rsm("first")+"</before>"))
	expectBodies(t, "page before that", p, "m1", "m2", "m3")
	p = mamQuery(t, a, mamRSM("<max>3</max><before>"+p.rsm("first")+"</before>"))
	expectBodies(t, "first, backwards", p, "m0")
	if p.complete() != "true" {
		t.Errorf("first page backwards: %s", p.iq)
	}
	// Backward within a filter.
	p = mamQuery(t, a, mamForm("with", "bob@localhost/laptop")+mamRSM("<max>2</max><before/>"))
	expectBodies(t, "last page with", p, "m7", "m9")
	p = mamQuery(t, a, mamForm("with", "bob@localhost/laptop")+mamRSM("<max>2</max><before>"+p.rsm("first")+"</before>"))
	expectBodies(t, "page before with", p, "m3", "m5")
	// Flipped: same page, newest first; first/last still name the oldest and newest.
	plain := mamQuery(t, a, mamRSM("<max>3</max><before/>"))
	flipped := mamQuery(t, a, mamRSM("<max>3</max><before/>")+"<flip-page/>")
	expectBodies(t, "flipped", flipped, "m9", "m8", "m7")
	if flipped.rsm("first") != plain.rsm("first") || flipped.rsm("last") != plain.rsm("last") || flipped.complete() != plain.complete() {
		t.Errorf("flipped fin %s, plain %s", flipped.iq, plain.iq)
	}
	flipped = mamQuery(t, a, mamRSM("<max>2</max><after>"+all.ids[2]+"</after>")+"<flip-page/>")
	expectBodies(t, "flipped forward", flipped, "m4", "m3")
	// max 0: the count only.
	p = mamQuery(t, a, mamRSM("<max>0</max>"))
	expectBodies(t, "max 0", p)
	if p.rsm("count") != "10" || p.rsm("first") != "" {
		t.Errorf("max 0: %s", p.iq)
	}
}

// TestMAMPrefs: never and always, the lists, roster, and what get returns.
func TestMAMPrefs(t *testing.T) {
	s := xmpptest.Start(t, nil)
	for _, u := range []string{"alice", "bob", "carol"} {
		s.AddUser(t, u, "pw")
	}
	a := online(t, s, "alice", "a")
	b := online(t, s, "bob", "b")
	c := online(t, s, "carol", "c")
	prefs := func(set string) *xmltok.Element {
		t.Helper()
		if set == "" {
			a.Send("<iq type='get' id='pg'><prefs xmlns='urn:xmpp:mam:2'/></iq>")
		} else {
			a.Send("<iq type='set' id='pg'>" + set + "</iq>")
		}
		r := a.Expect("iq")
		if r.Attr("type") != "result" || r.Child(nsMAM, "prefs") == nil {
			t.Fatalf("prefs: %s", r)
		}
		return r.Child(nsMAM, "prefs")
	}
	if p := prefs(""); p.Attr("default") != "always" || p.Child(nsMAM, "always") == nil || p.Child(nsMAM, "never") == nil {
		t.Fatalf("default prefs: %s", p)
	}
	// Never, but always bob.
	p := prefs("<prefs xmlns='urn:xmpp:mam:2' default='never'><always><jid>bob@localhost</jid></always><never/></prefs>")
	if p.Attr("default") != "never" || p.Child(nsMAM, "always").Child(nsMAM, "jid").Text != "bob@localhost" {
		t.Fatalf("set prefs: %s", p)
	}
	b.Send(chat("alice@localhost", "p1", "from bob"))
	if m := expectMessage(t, a, "p1"); stanzaIDs(m)["alice@localhost"] == "" {
		t.Errorf("always-listed contact not archived: %s", m)
	}
	c.Send(chat("alice@localhost", "p2", "from carol"))
	if m := expectMessage(t, a, "p2"); len(stanzaIDs(m)) != 0 {
		t.Errorf("never-default message archived: %s", m)
	}
	a.Send(chat("carol@localhost", "p3", "to carol"))
	expectMessage(t, c, "p3")
	expectBodies(t, "never but bob", mamQuery(t, a, ""), "from bob")
	// Always, but never carol's phone: her other resources are archived.
	prefs("<prefs xmlns='urn:xmpp:mam:2' default='always'><never><jid>carol@localhost/phone</jid></never></prefs>")
	c.Send(chat("alice@localhost", "p4", "from carol/c"))
	if m := expectMessage(t, a, "p4"); stanzaIDs(m)["alice@localhost"] == "" {
		t.Errorf("not archived: %s", m)
	}
	a.Send(chat("carol@localhost/phone", "p5", "to carol/phone"))
	pingSync(t, a, "sync")
	expectBodies(t, "always but carol/phone", mamQuery(t, a, ""), "from bob", "from carol/c")
	// Roster: bob is in alice's roster, carol is not.
	a.Send("<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='bob@localhost'/></query></iq>")
	for el := a.Next(); el.Local != "iq" || el.Attr("id") != "r1"; el = a.Next() {
	}
	prefs("<prefs xmlns='urn:xmpp:mam:2' default='roster'/>")
	b.Send(chat("alice@localhost", "p6", "roster bob"))
	expectMessage(t, a, "p6")
	c.Send(chat("alice@localhost", "p7", "stranger carol"))
	expectMessage(t, a, "p7")
	expectBodies(t, "roster", mamQuery(t, a, ""), "from bob", "from carol/c", "roster bob")
	// Bad preferences.
	for _, bad := range []struct{ set, cond string }{
		{"<prefs xmlns='urn:xmpp:mam:2' default='sometimes'/>", "bad-request"},
		{"<prefs xmlns='urn:xmpp:mam:2'/>", "bad-request"},
		{"<prefs xmlns='urn:xmpp:mam:2' default='always'><always><jid>@@</jid></always></prefs>", "jid-malformed"},
	} {
		a.Send("<iq type='set' id='bad'>" + bad.set + "</iq>")
		if r := a.Expect("iq"); r.Attr("type") != "error" || xmpptest.Condition(r) != bad.cond {
			t.Errorf("%s: %s, want %s", bad.set, r, bad.cond)
		}
	}
	if p := prefs(""); p.Attr("default") != "roster" {
		t.Errorf("prefs after bad sets: %s", p)
	}
}

// TestMAMErrors: bad forms, unknown ids, someone else's archive.
func TestMAMErrors(t *testing.T) {
	_, a, all := mamFixture(t, "")
	unknown := "000000000000000000000000zz"
	for _, tc := range []struct{ name, children, cond string }{
		{"wrong FORM_TYPE", "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:1</value></field></x>", "bad-request"},
		{"form not submitted", "<x xmlns='jabber:x:data' type='form'><field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field></x>", "bad-request"},
		{"bad start", mamForm("start", "yesterday"), "bad-request"},
		{"bad end", mamForm("end", "2020-13-01T00:00:00Z"), "bad-request"},
		{"date without zone", mamForm("start", "2020-01-01T00:00:00"), "bad-request"},
		{"bad with", mamForm("with", "@localhost"), "bad-request"},
		{"two values", "<x xmlns='jabber:x:data' type='submit'><field var='with'><value>a@localhost</value><value>b@localhost</value></field></x>", "bad-request"},
		{"field twice", mamForm("with", "a@localhost", "with", "b@localhost"), "bad-request"},
		{"unknown field", mamForm("{urn:example}fulltext", "x"), "feature-not-implemented"},
		{"bad max", mamRSM("<max>many</max>"), "bad-request"},
		{"negative max", mamRSM("<max>-1</max>"), "bad-request"},
		{"empty after", mamRSM("<after/>"), "bad-request"},
		{"rsm index", mamRSM("<max>2</max><index>3</index>"), "feature-not-implemented"},
		{"unknown after", mamRSM("<after>" + unknown + "</after>"), "item-not-found"},
		{"unknown before", mamRSM("<before>" + unknown + "</before>"), "item-not-found"},
		{"malformed after", mamRSM("<after>not-an-id</after>"), "item-not-found"},
		{"unknown after-id", mamForm("after-id", unknown), "item-not-found"},
		{"unknown before-id", mamForm("before-id", unknown), "item-not-found"},
		{"unknown ids", strings.Replace(mamForm(), "</x>", "<field var='ids'><value>"+all.ids[0]+"</value><value>"+unknown+"</value></field></x>", 1), "item-not-found"},
	} {
		p := mamQuery(t, a, tc.children)
		if p.iq.Attr("type") != "error" || xmpptest.Condition(p.iq) != tc.cond || len(p.ids) != 0 {
			t.Errorf("%s: %s (%d results), want %s", tc.name, p.iq, len(p.ids), tc.cond)
		}
	}
	// Someone else's archive, and asking for it in any way.
	for _, req := range []string{
		"<iq type='set' id='x1' to='bob@localhost'><query xmlns='urn:xmpp:mam:2'/></iq>",
		"<iq type='get' id='x2' to='bob@localhost'><query xmlns='urn:xmpp:mam:2'/></iq>",
		"<iq type='get' id='x3' to='bob@localhost'><prefs xmlns='urn:xmpp:mam:2'/></iq>",
		"<iq type='get' id='x4' to='bob@localhost'><metadata xmlns='urn:xmpp:mam:2'/></iq>",
	} {
		a.Send(req)
		for {
			el := a.Next()
			if el.Local == "message" {
				t.Fatalf("%s: got a message %s", req, el)
			}
			if el.Local == "iq" {
				if el.Attr("type") != "error" || xmpptest.Condition(el) != "forbidden" {
					t.Errorf("%s: %s, want forbidden", req, el)
				}
				break
			}
		}
	}
}

// TestMAMDiscovery: disco features, the form, metadata, and the archive
// going with the account.
func TestMAMDiscovery(t *testing.T) {
	s, a, all := mamFixture(t, "")
	a.Send("<iq type='get' id='d1' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	r := a.Expect("iq")
	var features []string
	for _, f := range r.Child("http://jabber.org/protocol/disco#info", "query").ChildrenNamed("", "feature") {
		features = append(features, f.Attr("var"))
	}
	for _, f := range []string{"urn:xmpp:mam:2", "urn:xmpp:mam:2#extended", "urn:xmpp:sid:0"} {
		if !slices.Contains(features, f) {
			t.Errorf("disco features %v lack %s", features, f)
		}
	}
	a.Send("<iq type='get' id='f1'><query xmlns='urn:xmpp:mam:2'/></iq>")
	r = a.Expect("iq")
	x := r.Child(nsMAM, "query").Child("jabber:x:data", "x")
	var vars []string
	for _, f := range x.ChildrenNamed("jabber:x:data", "field") {
		vars = append(vars, f.Attr("var"))
	}
	for _, v := range []string{"FORM_TYPE", "with", "start", "end", "before-id", "after-id", "ids"} {
		if !slices.Contains(vars, v) {
			t.Errorf("form fields %v lack %s", vars, v)
		}
	}
	a.Send("<iq type='get' id='md'><metadata xmlns='urn:xmpp:mam:2'/></iq>")
	r = a.Expect("iq")
	md := r.Child(nsMAM, "metadata")
	if md == nil || md.Child(nsMAM, "start").Attr("id") != all.ids[0] || md.Child(nsMAM, "end").Attr("id") != all.ids[9] ||
		md.Child(nsMAM, "start").Attr("timestamp") != all.stamps[0] || md.Child(nsMAM, "end").Attr("timestamp") != all.stamps[9] {
		t.Errorf("metadata: %s", r)
	}
	// The archive goes with the account.
	if err := s.Core().RemoveUser(context.Background(), mustJID(t, "alice@localhost")); err != nil {
		t.Fatal(err)
	}
	s.AddUser(t, "alice", "pw")
	a = online(t, s, "alice", "a")
	expectBodies(t, "archive of a new account", mamQuery(t, a, ""))
	a.Send("<iq type='get' id='md2'><metadata xmlns='urn:xmpp:mam:2'/></iq>")
	if r := a.Expect("iq"); r.Child(nsMAM, "metadata") == nil || len(r.Child(nsMAM, "metadata").Children) != 0 {
		t.Errorf("metadata of an empty archive: %s", r)
	}
}
