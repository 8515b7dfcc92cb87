// Package registrytest is the conformance suite every session registry
// backend must pass (core/registry). It owns no backend; a backend's test
// calls Run with a function that builds a cluster of its registries.
package registrytest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/registry"
	"github.com/meridian-xmpp/meridian/internal/poll"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Cluster returns one registry per named core, all sharing one region's
// state, with the given entry TTL. It closes them when the test ends.
type Cluster func(t *testing.T, ttl time.Duration, cores ...string) []registry.Registry

// wait is the generous deadline of every eventual check: replicas
// converge asynchronously, and a loaded machine may be slow.
const wait = 15 * time.Second

// long is a TTL no test outlives.
const long = 10 * time.Minute

// Run runs the suite.
func Run(t *testing.T, cluster Cluster) {
	tests := []struct {
		name string
		fn   func(*testing.T, Cluster)
	}{
		{"RegisterLookup", testRegisterLookup},
		{"Sessions", testSessions},
		{"ReplaceReturnsPrevious", testReplace},
		{"CompareAndDelete", testCompareAndDelete},
		{"SetPresence", testSetPresence},
		{"Expiry", testExpiry},
		{"RefreshKeepsAlive", testRefreshKeepsAlive},
		{"RefreshLost", testRefreshLost},
		{"DropNode", testDropNode},
		{"Invalid", testInvalid},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, cluster) })
	}
}

var ctx = context.Background()

func place(full, core, edge, stream string) registry.Place {
	return registry.Place{
		JID: jid.MustParse(full), Core: core, Edge: edge, Stream: stream,
		BoundAt: time.Unix(1_700_000_000, 123456789),
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, wait, what, cond)
}

func lookup(t *testing.T, r registry.Registry, full string) (registry.Place, bool) {
	t.Helper()
	p, ok, err := r.Lookup(ctx, jid.MustParse(full))
	if err != nil {
		t.Fatalf("Lookup(%s): %v", full, err)
	}
	return p, ok
}

// holds reports whether r's entry for p's JID is p's session.
func holds(t *testing.T, r registry.Registry, p registry.Place) bool {
	got, ok := lookup(t, r, p.JID.String())
	return ok && got.Same(p)
}

func absent(t *testing.T, r registry.Registry, full string) bool {
	_, ok := lookup(t, r, full)
	return !ok
}

func streams(t *testing.T, r registry.Registry, bare string) []string {
	t.Helper()
	ps, err := r.Sessions(ctx, jid.MustParse(bare))
	if err != nil {
		t.Fatalf("Sessions(%s): %v", bare, err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.JID.Resource()+"@"+p.Core+"/"+p.Stream)
	}
	slices.Sort(out)
	return out
}

func register(t *testing.T, r registry.Registry, p registry.Place) registry.Place {
	t.Helper()
	prev, err := r.Register(ctx, p)
	if err != nil {
		t.Fatalf("Register(%s): %v", p.JID, err)
	}
	return prev
}

func testRegisterLookup(t *testing.T, cluster Cluster) {
	rs := cluster(t, long, "c1", "c2")
	p := place("alice@example.com/phone", "c1", "e1", "s1")
	p.Priority, p.Available = 5, true
	before := time.Now()
	if prev := register(t, rs[0], p); !prev.JID.IsZero() {
		t.Fatalf("first Register replaced %+v", prev)
	}
	got, ok := lookup(t, rs[0], "alice@example.com/phone")
	if !ok {
		t.Fatal("Lookup on the registering core: not found")
	}
	if !got.Same(p) || got.Priority != 5 || !got.Available || !got.BoundAt.Equal(p.BoundAt) {
		t.Fatalf("Lookup = %+v, want %+v", got, p)
	}
	if got.Expires.Before(before) {
		t.Fatalf("Expires %v is before the registration (%v)", got.Expires, before)
	}
	eventually(t, "c2 sees the place", func() bool { return holds(t, rs[1], p) })
	for _, full := range []string{"alice@example.com/laptop", "bob@example.com/phone"} {
		if !absent(t, rs[1], full) {
			t.Fatalf("Lookup(%s) found an entry never registered", full)
		}
	}
}

