// Package storagetest is the conformance suite every persistent storage
// backend passes (DESIGN principle 6): what the store interfaces of
// core/auth, core/userdata, core/mod/roster, core/mod/last,
// core/mod/offline, core/mod/pep and core/mod/mam promise, checked the
// same way for embedded, PostgreSQL and Cassandra. It owns no backend and
// must not test anything an interface does not promise.
package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/storage"
)

// Run runs the suite. open returns a new, empty set of stores each time it
// is called; Run closes them (Close must tolerate a second call if open
// also registers a cleanup).
func Run(t *testing.T, open func(t *testing.T) *storage.Stores) {
	t.Helper()
	t.Run("Accounts", func(t *testing.T) { runAccounts(t, open) })
	t.Run("Roster", func(t *testing.T) { runRoster(t, open) })
	t.Run("Last", func(t *testing.T) { runLast(t, open) })
	t.Run("Offline", func(t *testing.T) { runOffline(t, open) })
	t.Run("UserData", func(t *testing.T) { runUserData(t, open) })
	t.Run("PubSub", func(t *testing.T) { runPubSub(t, open) })
	t.Run("Archive", func(t *testing.T) { runArchive(t, open) })
}

// fresh opens stores for one subtest and closes them after it.
func fresh(t *testing.T, open func(t *testing.T) *storage.Stores) *storage.Stores {
	t.Helper()
	s := open(t)
	if s == nil {
		t.Fatal("open returned nil stores")
	}
	if s.Close != nil {
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	return s
}

// ctx returns a context for one subtest that ends with it.
func ctx(t *testing.T) context.Context { return t.Context() }

// canceled returns a context that is already done.
func canceled() context.Context {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	return c
}

// when is a fixed instant with microsecond precision, the finest that
// SQL timestamps keep, in a non-UTC zone: backends must keep the instant,
// not the zone.
var when = time.Date(2024, 2, 29, 13, 37, 42, 123456000, time.FixedZone("CET", 3600))
