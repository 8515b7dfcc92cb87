package last

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/internal/modtest"
	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

type record struct {
	at     time.Time
	status string
}

// memStore is a Store in memory.
type memStore struct {
	mu   sync.Mutex
	recs map[jid.JID]record
	err  error
}

func (s *memStore) SetLast(_ context.Context, user jid.JID, at time.Time, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[user] = record{at, status}
	return nil
}

func (s *memStore) GetLast(_ context.Context, user jid.JID) (time.Time, string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[user]
	return r.at, r.status, ok, s.err
}

func (s *memStore) DeleteUser(_ context.Context, user jid.JID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recs, user)
	return nil
}

// rosterStub answers Item from a map user → contact → subscription.
type rosterStub map[jid.JID]map[jid.JID]string

func (r rosterStub) Item(_ context.Context, user, contact jid.JID) (roster.Item, bool, error) {
	sub, ok := r[user][contact]
	return roster.Item{JID: contact, Subscription: sub}, ok, nil
}

var (
	started = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now     = started.Add(90 * time.Minute)
)

type fixture struct {
	h     *modtest.Host
	m     *Module
	store *memStore
}

func setup(t *testing.T, withRoster bool) fixture {
	t.Helper()
	h := modtest.New(started, "example.com")
	store := &memStore{recs: map[jid.JID]record{}}
	h.SetStore("last", store)
	alice, bob := modtest.JID(t, "alice@example.com"), modtest.JID(t, "bob@example.com")
	if withRoster {
		h.SetStore("roster", rosterStub{alice: {
			bob:                                 roster.SubFrom,
			modtest.JID(t, "carol@example.com"): roster.SubTo,
			modtest.JID(t, "dave@example.com"):  roster.SubBoth,
			modtest.JID(t, "erin@example.com"):  roster.SubNone,
		}})
	}
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin", "frank"} {
		h.AddUser(modtest.JID(t, u+"@example.com"), "pw")
	}
	inst, err := New(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := inst.(*Module)
	m.now = func() time.Time { return now }
	return fixture{h, m, store}
}

func query() *xmltok.Element { return xmltok.NewElement(NS, "query") }

func TestUptime(t *testing.T) {
	f := setup(t, false)
	res, err := f.h.IQ(context.Background(), t, "alice@example.com/a", "example.com", "get", query())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.String(), `<query xmlns='jabber:iq:last' seconds='5400'/>`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestFeatures(t *testing.T) {
	f := setup(t, false)
	for _, target := range []module.Target{module.Server, module.Account} {
		if got := f.h.Features(target); !slices.Equal(got, []string{NS}) {
			t.Errorf("target %d: features %v, want [%s]", target, got, NS)
		}
	}
}

func TestLastActivity(t *testing.T) {
	ctx := context.Background()
	f := setup(t, true)
	alice := modtest.JID(t, "alice@example.com")
	f.store.recs[alice] = record{now.Add(-42 * time.Second), "Gone fishing"}
	const stored = `<query xmlns='jabber:iq:last' seconds='42'>Gone fishing</query>`
	tests := []struct {
		name, from, to string
		want, err      string
	}{
		{"self", "alice@example.com/a", "alice@example.com", stored, ""},
		{"self without to", "alice@example.com/a", "", stored, ""},
		{"subscription from", "bob@example.com/b", "alice@example.com", stored, ""},
		{"subscription both", "dave@example.com/d", "alice@example.com", stored, ""},
		{"subscription to only", "carol@example.com/c", "alice@example.com", "", "forbidden"},
		{"subscription none", "erin@example.com/e", "alice@example.com", "", "forbidden"},
		{"not in roster", "frank@example.com/f", "alice@example.com", "", "forbidden"},
		{"no record", "bob@example.com/b", "bob@example.com", "", "item-not-found"},
		{"no such user", "alice@example.com/a", "zed@example.com", "", "service-unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.h.IQ(ctx, t, tt.from, tt.to, "get", query())
			if got := modtest.Condition(err); got != tt.err {
				t.Fatalf("error %q, want %q", got, tt.err)
			}
			if tt.err == "" && res.String() != tt.want {
				t.Errorf("got %s, want %s", res, tt.want)
			}
		})
	}

	// Online: an available resource makes it 0; one without presence
	// does not.
	f.h.AddSession(module.SessionInfo{JID: modtest.JID(t, "alice@example.com/phone")})
	res, err := f.h.IQ(ctx, t, "bob@example.com/b", "alice@example.com", "get", query())
	if err != nil || res.String() != stored {
		t.Errorf("unavailable session: %v %v", res, err)
	}
	f.h.AddSession(module.SessionInfo{JID: modtest.JID(t, "alice@example.com/desk"), Available: true})
	res, err = f.h.IQ(ctx, t, "bob@example.com/b", "alice@example.com", "get", query())
	if err != nil || res.String() != `<query xmlns='jabber:iq:last' seconds='0'/>` {
		t.Errorf("available session: %v %v", res, err)
	}
}