func testSessions(t *testing.T, cluster Cluster) {
	rs := cluster(t, long, "c1", "c2")
	register(t, rs[0], place("alice@example.com/phone", "c1", "e1", "s1"))
	register(t, rs[1], place("alice@example.com/laptop", "c2", "e2", "s2"))
	register(t, rs[0], place("bob@example.com/x", "c1", "e1", "s3"))
	want := []string{"laptop@c2/s2", "phone@c1/s1"}
	for i, r := range rs {
		eventually(t, fmt.Sprintf("core %d sees alice's two sessions", i), func() bool {
			return slices.Equal(streams(t, r, "alice@example.com"), want)
		})
		eventually(t, fmt.Sprintf("core %d sees bob's session", i), func() bool {
			return slices.Equal(streams(t, r, "bob@example.com"), []string{"x@c1/s3"})
		})
		if got := streams(t, r, "carol@example.com"); len(got) != 0 {
			t.Fatalf("Sessions(carol) = %v", got)
		}
	}
}

func testReplace(t *testing.T, cluster Cluster) {
	rs := cluster(t, long, "c1", "c2")
	old := place("alice@example.com/phone", "c1", "e1", "s1")
	register(t, rs[0], old)
	eventually(t, "c2 sees the first session", func() bool { return holds(t, rs[1], old) })
	// The new session may carry an earlier bound-at (clocks differ): it
	// must win all the same.
	nu := place("alice@example.com/phone", "c2", "e2", "s2")
	nu.BoundAt = old.BoundAt.Add(-time.Hour)
	prev := register(t, rs[1], nu)
	if !prev.Same(old) {
		t.Fatalf("Register returned %+v as replaced, want %+v", prev, old)
	}
	for i, r := range rs {
		eventually(t, fmt.Sprintf("core %d sees the new session", i), func() bool { return holds(t, r, nu) })
	}
	// Registering the same session again replaces nothing.
	if prev := register(t, rs[1], nu); !prev.JID.IsZero() {
		t.Fatalf("re-Register of the same session returned %+v", prev)
	}
}

// supersede binds alice/phone on c1, then again on c2, and waits until
// both cores see the second session.
func supersede(t *testing.T, rs []registry.Registry) (old, nu registry.Place) {
	t.Helper()
	old = place("alice@example.com/phone", "c1", "e1", "s1")
	register(t, rs[0], old)
	eventually(t, "c2 sees the first session", func() bool { return holds(t, rs[1], old) })
	nu = place("alice@example.com/phone", "c2", "e2", "s2")
	register(t, rs[1], nu)
	eventually(t, "c1 sees the new session", func() bool { return holds(t, rs[0], nu) })
	return old, nu
}

func testCompareAndDelete(t *testing.T, cluster Cluster) {
	rs := cluster(t, long, "c1", "c2")
	old, nu := supersede(t, rs)
	// The stale core ends its session late: the newer one must stay.
	ok, err := rs[0].Unregister(ctx, old)
	if err != nil || ok {
		t.Fatalf("Unregister(stale) = %v, %v; want false, nil", ok, err)
	}
	// A marker registered after the stale Unregister, by the same core:
	// once it is visible everywhere, so is anything c1 sent before it.
	marker := place("marker@example.com/m", "c1", "e1", "m")
	register(t, rs[0], marker)
	for i, r := range rs {
		eventually(t, fmt.Sprintf("core %d sees the marker", i), func() bool { return holds(t, r, marker) })
		if !holds(t, r, nu) {
			t.Fatalf("core %d lost the newer session to a stale Unregister", i)
		}
	}
	ok, err = rs[1].Unregister(ctx, nu)
	if err != nil || !ok {
		t.Fatalf("Unregister(current) = %v, %v; want true, nil", ok, err)
	}
	for i, r := range rs {
		eventually(t, fmt.Sprintf("core %d forgets the session", i), func() bool { return absent(t, r, "alice@example.com/phone") })
	}
	if ok, err := rs[1].Unregister(ctx, nu); err != nil || ok {
		t.Fatalf("second Unregister = %v, %v; want false, nil", ok, err)
	}
}

