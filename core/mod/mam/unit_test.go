package mam

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

func TestIDText(t *testing.T) {
	g := idGen{now: time.Now}
	prev := g.next()
	for range 1000 {
		id := g.next()
		s := id.String()
		if len(s) != 26 {
			t.Fatalf("%q: %d characters", s, len(s))
		}
		back, ok := ParseID(s)
		if !ok || back != id {
			t.Fatalf("ParseID(%q) = %v, %v; want %v", s, back, ok, id)
		}
		if up, ok := ParseID(strings.ToUpper(s)); !ok || up != id {
			t.Fatalf("upper case %q not read", s)
		}
		// Time order, in the IDs and in their text.
		if id.Compare(prev) <= 0 || s <= prev.String() {
			t.Fatalf("%s after %s", s, prev)
		}
		prev = id
	}
	for _, bad := range []string{"", "x", "000sgk7zhspry8xq0d7vfr41s", "000sgk7zhspry8xq0d7vfr41s1x", "800sgk7zhspry8xq0d7vfr41s1",
		"000sgk7zhspry8xq0d7vfr41si", "000sgk7zhspry8xq0d7vfr41s-", "00000000000000000000000000"} {
		if _, ok := ParseID(bad); ok {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
	if s := MaxID.String(); s != "7zzzzzzzzzzzzzzzzzzzzzzzzz" {
		t.Errorf("MaxID = %s", s)
	}
}

func TestIDTime(t *testing.T) {
	at := time.Date(2026, 11, 26, 12, 0, 0, 123456789, time.UTC)
	g := idGen{now: func() time.Time { return at }}
	a, b := g.next(), g.next()
	if !a.Time().Equal(at.Truncate(time.Microsecond)) {
		t.Errorf("Time = %v, want %v", a.Time(), at)
	}
	// Same clock reading: still strictly increasing, one microsecond on.
	if b.Micros() != a.Micros()+1 {
		t.Errorf("second ID at %d, first at %d", b.Micros(), a.Micros())
	}
	// A clock stepping back does not break the order.
	at = at.Add(-time.Hour)
	if c := g.next(); c.Compare(b) <= 0 {
		t.Errorf("after a clock step back: %v <= %v", c, b)
	}
	if FirstIDAt(at).Compare(LastIDAt(at)) >= 0 || FirstIDAt(at).Time() != LastIDAt(at).Time() {
		t.Error("FirstIDAt/LastIDAt")
	}
	if !FirstIDAt(time.Time{}).IsZero() || !LastIDAt(time.Unix(-5, 0)).IsZero() {
		t.Error("times before 1970 are not the zero ID")
	}
	if a.Next().Prev() != a || MaxID.Next() != MaxID || (ID{}).Prev() != (ID{}) {
		t.Error("Next/Prev")
	}
	x := ID{15: 0xff}
	if n := x.Next(); n != (ID{14: 1}) {
		t.Errorf("Next carries: %v", n)
	}
}

func msg(t *testing.T, s string) *stanza.Stanza {
	t.Helper()
	el, err := xmltok.Parse([]byte(s), stanza.NSClient, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := &stanza.Stanza{Kind: stanza.KindOf(el.Local), Bytes: []byte(s), Type: el.Attr("type"), ID: el.Attr("id")}
	st.To, _ = jid.Parse(el.Attr("to"))
	st.From, _ = jid.Parse(el.Attr("from"))
	return st
}

func TestArchivable(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		{"<message type='chat'><body>hi</body></message>", true},
		{"<message><body>hi</body></message>", true},
		{"<message type='normal'><body>hi</body></message>", true},
		{"<message type='groupchat'><body>hi</body></message>", false},
		{"<message type='headline'><body>hi</body></message>", false},
		{"<message type='error'><body>hi</body><error type='cancel'/></message>", false},
		{"<message type='chat'/>", false},
		{"<message type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>", false},
		{"<message type='chat'><received xmlns='urn:xmpp:receipts' id='x'/></message>", false},
		{"<message type='chat'><encrypted xmlns='eu.siacs.conversations.axolotl'/></message>", true},
		{"<message type='chat'><encrypted xmlns='urn:xmpp:omemo:2'/></message>", true},
		{"<message type='chat'><openpgp xmlns='urn:xmpp:openpgp:0'>x</openpgp></message>", true},
		{"<message type='chat'><retract xmlns='urn:xmpp:message-retract:1' id='x'/></message>", true},
		{"<message type='chat'><reactions xmlns='urn:xmpp:reactions:0' id='x'/></message>", true},
		{"<message type='chat'><propose xmlns='urn:xmpp:jingle-message:0' id='x'/></message>", true},
		{"<message type='chat'><store xmlns='urn:xmpp:hints'/></message>", true},
		{"<message type='chat'><body>x</body><no-store xmlns='urn:xmpp:hints'/></message>", false},
		{"<message type='chat'><body>x</body><no-permanent-store xmlns='urn:xmpp:hints'/></message>", false},
		{"<message type='chat'><body xmlns='urn:other'>x</body></message>", false},
	} {
		if got := archivable(msg(t, tc.msg)); got != tc.want {
			t.Errorf("archivable(%s) = %v", tc.msg, got)
		}
	}
}

func TestClientNS(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<message to='a@b'><body>x</body></message>", "<message xmlns='jabber:client' to='a@b'><body>x</body></message>"},
		{"<message\tto='a@b'\n/>", "<message xmlns='jabber:client'\tto='a@b'\n/>"},
		{"<message xmlns='jabber:client' to='a@b'/>", "<message xmlns='jabber:client' to='a@b'/>"},
		{"<message to=\"x'>y\" xmlns = \"jabber:client\"><body/></message>", "<message to=\"x'>y\" xmlns = \"jabber:client\"><body/></message>"},
		{"<message xmlns:xmlnsx='urn:x' to='a@b'/>", "<message xmlns='jabber:client' xmlns:xmlnsx='urn:x' to='a@b'/>"},
		{"<c:message xmlns:c='jabber:client'><body>x</body></c:message>", "<c:message xmlns='jabber:client' xmlns:c='jabber:client'><body>x</body></c:message>"},
		// Mixed content survives byte for byte.
		{"<message><body>x</body><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>Hello <b>world</b>!</p></body></html></message>",
			"<message xmlns='jabber:client'><body>x</body><html xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'><p>Hello <b>world</b>!</p></body></html></message>"},
	} {
		st := msg(t, tc.in)
		got := string(clientNS(st))
		if got != tc.want {
			t.Errorf("clientNS(%s) = %s, want %s", tc.in, got, tc.want)
		}
		// Embedded in another namespace, it parses back to jabber:client.
		wrapped := "<forwarded xmlns='urn:xmpp:forward:0'>" + got + "</forwarded>"
		el, err := xmltok.Parse([]byte(wrapped), "", nil)
		if err != nil || len(el.Children) != 1 || el.Children[0].Space != stanza.NSClient {
			t.Errorf("%s does not embed: %v", got, err)
		}
	}
}

func TestStanzaIDs(t *testing.T) {
	alice := jid.MustParse("alice@example.com")
	id := ID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	in := msg(t, "<message from='bob@example.com/x' to='alice@example.com' id='m1'><body>x</body></message>")
	if got := stripStanzaIDs(in, alice); got != in {
		t.Error("stripStanzaIDs copied a message without stanza-ids")
	}
	out := withStanzaID(in, alice, id)
	want := "<message from='bob@example.com/x' to='alice@example.com' id='m1'><body>x</body><stanza-id xmlns='urn:xmpp:sid:0' by='alice@example.com' id='" + id.String() + "'/></message>"
	if string(out.Bytes) != want || out.To != in.To || out.From != in.From || out.ID != "m1" {
		t.Errorf("withStanzaID = %s", out.Bytes)
	}
	spoofed := msg(t, "<message from='bob@example.com/x' to='alice@example.com'><stanza-id xmlns='urn:xmpp:sid:0' by='Alice@Example.com' id='fake'/><body>x</body><stanza-id xmlns='urn:xmpp:sid:0' by='room@muc' id='keep'/><origin-id xmlns='urn:xmpp:sid:0' id='o'/></message>")
	clean := stripStanzaIDs(spoofed, alice)
	el, _ := clean.Element()
	var left []string
	for _, c := range el.Children {
		left = append(left, c.Local+":"+c.Attr("id"))
	}
	if !slices.Equal(left, []string{"body:", "stanza-id:keep", "origin-id:o"}) || clean.From != spoofed.From {
		t.Errorf("after stripping: %v (%s)", left, clean.Bytes)
	}
	// A prefixed end tag: built from the tree instead of spliced.
	pre := msg(t, "<c:message xmlns:c='jabber:client' to='alice@example.com'><c:body>x</c:body></c:message>")
	out = withStanzaID(pre, alice, id)
	el, err := out.Element()
	if err != nil || el.Child(NSSID, "stanza-id").Attr("id") != id.String() {
		t.Errorf("withStanzaID on a prefixed message: %s, %v", out.Bytes, err)
	}
}

func TestPrefsAllow(t *testing.T) {
	bob, phone, carol := jid.MustParse("bob@x"), jid.MustParse("bob@x/phone"), jid.MustParse("carol@x/r")
	roster := func(in bool) func() bool { return func() bool { return in } }
	for _, tc := range []struct {
		name   string
		p      Prefs
		target jid.JID
		inRost bool
		want   bool
	}{
		{"always", Prefs{Default: Always}, bob, false, true},
		{"never", Prefs{Default: Never}, bob, true, false},
		{"roster in", Prefs{Default: Roster}, phone, true, true},
		{"roster out", Prefs{Default: Roster}, phone, false, false},
		{"never but bare listed", Prefs{Default: Never, Always: []jid.JID{bob}}, phone, false, true},
		{"always but bare never", Prefs{Default: Always, Never: []jid.JID{bob}}, phone, false, false},
		{"full entry does not match another resource", Prefs{Default: Always, Never: []jid.JID{phone}}, jid.MustParse("bob@x/laptop"), false, true},
		{"full entry does not match bare", Prefs{Default: Always, Never: []jid.JID{phone}}, bob, false, true},
		{"full entry wins over bare", Prefs{Default: Never, Never: []jid.JID{bob}, Always: []jid.JID{phone}}, phone, false, true},
		{"never wins at the same level", Prefs{Default: Always, Never: []jid.JID{bob}, Always: []jid.JID{bob}}, phone, false, false},
		{"unlisted", Prefs{Default: Never, Always: []jid.JID{bob}}, carol, true, false},
	} {
		if got := tc.p.allows(tc.target, roster(tc.inRost)); got != tc.want {
			t.Errorf("%s: allows = %v", tc.name, got)
		}
	}
}

func TestParsePrefs(t *testing.T) {
	parse := func(s string) (Prefs, error) {
		el, err := xmltok.Parse([]byte(s), stanza.NSClient, nil)
		if err != nil {
			t.Fatal(err)
		}
		return parsePrefs(el)
	}
	p, err := parse("<prefs xmlns='urn:xmpp:mam:2' default='roster'><always><jid>a@x</jid><jid> a@x </jid><jid>b@x/r</jid></always><never><jid>c@x</jid></never></prefs>")
	if err != nil || p.Default != Roster || len(p.Always) != 2 || len(p.Never) != 1 {
		t.Fatalf("%+v %v", p, err)
	}
	back := prefsElement(p).String()
	if back != "<prefs xmlns='urn:xmpp:mam:2' default='roster'><always><jid>a@x</jid><jid>b@x/r</jid></always><never><jid>c@x</jid></never></prefs>" {
		t.Errorf("prefsElement = %s", back)
	}
	for _, bad := range []string{
		"<prefs xmlns='urn:xmpp:mam:2'/>",
		"<prefs xmlns='urn:xmpp:mam:2' default='sometimes'/>",
		"<prefs xmlns='urn:xmpp:mam:2' default='always'><always/><always/></prefs>",
		"<prefs xmlns='urn:xmpp:mam:2' default='always'><never><jid>@x</jid></never></prefs>",
		"<prefs xmlns='urn:xmpp:mam:2' default='always'><never>" + strings.Repeat("<jid>a@x</jid>", maxPrefsJIDs+1) + "</never></prefs>",
	} {
		if _, err := parse(bad); err == nil {
			t.Errorf("parsePrefs(%.80s) accepted", bad)
		}
	}
}

func TestParseQuery(t *testing.T) {
	m := &Module{cfg: Config{DefaultPage: 20, MaxPage: 100}}
	parse := func(s string) (Query, bool, error) {
		el, err := xmltok.Parse([]byte("<query xmlns='urn:xmpp:mam:2'>"+s+"</query>"), stanza.NSClient, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m.parseQuery(el)
	}
	q, flip, err := parse("")
	if err != nil || flip || q.Max != 20 || q.IDs != nil || q.Last {
		t.Fatalf("empty query: %+v %v %v", q, flip, err)
	}
	id := ID{1, 2, 3}
	q, flip, err = parse("<x xmlns='jabber:x:data' type='submit'>" +
		"<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>" +
		"<field var='with'><value>bob@x/r</value></field>" +
		"<field var='start'><value>2010-06-07T00:00:00Z</value></field>" +
		"<field var='end'><value>2010-07-07T13:23:54.5+02:00</value></field>" +
		"<field var='after-id'><value>" + id.String() + "</value></field>" +
		"<field var='ids'><value>" + id.String() + "</value><value>" + id.Next().String() + "</value></field>" +
		"</x><set xmlns='http://jabber.org/protocol/rsm'><max>500</max><before/></set><flip-page/>")
	if err != nil || !flip || q.Max != 100 || !q.Last || !q.Before.IsZero() || q.With.String() != "bob@x/r" ||
		!q.Start.Equal(time.Date(2010, 6, 7, 0, 0, 0, 0, time.UTC)) || !q.End.Equal(time.Date(2010, 7, 7, 11, 23, 54, 5e8, time.UTC)) ||
		q.AfterID != id || len(q.IDs) != 2 {
		t.Fatalf("full query: %+v %v %v", q, flip, err)
	}
	q, _, err = parse("<x xmlns='jabber:x:data' type='submit'><field var='ids'/><field var='with'><value/></field></x>")
	if err != nil || q.IDs != nil || !q.With.IsZero() {
		t.Errorf("empty fields: %+v %v", q, err)
	}
	for _, tc := range []struct{ children, cond string }{
		{"<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>jabber:iq:search</value></field></x>", "bad-request"},
		{"<x xmlns='jabber:x:data' type='submit'/><x xmlns='jabber:x:data' type='submit'/>", "bad-request"},
		{"<x xmlns='jabber:x:data'/>", "bad-request"},
		{"<x xmlns='jabber:x:data' type='submit'><field><value>x</value></field></x>", "bad-request"},
		{"<x xmlns='jabber:x:data' type='submit'><field var='include-groupchat'><value>maybe</value></field></x>", "bad-request"},
		{"<x xmlns='jabber:x:data' type='submit'><field var='start'><value>2010-06-07</value></field></x>", "bad-request"},
		{"<x xmlns='jabber:x:data' type='submit'><field var='before-id'><value>nope</value></field></x>", "item-not-found"},
		{"<x xmlns='jabber:x:data' type='submit'><field var='ids'><value>nope</value></field></x>", "item-not-found"},
		{"<x xmlns='jabber:x:data' type='submit'><field var='urn:example:search'><value>x</value></field></x>", "feature-not-implemented"},
		{"<set xmlns='http://jabber.org/protocol/rsm'/><set xmlns='http://jabber.org/protocol/rsm'/>", "bad-request"},
		{"<set xmlns='http://jabber.org/protocol/rsm'><before>nope</before></set>", "item-not-found"},
	} {
		_, _, err := parse(tc.children)
		var se *stanza.Error
		if !errors.As(err, &se) || se.Condition != tc.cond {
			t.Errorf("%s: %v, want %s", tc.children, err, tc.cond)
		}
	}
}

func TestResultMessage(t *testing.T) {
	id := ID{0, 0, 0, 1}
	b := resultMessage("alice@x/r", "alice@x", "q'1", Message{ID: id, Stanza: []byte("<message xmlns='jabber:client' from='bob@x/y'><body>&lt;hi&gt;</body></message>")})
	el, err := xmltok.Parse(b, stanza.NSClient, nil)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	r := el.Child(NS, "result")
	f := r.Child(NSForward, "forwarded")
	if el.Attr("to") != "alice@x/r" || r.Attr("queryid") != "q'1" || r.Attr("id") != id.String() ||
		f.Child(NSDelay, "delay").Attr("stamp") != id.Time().Format(stampLayout) ||
		f.Child(stanza.NSClient, "message").Child(stanza.NSClient, "body").Text != "<hi>" {
		t.Errorf("result: %s", b)
	}
	if _, err := time.Parse(time.RFC3339Nano, f.Child(NSDelay, "delay").Attr("stamp")); err != nil {
		t.Errorf("stamp: %v", err)
	}
}
