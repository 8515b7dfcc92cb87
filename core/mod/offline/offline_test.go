package offline

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/internal/modtest"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// memStore is a Store in memory.
type memStore struct {
	mu   sync.Mutex
	msgs map[jid.JID][][]byte
}

func (s *memStore) Push(_ context.Context, user jid.JID, msg []byte, limit int) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit > 0 && len(s.msgs[user]) >= limit {
		return false, nil
	}
	s.msgs[user] = append(s.msgs[user], slices.Clone(msg))
	return true, nil
}

func (s *memStore) Pop(_ context.Context, user jid.JID) ([][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.msgs[user]
	delete(s.msgs, user)
	return m, nil
}

func (s *memStore) Count(_ context.Context, user jid.JID) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs[user]), nil
}

func (s *memStore) DeleteUser(_ context.Context, user jid.JID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.msgs, user)
	return nil
}

func setup(t *testing.T) (*modtest.Host, *memStore, module.Hooks) {
	t.Helper()
	h := modtest.New(time.Now(), "example.com")
	st := &memStore{msgs: map[jid.JID][][]byte{}}
	h.SetStore("offline", st)
	if _, err := New(h, &Config{MaxPerUser: 10}); err != nil {
		t.Fatal(err)
	}
	return h, st, h.RunHooks()[0]
}

func chat(t *testing.T, body string) *stanza.Stanza {
	t.Helper()
	el, err := xmltok.Parse([]byte("<message xmlns='jabber:client' type='chat' from='alice@example.com/a' to='bob@example.com'><body>"+body+"</body></message>"), stanza.NSClient, nil)
	if err != nil {
		t.Fatal(err)
	}
	return stanza.FromElement(el)
}

func countEvents(h *modtest.Host, prefix, body string) int {
	n := 0
	for _, e := range h.Events() {
		if strings.HasPrefix(e, prefix) && strings.Contains(e, "<body>"+body+"</body>") {
			n++
		}
	}
	return n
}

// TestStoredWhileComingOnline: the router found bob with no session, and
// while the message was being stored bob's session sent its initial
// presence (which emptied the store): the message is delivered to it at
// once, not at bob's next login.
func TestStoredWhileComingOnline(t *testing.T) {
	h, st, hk := setup(t)
	bob := modtest.JID(t, "bob@example.com")
	if !hk.OfflineMessage(t.Context(), chat(t, "before")) {
		t.Fatal("not stored")
	}
	if n, _ := st.Count(t.Context(), bob); n != 1 {
		t.Fatalf("stored %d, want 1", n)
	}
	h.AddSession(module.SessionInfo{JID: modtest.JID(t, "bob@example.com/phone"), Available: true})
	if !hk.OfflineMessage(t.Context(), chat(t, "racing")) {
		t.Fatal("not stored")
	}
	if n, _ := st.Count(t.Context(), bob); n != 0 {
		t.Fatalf("%d messages still stored for an available bob", n)
	}
	if countEvents(h, "deliver bob@example.com/phone", "racing") != 1 || countEvents(h, "deliver bob@example.com/phone", "before") != 1 {
		t.Fatalf("deliveries: %q", h.Events())
	}
}

// TestStoredWhileOnlyLowPriority: a session with negative priority
// takes no stored messages (XEP-0160 §4): a message stored meanwhile
// stays stored.
func TestStoredWhileOnlyLowPriority(t *testing.T) {
	h, st, hk := setup(t)
	bob := modtest.JID(t, "bob@example.com")
	h.AddSession(module.SessionInfo{JID: modtest.JID(t, "bob@example.com/bot"), Available: true, Priority: -1})
	hk.OfflineMessage(t.Context(), chat(t, "kept"))
	if n, _ := st.Count(t.Context(), bob); n != 1 || countEvents(h, "deliver", "kept") != 0 {
		t.Fatalf("stored %d, events %q", n, h.Events())
	}
}

// TestStoredWhileOnlineElsewhere: the same race across cores — bob came
// online on another core of the region while the message was stored
// here: the store goes to that session, as it is.
func TestStoredWhileOnlineElsewhere(t *testing.T) {
	h, st, hk := setup(t)
	bob := modtest.JID(t, "bob@example.com")
	hk.OfflineMessage(t.Context(), chat(t, "kept"))
	if n, _ := st.Count(t.Context(), bob); n != 1 || countEvents(h, "elsewhere", "kept") != 0 {
		t.Fatalf("stored %d, events %q", n, h.Events())
	}
	h.SetElsewhere(bob, true)
	hk.OfflineMessage(t.Context(), chat(t, "racing"))
	if n, _ := st.Count(t.Context(), bob); n != 0 {
		t.Fatalf("%d messages still stored for bob online on another core", n)
	}
	for _, body := range []string{"kept", "racing"} {
		if countEvents(h, "elsewhere bob@example.com", body) != 1 {
			t.Fatalf("%q not handed on once: %q", body, h.Events())
		}
	}
}