func testSetPresence(t *testing.T, cluster Cluster) {
	rs := cluster(t, long, "c1", "c2")
	p := place("alice@example.com/phone", "c1", "e1", "s1")
	register(t, rs[0], p)
	q := p
	q.Priority, q.Available = -3, true
	q.BoundAt = time.Time{} // the stored bound-at is kept
	if ok, err := rs[0].SetPresence(ctx, q); err != nil || !ok {
		t.Fatalf("SetPresence = %v, %v; want true, nil", ok, err)
	}
	for i, r := range rs {
		eventually(t, fmt.Sprintf("core %d sees the presence", i), func() bool {
			got, ok := lookup(t, r, "alice@example.com/phone")
			return ok && got.Priority == -3 && got.Available && got.BoundAt.Equal(p.BoundAt)
		})
	}
	// A refresh keeps the presence.
	if _, err := rs[0].Refresh(ctx, []registry.Place{p}); err != nil {
		t.Fatal(err)
	}
	if got, _ := lookup(t, rs[0], "alice@example.com/phone"); got.Priority != -3 || !got.Available {
		t.Fatalf("after Refresh: %+v, want the presence kept", got)
	}
	// Another stream's presence is not applied.
	other := q
	other.Stream, other.Priority = "s9", 100
	if ok, err := rs[0].SetPresence(ctx, other); err != nil || ok {
		t.Fatalf("SetPresence(other stream) = %v, %v; want false, nil", ok, err)
	}
	if got, _ := lookup(t, rs[0], "alice@example.com/phone"); got.Priority != -3 {
		t.Fatalf("priority %d after a stale SetPresence", got.Priority)
	}
	// Nor is a presence for a JID that is not bound.
	none := q
	none.JID = jid.MustParse("alice@example.com/gone")
	if ok, err := rs[0].SetPresence(ctx, none); err != nil || ok {
		t.Fatalf("SetPresence(unbound) = %v, %v; want false, nil", ok, err)
	}
}

func testExpiry(t *testing.T, cluster Cluster) {
	rs := cluster(t, 300*time.Millisecond, "c1", "c2")
	p := place("alice@example.com/phone", "c1", "e1", "s1")
	register(t, rs[0], p)
	for i, r := range rs {
		eventually(t, fmt.Sprintf("core %d: the unrefreshed entry expires", i), func() bool {
			return absent(t, r, "alice@example.com/phone") && len(streams(t, r, "alice@example.com")) == 0
		})
	}
	// A refresh of a lapsed place records it again.
	lost, err := rs[0].Refresh(ctx, []registry.Place{p})
	if err != nil || len(lost) != 0 {
		t.Fatalf("Refresh(lapsed) = %v, %v", lost, err)
	}
	got, ok := lookup(t, rs[0], "alice@example.com/phone")
	// It may lapse again before the lookup on a slow machine; only what
	// is found is checked.
	if ok && !got.Same(p) {
		t.Fatalf("after Refresh: %+v", got)
	}
}

func testRefreshKeepsAlive(t *testing.T, cluster Cluster) {
	const ttl = 2 * time.Second
	rs := cluster(t, ttl, "c1", "c2")
	p := place("alice@example.com/phone", "c1", "e1", "s1")
	register(t, rs[0], p)
	for end := time.Now().Add(2 * ttl); time.Now().Before(end); time.Sleep(ttl / 20) {
		if _, err := rs[0].Refresh(ctx, []registry.Place{p}); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range rs {
		eventually(t, fmt.Sprintf("core %d still sees the refreshed entry after twice its TTL", i), func() bool { return holds(t, r, p) })
	}
}

func testRefreshLost(t *testing.T, cluster Cluster) {
	rs := cluster(t, long, "c1", "c2")
	old, nu := supersede(t, rs)
	other := place("alice@example.com/laptop", "c1", "e1", "s3")
	lost, err := rs[0].Refresh(ctx, []registry.Place{old, other})
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) != 1 || !lost[0].Same(old) {
		t.Fatalf("Refresh lost = %+v, want the superseded session only", lost)
	}
	if !holds(t, rs[0], nu) || !holds(t, rs[0], other) {
		t.Fatal("Refresh overwrote the newer session or skipped the other one")
	}
}