func TestWithoutRoster(t *testing.T) {
	ctx := context.Background()
	f := setup(t, false)
	f.store.recs[modtest.JID(t, "alice@example.com")] = record{now, ""}
	if _, err := f.h.IQ(ctx, t, "bob@example.com/b", "alice@example.com", "get", query()); modtest.Condition(err) != "forbidden" {
		t.Errorf("contact without roster: %v, want forbidden", err)
	}
	res, err := f.h.IQ(ctx, t, "alice@example.com/a", "", "get", query())
	if err != nil || res.String() != `<query xmlns='jabber:iq:last' seconds='0'/>` {
		t.Errorf("self: %v %v", res, err)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	f := setup(t, false)
	tests := []struct {
		name, to, typ string
		payload       *xmltok.Element
		want          string
	}{
		{"set to server", "example.com", "set", query(), "not-allowed"},
		{"set to account", "alice@example.com", "set", query(), "not-allowed"},
		{"wrong element", "example.com", "get", xmltok.NewElement(NS, "last"), "bad-request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.h.IQ(ctx, t, "alice@example.com/a", tt.to, tt.typ, tt.payload)
			if got := modtest.Condition(err); got != tt.want {
				t.Errorf("error %q, want %q", got, tt.want)
			}
		})
	}
	f.store.err = errors.New("disk on fire")
	if _, err := f.h.IQ(ctx, t, "alice@example.com/a", "", "get", query()); modtest.Condition(err) != "internal-server-error" {
		t.Errorf("store failure: %v, want internal-server-error", err)
	}
}

func TestHooks(t *testing.T) {
	ctx := context.Background()
	f := setup(t, false)
	alice := modtest.JID(t, "alice@example.com")
	hooks := f.h.RunHooks()
	if len(hooks) != 1 {
		t.Fatalf("%d hooks, want 1", len(hooks))
	}
	hk := hooks[0]
	s := module.SessionInfo{JID: modtest.JID(t, "alice@example.com/a")}
	hk.SessionClosed(ctx, s, "bye", false)
	if _, ok := f.store.recs[alice]; ok {
		t.Fatal("recorded while another session is left")
	}
	hk.SessionClosed(ctx, s, "bye", true)
	if r := f.store.recs[alice]; !r.at.Equal(now) || r.status != "bye" {
		t.Fatalf("recorded %+v, want %v bye", r, now)
	}
	if err := f.h.RemoveUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.store.recs[alice]; ok {
		t.Error("record kept after the user was removed")
	}
}

func TestNew(t *testing.T) {
	h := modtest.New(started, "example.com")
	if _, err := New(h, nil); err == nil {
		t.Error("provisioned without a last store")
	}
	h.SetStore("last", &memStore{})
	h.SetStore("roster", struct{}{})
	if _, err := New(h, nil); err == nil {
		t.Error("provisioned with a roster store that has no Item")
	}
}
