package blocking

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/meridian-xmpp/meridian/core/mod/internal/modtest"
	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
)

// rosterStub lists items per user.
type rosterStub map[jid.JID][]roster.Item

func (r rosterStub) Items(_ context.Context, user jid.JID) ([]roster.Item, uint64, error) {
	return r[user], 1, nil
}

type env struct {
	h     *modtest.Host
	store *modtest.UserData
	m     *Module
}

func setup(t *testing.T, cfg Config, r rosterStub) *env {
	t.Helper()
	h := modtest.New(time.Unix(0, 0), "example.com")
	s := modtest.NewUserData()
	h.SetStore("userdata", s)
	if r != nil {
		h.SetStore("roster", r)
	}
	inst, err := New(h, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{alice, bob, "carol@example.com", "dave@example.com"} {
		h.AddUser(modtest.JID(t, u), "pw")
	}
	return &env{h: h, store: s, m: inst.(*Module)}
}

func el(t *testing.T, s string) *xmltok.Element {
	t.Helper()
	e, err := xmltok.Parse([]byte(s), stanza.NSClient, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func st(t *testing.T, s string) *stanza.Stanza { return stanza.FromElement(el(t, s)) }

func (e *env) iq(t *testing.T, from, typ, payload string) (*xmltok.Element, error) {
	t.Helper()
	return e.h.IQ(context.Background(), t, from, "", typ, el(t, payload))
}

func (e *env) blocklist(t *testing.T, from string) string {
	t.Helper()
	res, err := e.iq(t, from, "get", "<blocklist xmlns='urn:xmpp:blocking'/>")
	if err != nil {
		t.Fatalf("blocklist: %v", err)
	}
	return res.String()
}

// events returns the events since the call marked n, and the new mark.
func (e *env) events(n *int) []string {
	all := e.h.Events()
	out := all[*n:]
	*n = len(all)
	return out
}

func (e *env) send(from module.SessionInfo, s *stanza.Stanza) *stanza.Stanza {
	for _, hk := range e.h.RunHooks() {
		if hk.UserSend != nil {
			if s = hk.UserSend(context.Background(), from, s); s == nil {
				return nil
			}
		}
	}
	return s
}

func (e *env) receive(to jid.JID, s *stanza.Stanza) *stanza.Stanza {
	for _, hk := range e.h.RunHooks() {
		if hk.UserReceive != nil {
			if s = hk.UserReceive(context.Background(), to, s); s == nil {
				return nil
			}
		}
	}
	return s
}

func TestBlocklistAndPushes(t *testing.T) {
	e := setup(t, Config{MaxItems: 1000}, nil)
	a1 := module.SessionInfo{JID: modtest.JID(t, alice+"/one")}
	a2 := module.SessionInfo{JID: modtest.JID(t, alice+"/two")}
	e.h.AddSession(a1)
	e.h.AddSession(a2)
	if got := e.blocklist(t, alice+"/one"); got != "<blocklist xmlns='urn:xmpp:blocking'/>" {
		t.Fatalf("empty blocklist: %s", got)
	}
	var mark int
	e.events(&mark)
	// Only /one asked for the list, so only /one gets pushes (§3.3).
	res, err := e.iq(t, alice+"/two", "set", "<block xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/><item jid='Iago@Shakespeare.lit'/><item jid='romeo@montague.net'/></block>")
	if err != nil || res != nil {
		t.Fatalf("block: %v %v", res, err)
	}
	ev := e.events(&mark)
	if len(ev) != 1 || !strings.HasPrefix(ev[0], "deliver alice@example.com/one <iq type='set' id='block-push-") ||
		!strings.HasSuffix(ev[0], "to='alice@example.com/one'><block xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/><item jid='iago@shakespeare.lit'/></block></iq>") {
		t.Fatalf("push: %q", ev)
	}
	const two = "<blocklist xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/><item jid='iago@shakespeare.lit'/></blocklist>"
	if got := e.blocklist(t, alice+"/two"); got != two {
		t.Fatalf("blocklist: %s", got)
	}
	// Blocking again changes nothing but is still pushed.
	if _, err := e.iq(t, alice+"/one", "set", "<block xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/></block>"); err != nil {
		t.Fatal(err)
	}
	if got := e.blocklist(t, alice+"/one"); got != two {
		t.Fatalf("after blocking twice: %s", got)
	}
	e.events(&mark)
	// Unblock one: both resources asked by now.
	if _, err := e.iq(t, alice+"/one", "set", "<unblock xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/></unblock>"); err != nil {
		t.Fatal(err)
	}
	ev = e.events(&mark)
	if len(ev) != 2 || !strings.Contains(ev[0], "<unblock xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/></unblock>") {
		t.Fatalf("unblock pushes: %q", ev)
	}
	// Unblock all (§3.5): an empty unblock, pushed as such.
	if _, err := e.iq(t, alice+"/one", "set", "<unblock xmlns='urn:xmpp:blocking'/>"); err != nil {
		t.Fatal(err)
	}
	ev = e.events(&mark)
	if len(ev) != 2 || !strings.HasSuffix(ev[1], "><unblock xmlns='urn:xmpp:blocking'/></iq>") {
		t.Fatalf("unblock-all pushes: %q", ev)
	}
	if got := e.blocklist(t, alice+"/one"); got != "<blocklist xmlns='urn:xmpp:blocking'/>" {
		t.Fatalf("after unblock all: %s", got)
	}
	if n := e.store.Keys(modtest.JID(t, alice)); n != 0 {
		t.Errorf("an empty blocklist is still stored (%d keys)", n)
	}
	// A closed session gets no more pushes.
	for _, hk := range e.h.RunHooks() {
		if hk.SessionClosed != nil {
			hk.SessionClosed(context.Background(), a1, "", false)
		}
	}
	e.events(&mark)
	if _, err := e.iq(t, alice+"/two", "set", "<block xmlns='urn:xmpp:blocking'><item jid='x@y'/></block>"); err != nil {
		t.Fatal(err)
	}
	if ev := e.events(&mark); len(ev) != 1 || !strings.HasPrefix(ev[0], "deliver alice@example.com/two ") {
		t.Fatalf("after /one closed: %q", ev)
	}
}

func TestBadRequests(t *testing.T) {
	e := setup(t, Config{MaxItems: 2}, nil)
	ctx := context.Background()
	cases := []struct {
		name, to, typ, payload, want string
	}{
		{"block without items", "", "set", "<block xmlns='urn:xmpp:blocking'/>", "bad-request"},
		{"invalid JID", "", "set", "<block xmlns='urn:xmpp:blocking'><item jid='a@b@c'/></block>", "jid-malformed"},
		{"empty JID", "", "set", "<block xmlns='urn:xmpp:blocking'><item jid=''/></block>", "jid-malformed"},
		{"no jid attribute", "", "set", "<block xmlns='urn:xmpp:blocking'><item/></block>", "jid-malformed"},
		{"unblock invalid JID", "", "set", "<unblock xmlns='urn:xmpp:blocking'><item jid='@nodomain'/></unblock>", "jid-malformed"},
		{"not an item", "", "set", "<block xmlns='urn:xmpp:blocking'><jid>x@y</jid></block>", "bad-request"},
		{"item of another namespace", "", "set", "<block xmlns='urn:xmpp:blocking'><item xmlns='urn:other' jid='x@y'/></block>", "bad-request"},
		{"block as get", "", "get", "<block xmlns='urn:xmpp:blocking'><item jid='x@y'/></block>", "bad-request"},
		{"blocklist as set", "", "set", "<blocklist xmlns='urn:xmpp:blocking'/>", "bad-request"},
		{"unknown element", "", "get", "<blockers xmlns='urn:xmpp:blocking'/>", "bad-request"},
		{"another user's list", bob, "get", "<blocklist xmlns='urn:xmpp:blocking'/>", "forbidden"},
		{"over max_items", "", "set", "<block xmlns='urn:xmpp:blocking'><item jid='a@x'/><item jid='b@x'/><item jid='c@x'/></block>", "not-acceptable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.h.IQ(ctx, t, alice+"/a", tc.to, tc.typ, el(t, tc.payload))
			if got := modtest.Condition(err); got != tc.want {
				t.Errorf("got %q (%v), want %s", got, res, tc.want)
			}
		})
	}
	if n := e.store.Keys(modtest.JID(t, alice)); n != 0 {
		t.Errorf("refused commands stored %d keys", n)
	}
	// At the limit, blocking what is already there is fine.
	if _, err := e.iq(t, alice+"/a", "set", "<block xmlns='urn:xmpp:blocking'><item jid='a@x'/><item jid='b@x'/></block>"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.iq(t, alice+"/a", "set", "<block xmlns='urn:xmpp:blocking'><item jid='b@x'/></block>"); err != nil {
		t.Errorf("re-blocking at the limit: %v", err)
	}
	if _, err := e.iq(t, alice+"/a", "set", "<block xmlns='urn:xmpp:blocking'><item jid='c@x'/></block>"); modtest.Condition(err) != "not-acceptable" {
		t.Errorf("past the limit: %v", err)
	}
}

func TestMatching(t *testing.T) {
	l := newList([]jid.JID{
		jid.MustParse("full@example.org/res"),
		jid.MustParse("bare@example.org"),
		jid.MustParse("example.net/res"),
		jid.MustParse("example.com"),
	})
	for _, tc := range []struct {
		j    string
		want bool
	}{
		{"full@example.org/res", true},
		{"full@example.org/other", false},
		{"full@example.org", false},
		{"bare@example.org", true},
		{"bare@example.org/any", true},
		{"example.net/res", true},
		{"example.net/other", false},
		{"example.net", false},
		{"user@example.net/res", false},
		{"example.com", true},
		{"anyone@example.com", true},
		{"anyone@example.com/r", true},
		{"example.com/r", true},
		{"sub.example.com", false}, // XEP-0191 1.3 §6: no subdomains
		{"other@example.org", false},
	} {
		if got := l.blocks(jid.MustParse(tc.j)); got != tc.want {
			t.Errorf("blocks(%s) = %v, want %v", tc.j, got, tc.want)
		}
	}
	if (*list)(nil).blocks(jid.MustParse("x@y")) {
		t.Error("a nil list blocks")
	}
}

func droppedCount(t *testing.T, reason string) float64 {
	t.Helper()
	var m dto.Metric
	if err := metrics.Dropped.WithLabelValues(reason).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestEnforcement walks §3.3 for each kind of stanza, both ways.
func TestEnforcement(t *testing.T) {
	inbound, outbound := droppedCount(t, "blocked_inbound"), droppedCount(t, "blocked_outbound")
	defer func() {
		// What is withheld without an answer is counted: five inbound
		// (presence, probe, subscribe, IQ result, message error), three
		// outbound (an IQ result, an error, a broadcast).
		if got := droppedCount(t, "blocked_inbound") - inbound; got != 5 {
			t.Errorf("blocked_inbound counted %v, want 5", got)
		}
		if got := droppedCount(t, "blocked_outbound") - outbound; got != 3 {
			t.Errorf("blocked_outbound counted %v, want 3", got)
		}
	}()
	e := setup(t, Config{}, nil)
	a := module.SessionInfo{JID: modtest.JID(t, alice+"/a")}
	e.h.AddSession(a)
	if _, err := e.iq(t, alice+"/a", "set", "<block xmlns='urn:xmpp:blocking'><item jid='bob@example.com'/><item jid='example.com'/></block>"); err != nil {
		t.Fatal(err)
	}
	var mark int
	e.events(&mark)
	aliceJID := modtest.JID(t, alice)
	// Inbound from bob.
	in := []struct {
		name, stanza, event string
	}{
		{"message", "<message from='bob@example.com/b' to='alice@example.com' id='m1' type='chat'><body>hi</body></message>",
			"route <message from='alice@example.com' id='m1' type='error' to='bob@example.com/b'><body>hi</body><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"},
		{"iq get", "<iq from='bob@example.com/b' to='alice@example.com' id='q1' type='get'><vCard xmlns='vcard-temp'/></iq>",
			"route <iq from='alice@example.com' id='q1' type='error' to='bob@example.com/b'><vCard xmlns='vcard-temp'/><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"},
		{"presence", "<presence from='bob@example.com/b' to='alice@example.com'/>", ""},
		{"probe", "<presence from='bob@example.com/b' to='alice@example.com' type='probe'/>", ""},
		{"subscribe", "<presence from='bob@example.com' to='alice@example.com' type='subscribe'/>", ""},
		{"iq result", "<iq from='bob@example.com/b' to='alice@example.com/a' id='q2' type='result'/>", ""},
		{"message error", "<message from='bob@example.com/b' to='alice@example.com/a' type='error'/>", ""},
	}
	for _, tc := range in {
		s := st(t, tc.stanza)
		if out := e.receive(s.To, s); out != nil {
			t.Errorf("inbound %s delivered", tc.name)
		}
		ev := e.events(&mark)
		if tc.event == "" && len(ev) != 0 || tc.event != "" && (len(ev) != 1 || normalize(ev[0]) != normalize(tc.event)) {
			t.Errorf("inbound %s: events %q, want %q", tc.name, ev, tc.event)
		}
	}
	// Never blocked: the user's own resources and the user's own server,
	// even with example.com blocked.
	for _, s := range []string{
		"<message from='alice@example.com/other' to='alice@example.com/a'/>",
		"<iq from='example.com' to='alice@example.com/a' id='r' type='result'/>",
	} {
		in := st(t, s)
		if out := e.receive(in.To, in); out != in {
			t.Errorf("%s was blocked", s)
		}
	}
	// Outbound to bob: not-acceptable with <blocked/>, to the sender's
	// session only.
	out := st(t, "<message from='alice@example.com/a' to='bob@example.com' id='o1'><body>hi</body></message>")
	if e.send(a, out) != nil {
		t.Fatal("outbound message routed")
	}
	ev := e.events(&mark)
	want := "deliver alice@example.com/a <message from='bob@example.com' id='o1' to='alice@example.com/a' type='error'><body>hi</body><error type='cancel'>" +
		"<not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><blocked xmlns='urn:xmpp:blocking:errors'/></error></message>"
	if len(ev) != 1 || normalize(ev[0]) != normalize(want) {
		t.Fatalf("outbound error:\n got %q\nwant %q", ev, want)
	}
	for _, s := range []string{
		"<presence from='alice@example.com/a' to='bob@example.com' type='subscribe'/>",
		"<iq from='alice@example.com/a' to='bob@example.com/b' id='x' type='get'><ping xmlns='urn:xmpp:ping'/></iq>",
	} {
		if e.send(a, st(t, s)) != nil {
			t.Errorf("outbound %s routed", s)
		}
		if ev := e.events(&mark); len(ev) != 1 || !strings.Contains(ev[0], "<blocked xmlns='urn:xmpp:blocking:errors'/>") {
			t.Errorf("outbound %s: %q", s, ev)
		}
	}
	// Results and errors to a blocked JID are dropped without an answer.
	for _, s := range []string{
		"<iq from='alice@example.com/a' to='bob@example.com/b' id='x' type='result'/>",
		"<message from='alice@example.com/a' to='bob@example.com/b' type='error'/>",
	} {
		if e.send(a, st(t, s)) != nil {
			t.Errorf("outbound %s routed", s)
		}
		if ev := e.events(&mark); len(ev) != 0 {
			t.Errorf("outbound %s answered: %q", s, ev)
		}
	}
	// Not blocked: broadcasts, the user's own account and server.
	for _, s := range []string{
		"<presence from='alice@example.com/a'/>",
		"<iq from='alice@example.com/a' to='alice@example.com' id='v' type='get'><vCard xmlns='vcard-temp'/></iq>",
		"<iq from='alice@example.com/a' to='example.com' id='d' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
		"<message from='alice@example.com/a' to='someone@example.org'/>",
	} {
		in := st(t, s)
		if e.send(a, in) != in {
			t.Errorf("%s was blocked", s)
		}
	}
	// On alice's behalf: her presence broadcast to bob is dropped, her
	// unavailable presence and errors from her pass.
	toBob := modtest.JID(t, bob)
	for _, tc := range []struct {
		s    string
		pass bool
	}{
		{"<presence from='alice@example.com/a' to='bob@example.com'/>", false},
		{"<presence from='alice@example.com/a' to='bob@example.com' type='unavailable'/>", true},
		{"<message from='alice@example.com' to='bob@example.com/b' type='error'/>", true},
	} {
		in := st(t, tc.s)
		if got := e.receive(toBob, in) != nil; got != tc.pass {
			t.Errorf("%s: passed %v, want %v", tc.s, got, tc.pass)
		}
	}
	// Stanzas from unblocked JIDs go through; bob unblocked, his do too.
	if _, err := e.iq(t, alice+"/a", "set", "<unblock xmlns='urn:xmpp:blocking'/>"); err != nil {
		t.Fatal(err)
	}
	m := st(t, "<message from='bob@example.com/b' to='alice@example.com'><body>again</body></message>")
	if e.receive(aliceJID, m) != m {
		t.Error("message after unblock blocked")
	}
}

// normalize orders a stanza's attributes, for comparisons that do not
// depend on the order ErrorReply writes them in.
func normalize(event string) string {
	verb, rest, _ := strings.Cut(event, " <")
	target := ""
	if strings.HasPrefix(verb, "deliver ") {
		target = verb
	}
	el, err := xmltok.Parse([]byte("<"+rest), stanza.NSClient, nil)
	if err != nil {
		return event
	}
	slices.SortFunc(el.Attrs, func(a, b xmltok.Attr) int { return strings.Compare(a.Name, b.Name) })
	return target + el.String()
}

// TestPresenceEffects: on block, unavailable presence both ways for the
// contacts that had it; on unblock, current presence and a probe.
func TestPresenceEffects(t *testing.T) {
	r := rosterStub{
		modtest.JID(t, alice): {
			{JID: modtest.JID(t, bob), Subscription: roster.SubBoth},
			{JID: modtest.JID(t, "carol@example.com"), Subscription: roster.SubFrom},
			{JID: modtest.JID(t, "dave@example.com"), Subscription: roster.SubTo},
			{JID: modtest.JID(t, "eve@example.org"), Subscription: roster.SubNone},
		},
	}
	e := setup(t, Config{}, r)
	pres := st(t, "<presence from='alice@example.com/a'><show>chat</show></presence>")
	e.h.AddSession(module.SessionInfo{JID: modtest.JID(t, alice+"/a"), Available: true, Presence: pres})
	e.h.AddSession(module.SessionInfo{JID: modtest.JID(t, alice+"/idle")}) // not available
	e.h.AddSession(module.SessionInfo{JID: modtest.JID(t, bob+"/b"), Available: true, Presence: st(t, "<presence from='bob@example.com/b'/>")})
	e.h.AddSession(module.SessionInfo{JID: modtest.JID(t, "dave@example.com/d"), Available: true, Presence: st(t, "<presence from='dave@example.com/d'/>")})
	var mark int
	if _, err := e.iq(t, alice+"/a", "set", "<block xmlns='urn:xmpp:blocking'><item jid='example.com'/><item jid='eve@example.org'/></block>"); err != nil {
		t.Fatal(err)
	}
	got := e.events(&mark)
	want := []string{
		"route <presence from='alice@example.com/a' to='bob@example.com' type='unavailable'/>",
		"deliver alice@example.com/a <presence from='bob@example.com/b' to='alice@example.com/a' type='unavailable'/>",
		"route <presence from='alice@example.com/a' to='carol@example.com' type='unavailable'/>",
		"deliver alice@example.com/a <presence from='dave@example.com/d' to='alice@example.com/a' type='unavailable'/>",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("block:\n got %q\nwant %q", got, want)
	}
	if _, err := e.iq(t, alice+"/a", "set", "<unblock xmlns='urn:xmpp:blocking'><item jid='example.com'/></unblock>"); err != nil {
		t.Fatal(err)
	}
	got = e.events(&mark)
	want = []string{
		"route <presence from='alice@example.com/a' to='bob@example.com'><show>chat</show></presence>",
		"route <presence from='alice@example.com' to='bob@example.com' type='probe'/>",
		"route <presence from='alice@example.com/a' to='carol@example.com'><show>chat</show></presence>",
		"route <presence from='alice@example.com' to='dave@example.com' type='probe'/>",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("unblock:\n got %q\nwant %q", got, want)
	}
	// A full-JID item touches that resource only.
	if _, err := e.iq(t, alice+"/a", "set", "<block xmlns='urn:xmpp:blocking'><item jid='bob@example.com/other'/></block>"); err != nil {
		t.Fatal(err)
	}
	got = e.events(&mark)
	want = []string{"route <presence from='alice@example.com/a' to='bob@example.com/other' type='unavailable'/>"}
	if !slices.Equal(got, want) {
		t.Fatalf("full-JID block:\n got %q\nwant %q", got, want)
	}
}

// TestPersistence: a new module instance on the same store enforces the
// list, and a store failure refuses rather than lets through.
func TestPersistence(t *testing.T) {
	e := setup(t, Config{}, nil)
	if _, err := e.iq(t, alice+"/a", "set", "<block xmlns='urn:xmpp:blocking'><item jid='bob@example.com'/></block>"); err != nil {
		t.Fatal(err)
	}
	h := modtest.New(time.Unix(0, 0), "example.com")
	h.SetStore("userdata", e.store)
	h.AddUser(modtest.JID(t, alice), "pw")
	if _, err := New(h, &Config{}); err != nil {
		t.Fatal(err)
	}
	e2 := &env{h: h, store: e.store}
	m := st(t, "<message from='bob@example.com/b' to='alice@example.com'/>")
	if e2.receive(m.To, m) != nil {
		t.Fatal("blocklist not read from the store")
	}
	if got := e2.blocklist(t, alice+"/a"); got != "<blocklist xmlns='urn:xmpp:blocking'><item jid='bob@example.com'/></blocklist>" {
		t.Fatalf("%s", got)
	}
	e.store.SetErr(errors.New("down"))
	var mark int
	e2.events(&mark)
	m = st(t, "<message from='carol@example.com/c' to='alice@example.com' id='f'/>")
	if e2.receive(m.To, m) != nil {
		t.Fatal("delivered with a failing store")
	}
	if ev := e2.events(&mark); len(ev) != 1 || !strings.Contains(ev[0], "internal-server-error") {
		t.Fatalf("%q", ev)
	}
}

func TestUserRemoved(t *testing.T) {
	e := setup(t, Config{}, nil)
	ctx := context.Background()
	a := module.SessionInfo{JID: modtest.JID(t, alice+"/a")}
	e.h.AddSession(a)
	if _, err := e.iq(t, alice+"/a", "set", "<block xmlns='urn:xmpp:blocking'><item jid='bob@example.com'/></block>"); err != nil {
		t.Fatal(err)
	}
	if err := e.h.RemoveUser(ctx, modtest.JID(t, alice)); err != nil {
		t.Fatal(err)
	}
	if n := e.store.Keys(modtest.JID(t, alice)); n != 0 {
		t.Errorf("%d keys left", n)
	}
	// The cache went with it: a new account of that name blocks nothing.
	m := st(t, "<message from='bob@example.com/b' to='alice@example.com'/>")
	if e.receive(m.To, m) != m {
		t.Error("the removed account's blocklist still applies")
	}
}

func TestConfig(t *testing.T) {
	h := modtest.New(time.Unix(0, 0), "example.com")
	h.SetStore("userdata", modtest.NewUserData())
	if _, err := New(h, &Config{MaxItems: -1}); err == nil || !strings.Contains(err.Error(), "modules.blocking.max_items") {
		t.Errorf("negative max_items: %v", err)
	}
	if f := h.Features(module.Server); len(f) != 0 {
		t.Errorf("a refused module announced %v", f)
	}
	h.SetStore("roster", "not a roster store")
	if _, err := New(h, &Config{}); err == nil {
		t.Error("New with a roster store that cannot list items succeeded")
	}
}
