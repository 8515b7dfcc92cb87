package core

import (
	"context"
	"testing"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/internal/linktest"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/storage"
	_ "github.com/meridian-xmpp/meridian/storage/embedded"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

func newCore(t *testing.T, conflict string, maxRes int) *Core {
	t.Helper()
	st, err := storage.Open("embedded", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := New(Options{Hosts: []string{"localhost"}, Stores: st, ResourceConflict: conflict, MaxResources: maxRes})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func open(t *testing.T, c *Core, user, res string) (link.Session, *linktest.Sink, error) {
	t.Helper()
	k := &linktest.Sink{}
	s, err := c.Open(context.Background(), link.OpenRequest{User: jid.MustParse(user), Resource: res}, k)
	return s, k, err
}

func TestResourceConflict(t *testing.T) {
	t.Run("replace", func(t *testing.T) {
		c := newCore(t, "replace", 0)
		_, k1, _ := open(t, c, "a@localhost", "r")
		s2, _, err := open(t, c, "a@localhost", "r")
		if err != nil || k1.Closed() == nil || k1.Closed().Condition != stanza.Conflict {
			t.Fatalf("err=%v closed=%v", err, k1.Closed())
		}
		if s2.JID().String() != "a@localhost/r" || c.SessionCount() != 1 {
			t.Fatalf("%s %d", s2.JID(), c.SessionCount())
		}
	})
	t.Run("refuse", func(t *testing.T) {
		c := newCore(t, "refuse", 0)
		open(t, c, "a@localhost", "r")
		if _, _, err := open(t, c, "a@localhost", "r"); err != stanza.ErrConflict {
			t.Fatalf("err=%v", err)
		}
	})
	t.Run("random", func(t *testing.T) {
		c := newCore(t, "random", 0)
		s1, _, _ := open(t, c, "a@localhost", "r")
		s2, _, err := open(t, c, "a@localhost", "r")
		if err != nil || s1.JID() == s2.JID() || c.SessionCount() != 2 {
			t.Fatalf("err=%v %s %s", err, s1.JID(), s2.JID())
		}
	})
	t.Run("server chosen", func(t *testing.T) {
		c := newCore(t, "replace", 0)
		s1, _, _ := open(t, c, "a@localhost", "")
		s2, _, _ := open(t, c, "a@localhost", "")
		if s1.JID().Resource() == "" || s1.JID() == s2.JID() {
			t.Fatalf("%s %s", s1.JID(), s2.JID())
		}
	})
	t.Run("max resources", func(t *testing.T) {
		c := newCore(t, "replace", 2)
		open(t, c, "a@localhost", "1")
		open(t, c, "a@localhost", "2")
		if _, _, err := open(t, c, "a@localhost", "3"); err == nil {
			t.Fatal("third resource accepted")
		}
	})
	t.Run("bad input", func(t *testing.T) {
		c := newCore(t, "replace", 0)
		if _, _, err := open(t, c, "a@elsewhere.example", "r"); err == nil {
			t.Fatal("foreign domain bound")
		}
		if _, _, err := open(t, c, "a@localhost", string([]byte{0xff})); err == nil {
			t.Fatal("invalid resource bound")
		}
	})
}

// TestCloseBroadcastsUnavailable: a session that ends while available
// tells the user's other resources.
func TestCloseBroadcastsUnavailable(t *testing.T) {
	c := newCore(t, "replace", 0)
	s1, _, _ := open(t, c, "a@localhost", "one")
	s2, k2, _ := open(t, c, "a@localhost", "two")
	for _, s := range []link.Session{s1, s2} {
		s.Handle(&stanza.Stanza{Kind: stanza.Presence, Bytes: []byte("<presence from='" + s.JID().String() + "'/>"), From: s.JID()})
	}
	s1.Close(nil)
	s1.Close(nil) // idempotent
	last := k2.Got()[len(k2.Got())-1]
	if last.Type != "unavailable" || last.From != s1.JID() {
		t.Fatalf("last delivered to two: %s", last.Bytes)
	}
	if c.SessionCount() != 1 {
		t.Fatalf("%d sessions", c.SessionCount())
	}
}

// TestStoreKinds: every kind the embedded backend provides is handed
// out, and an unknown kind is nil.
func TestStoreKinds(t *testing.T) {
	c := newCore(t, "replace", 0)
	for _, kind := range []string{"accounts", "roster", "last", "offline", "userdata"} {
		if c.Store(kind) == nil {
			t.Errorf("Store(%q) = nil", kind)
		}
	}
	if s := c.Store("nope"); s != nil {
		t.Errorf("Store(nope) = %v", s)
	}
}

// TestInfoForms: forms are kept per target, and a FORM_TYPE announced
// twice for one target is a programming error, as two IQ handlers are.
func TestInfoForms(t *testing.T) {
	c := newCore(t, "replace", 0)
	f := module.InfoForm{FormType: "urn:example:form", Fields: []module.FormField{{Var: "a", Values: []string{"1"}}}}
	c.AddInfoForm(module.Server, f)
	c.AddInfoForm(module.Account, f)
	if len(c.InfoForms(module.Server)) != 1 || len(c.InfoForms(module.Account)) != 1 {
		t.Fatalf("forms: %v %v", c.InfoForms(module.Server), c.InfoForms(module.Account))
	}
	defer func() {
		if recover() == nil {
			t.Error("a second form of one FORM_TYPE was accepted")
		}
	}()
	c.AddInfoForm(module.Server, f)
}