func testDropNode(t *testing.T, cluster Cluster) {
	rs := cluster(t, long, "c1", "c2")
	a := place("alice@example.com/phone", "c1", "e1", "s1")
	a.Available, a.Priority = true, 5
	b := place("bob@example.com/phone", "c1", "e2", "s2")
	c := place("carol@example.com/phone", "c2", "e1", "s3")
	d := place("dave@example.com/phone", "c2", "e2", "s4")
	register(t, rs[0], a)
	register(t, rs[0], b)
	register(t, rs[1], c)
	register(t, rs[1], d)
	for i, r := range rs {
		eventually(t, fmt.Sprintf("core %d sees all four", i), func() bool {
			return holds(t, r, a) && holds(t, r, b) && holds(t, r, c) && holds(t, r, d)
		})
	}
	// An edge dies: the sessions it held go, on whichever core, and are
	// returned as they were.
	dropped, err := rs[0].DropNode(ctx, "e1")
	if err != nil || !sameJIDs(dropped, a, c) {
		t.Fatalf("DropNode(e1) = %v, %v; want alice's and carol's places", dropped, err)
	}
	for _, p := range dropped {
		want := c
		if p.JID == a.JID {
			want = a
		}
		if !p.Same(want) || p.Available != want.Available || p.Priority != want.Priority {
			t.Fatalf("DropNode(e1) returned %+v, want %+v", p, want)
		}
	}
	for i, r := range rs {
		eventually(t, fmt.Sprintf("core %d drops e1's sessions", i), func() bool {
			return absent(t, r, "alice@example.com/phone") && absent(t, r, "carol@example.com/phone")
		})
		if !holds(t, r, b) || !holds(t, r, d) {
			t.Fatalf("core %d dropped sessions of another edge", i)
		}
	}
	// A core dies.
	if dropped, err := rs[0].DropNode(ctx, "c2"); err != nil || !sameJIDs(dropped, d) {
		t.Fatalf("DropNode(c2) = %v, %v; want dave's place", dropped, err)
	}
	for i, r := range rs {
		eventually(t, fmt.Sprintf("core %d drops c2's sessions", i), func() bool { return absent(t, r, "dave@example.com/phone") })
		if !holds(t, r, b) {
			t.Fatalf("core %d dropped a session of c1", i)
		}
	}
	if dropped, err := rs[0].DropNode(ctx, "nobody"); err != nil || len(dropped) != 0 {
		t.Fatalf("DropNode(nobody) = %v, %v", dropped, err)
	}
	if _, err := rs[0].DropNode(ctx, ""); !errors.Is(err, registry.ErrInvalid) {
		t.Fatalf("DropNode(\"\") error %v, want ErrInvalid", err)
	}
}

// sameJIDs reports whether got holds exactly the full JIDs of want.
func sameJIDs(got []registry.Place, want ...registry.Place) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(p registry.Place) bool { return p.JID == w.JID }) {
			return false
		}
	}
	return true
}

func testInvalid(t *testing.T, cluster Cluster) {
	rs := cluster(t, long, "c1")
	bad := []registry.Place{
		{JID: jid.MustParse("alice@example.com"), Core: "c1"},
		{JID: jid.MustParse("example.com/res"), Core: "c1"},
		{JID: jid.MustParse("alice@example.com/r"), Core: ""},
		{JID: jid.MustParse("alice@example.com/r"), Core: "c1", Stream: "a\x1fb"},
		{JID: jid.MustParse("alice@example.com/r"), Core: "c1", Edge: "e\n1"},
		{JID: jid.MustParse("alice@example.com/r"), Core: "c1", Priority: 128},
	}
	for _, p := range bad {
		if _, err := rs[0].Register(ctx, p); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("Register(%+v) error %v, want ErrInvalid", p, err)
		}
		if _, err := rs[0].Refresh(ctx, []registry.Place{p}); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("Refresh(%+v) error %v, want ErrInvalid", p, err)
		}
	}
	if got := streams(t, rs[0], "alice@example.com"); len(got) != 0 {
		t.Fatalf("invalid places were stored: %v", got)
	}
}

// testConcurrent runs every operation from many goroutines on both
// cores; under -race it checks the backends' locking, and at the end
// every user's sessions are gone again.
func testConcurrent(t *testing.T, cluster Cluster) {
	rs := cluster(t, long, "c1", "c2")
	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, core := rs[w%2], fmt.Sprintf("c%d", w%2+1)
			for i := range rounds {
				p := place(fmt.Sprintf("u%d@example.com/r%d", w, i%3), core, "e1", fmt.Sprintf("s%d-%d", w, i))
				if _, err := r.Register(ctx, p); err != nil {
					errs <- err
					return
				}
				if _, _, err := r.Lookup(ctx, p.JID); err != nil {
					errs <- err
					return
				}
				p.Available = true
				if _, err := r.SetPresence(ctx, p); err != nil {
					errs <- err
					return
				}
				if _, err := r.Sessions(ctx, p.JID.Bare()); err != nil {
					errs <- err
					return
				}
				if _, err := r.Refresh(ctx, []registry.Place{p}); err != nil {
					errs <- err
					return
				}
				if ok, err := r.Unregister(ctx, p); err != nil || !ok {
					errs <- fmt.Errorf("Unregister(%s) = %v, %v", p.JID, ok, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := range workers {
		for i, r := range rs {
			eventually(t, fmt.Sprintf("core %d: u%d has no session left", i, w), func() bool {
				return len(streams(t, r, fmt.Sprintf("u%d@example.com", w))) == 0
			})
		}
	}
}
