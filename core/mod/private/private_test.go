package private

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/internal/modtest"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
)

func setup(t *testing.T, cfg Config) (*modtest.Host, *modtest.UserData) {
	t.Helper()
	h := modtest.New(time.Unix(0, 0), "example.com")
	s := modtest.NewUserData()
	h.SetStore("userdata", s)
	if _, err := New(h, &cfg); err != nil {
		t.Fatal(err)
	}
	h.AddUser(modtest.JID(t, alice), "pw")
	h.AddUser(modtest.JID(t, bob), "pw")
	return h, s
}

func query(t *testing.T, inner string) *xmltok.Element {
	t.Helper()
	el, err := xmltok.Parse([]byte("<query xmlns='jabber:iq:private'>"+inner+"</query>"), stanza.NSClient, nil)
	if err != nil {
		t.Fatal(err)
	}
	return el
}

func TestStoreAndRetrieve(t *testing.T) {
	h, _ := setup(t, Config{MaxSize: 64 << 10})
	ctx := context.Background()
	get := func(inner string) string {
		t.Helper()
		res, err := h.IQ(ctx, t, alice+"/a", "", "get", query(t, inner))
		if err != nil {
			t.Fatalf("get %s: %v", inner, err)
		}
		return res.String()
	}
	// Nothing stored: the asked-for element comes back empty.
	if got := get("<storage xmlns='storage:bookmarks'/>"); got != "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query>" {
		t.Fatalf("empty: %s", got)
	}
	// XEP-0049 §2.3 example, plus a second namespace in the same set.
	set := "<exodus xmlns='exodus:prefs'><defaultnick>Hamlet</defaultnick></exodus>" +
		"<storage xmlns='storage:bookmarks'><conference jid='council@conference.example.com' autojoin='true' name='Council'><nick>Hamlet</nick></conference></storage>"
	if res, err := h.IQ(ctx, t, alice+"/a", "", "set", query(t, set)); err != nil || res != nil {
		t.Fatalf("set: %v %v", res, err)
	}
	if got, want := get("<exodus xmlns='exodus:prefs'/>"), "<query xmlns='jabber:iq:private'><exodus xmlns='exodus:prefs'><defaultnick>Hamlet</defaultnick></exodus></query>"; got != want {
		t.Fatalf("get exodus:\n got %s\nwant %s", got, want)
	}
	// Two namespaces in one get, each once.
	got := get("<storage xmlns='storage:bookmarks'/><exodus xmlns='exodus:prefs'/><storage xmlns='storage:bookmarks'/>")
	if !strings.HasPrefix(got, "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'><conference") ||
		strings.Count(got, "<storage") != 1 || !strings.Contains(got, "<defaultnick>Hamlet</defaultnick>") {
		t.Fatalf("get both: %s", got)
	}
	// A set replaces one namespace and keeps the others; several
	// elements of one namespace are kept together, in order.
	if _, err := h.IQ(ctx, t, alice+"/a", alice, "set", query(t, "<a xmlns='urn:x'>1</a><b xmlns='urn:x'>2</b>")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.IQ(ctx, t, alice+"/a", "", "set", query(t, "<exodus xmlns='exodus:prefs'><defaultnick>Ophelia</defaultnick></exodus>")); err != nil {
		t.Fatal(err)
	}
	if got := get("<a xmlns='urn:x'/>"); got != "<query xmlns='jabber:iq:private'><a xmlns='urn:x'>1</a><b xmlns='urn:x'>2</b></query>" {
		t.Fatalf("several elements: %s", got)
	}
	if got := get("<exodus xmlns='exodus:prefs'/>"); !strings.Contains(got, "Ophelia") || strings.Contains(got, "Hamlet") {
		t.Fatalf("replaced: %s", got)
	}
	if got := get("<storage xmlns='storage:bookmarks'/>"); !strings.Contains(got, "council@conference.example.com") {
		t.Fatalf("kept: %s", got)
	}
	// Another user sees none of it.
	res, err := h.IQ(ctx, t, bob+"/b", "", "get", query(t, "<exodus xmlns='exodus:prefs'/>"))
	if err != nil || strings.Contains(res.String(), "Ophelia") {
		t.Fatalf("bob: %v %v", res, err)
	}
}

func TestErrors(t *testing.T) {
	h, s := setup(t, Config{MaxSize: 300})
	ctx := context.Background()
	cases := []struct {
		name, from, to, typ, inner, want string
	}{
		{"get another user's", bob + "/b", alice, "get", "<exodus xmlns='exodus:prefs'/>", "forbidden"},
		{"set another user's", bob + "/b", alice, "set", "<exodus xmlns='exodus:prefs'/>", "forbidden"},
		{"empty get", alice + "/a", "", "get", "", "bad-request"},
		{"empty set", alice + "/a", "", "set", "", "not-acceptable"},
		{"jabber: namespace", alice + "/a", "", "set", "<query xmlns='jabber:iq:roster'/>", "not-acceptable"},
		{"http://jabber.org/ namespace", alice + "/a", "", "get", "<query xmlns='http://jabber.org/protocol/disco#info'/>", "not-acceptable"},
		{"vcard-temp", alice + "/a", "", "set", "<vCard xmlns='vcard-temp'><FN>Hamlet</FN></vCard>", "not-acceptable"},
		{"no namespace of its own", alice + "/a", "", "set", "<prefs/>", "not-acceptable"},
		{"one good one reserved", alice + "/a", "", "set", "<x xmlns='urn:ok'/><y xmlns='jabber:x:y'/>", "not-acceptable"},
		{"namespace too long", alice + "/a", "", "set", "<x xmlns='urn:" + strings.Repeat("n", MaxNamespaceLen) + "'/>", "not-acceptable"},
		{"over max_size", alice + "/a", "", "set", "<x xmlns='urn:big'>" + strings.Repeat("b", 300) + "</x>", "not-acceptable"},
		{"no such user", alice + "/a", "nobody@example.com", "get", "<x xmlns='urn:ok'/>", "service-unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h.IQ(ctx, t, tc.from, tc.to, tc.typ, query(t, tc.inner))
			if got := modtest.Condition(err); got != tc.want {
				t.Errorf("got %q (%v), want %s", got, res, tc.want)
			}
		})
	}
	if n := s.Keys(modtest.JID(t, alice)); n != 0 {
		t.Errorf("refused sets stored %d keys", n)
	}
	// Not a query.
	if _, err := h.IQ(ctx, t, alice+"/a", "", "get", xmltok.NewElement(NS, "storage")); modtest.Condition(err) != "bad-request" {
		t.Errorf("not a query: %v", err)
	}
	// The limit is per user, over every namespace: two sets that each
	// fit but not together.
	half := "<x xmlns='urn:a'>" + strings.Repeat("a", 100) + "</x>"
	if _, err := h.IQ(ctx, t, alice+"/a", "", "set", query(t, half)); err != nil {
		t.Fatal(err)
	}
	other := "<y xmlns='urn:b'>" + strings.Repeat("b", 150) + "</y>"
	if _, err := h.IQ(ctx, t, alice+"/a", "", "set", query(t, other)); modtest.Condition(err) != "not-acceptable" {
		t.Errorf("second set past the per-user limit: %v", err)
	}
	// Replacing a namespace counts its new size only.
	if _, err := h.IQ(ctx, t, alice+"/a", "", "set", query(t, "<x xmlns='urn:a'>"+strings.Repeat("c", 120)+"</x>")); err != nil {
		t.Errorf("replacing within the limit: %v", err)
	}
	s.SetErr(errors.New("down"))
	if _, err := h.IQ(ctx, t, alice+"/a", "", "get", query(t, "<x xmlns='urn:a'/>")); modtest.Condition(err) != "internal-server-error" {
		t.Errorf("failing store: %v", err)
	}
}

func TestUserRemoved(t *testing.T) {
	h, s := setup(t, Config{})
	ctx := context.Background()
	if _, err := h.IQ(ctx, t, alice+"/a", "", "set", query(t, "<x xmlns='urn:a'/>")); err != nil {
		t.Fatal(err)
	}
	if err := h.RemoveUser(ctx, modtest.JID(t, alice)); err != nil {
		t.Fatal(err)
	}
	if n := s.Keys(modtest.JID(t, alice)); n != 0 {
		t.Errorf("%d keys left", n)
	}
}

func TestConfig(t *testing.T) {
	h := modtest.New(time.Unix(0, 0), "example.com")
	h.SetStore("userdata", modtest.NewUserData())
	if _, err := New(h, &Config{MaxSize: -5}); err == nil || !strings.Contains(err.Error(), "modules.private.max_size") {
		t.Errorf("negative max_size: %v", err)
	}
}
