package registry_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/registry"
	"github.com/meridian-xmpp/meridian/core/registry/registrytest"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/internal/poll"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var ctx = context.Background()

// memoryCluster starts one replica per core, connected by a Hub.
func memoryCluster(t testing.TB, ttl time.Duration, cores ...string) (*registry.Hub, []*registry.Memory) {
	t.Helper()
	hub := registry.NewHub()
	var rs []*registry.Memory
	for _, c := range cores {
		rs = append(rs, join(t, hub, c, ttl))
	}
	return hub, rs
}

func join(t testing.TB, hub *registry.Hub, core string, ttl time.Duration) *registry.Memory {
	t.Helper()
	r, err := registry.NewMemory(registry.MemoryOptions{Node: core, TTL: ttl, Peers: hub.Peers(core)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Cut(core); r.Close() })
	hub.Attach(core, r)
	if err := r.Join(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMemoryConformance(t *testing.T) {
	registrytest.Run(t, func(t *testing.T, ttl time.Duration, cores ...string) []registry.Registry {
		_, ms := memoryCluster(t, ttl, cores...)
		out := make([]registry.Registry, len(ms))
		for i, m := range ms {
			out[i] = m
		}
		return out
	})
}

func place(full, core, edge, stream string) registry.Place {
	return registry.Place{JID: jid.MustParse(full), Core: core, Edge: edge, Stream: stream, BoundAt: time.Now()}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, 15*time.Second, what, cond)
}

func found(r registry.Registry, full string) bool {
	_, ok, _ := r.Lookup(ctx, jid.MustParse(full))
	return ok
}

// A core the mesh sees leave: the others drop its sessions at once.
func TestMemoryPeerLeaves(t *testing.T) {
	hub, rs := memoryCluster(t, time.Hour, "c1", "c2", "c3")
	for i, r := range rs {
		if _, err := r.Register(ctx, place(fmt.Sprintf("u%d@example.com/r", i), fmt.Sprintf("c%d", i+1), "e1", "s")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every replica holds three entries", func() bool {
		return rs[0].Len() == 3 && rs[1].Len() == 3 && rs[2].Len() == 3
	})
	hub.Leave("c3")
	for _, r := range rs[:2] {
		if found(r, "u2@example.com/r") {
			t.Fatal("the departed core's session is still there")
		}
		if !found(r, "u0@example.com/r") || !found(r, "u1@example.com/r") {
			t.Fatal("a live core's session was dropped")
		}
	}
}

// A core that dies unnoticed: its sessions lapse when it stops
// refreshing them, while the live core's refreshed ones stay.
func TestMemoryPeerDiesUnnoticed(t *testing.T) {
	const ttl = 500 * time.Millisecond
	hub, rs := memoryCluster(t, ttl, "c1", "c2")
	live := place("alice@example.com/r", "c1", "e1", "s1")
	dead := place("bob@example.com/r", "c2", "e1", "s2")
	rs[0].Register(ctx, live)
	rs[1].Register(ctx, dead)
	waitFor(t, "c1 sees c2's session", func() bool { return found(rs[0], "bob@example.com/r") })
	hub.Cut("c2")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(ttl / 10):
				rs[0].Refresh(ctx, []registry.Place{live})
			}
		}
	}()
	waitFor(t, "the dead core's session expires", func() bool { return !found(rs[0], "bob@example.com/r") })
	waitFor(t, "the sweep removes it", func() bool { return rs[0].Len() == 1 })
	close(stop)
	<-done
	if !found(rs[0], "alice@example.com/r") {
		t.Fatal("the refreshed session expired")
	}
}

// A core that starts late gets every other core's sessions.
func TestMemoryLateJoinerSnapshot(t *testing.T) {
	hub, rs := memoryCluster(t, time.Hour, "c1", "c2")
	a := place("alice@example.com/r", "c1", "e1", "s1")
	a.Priority, a.Available = 7, true
	rs[0].Register(ctx, a)
	rs[1].Register(ctx, place("bob@example.com/r", "c2", "e1", "s2"))
	late := join(t, hub, "c3", time.Hour)
	got, ok, _ := late.Lookup(ctx, a.JID)
	if !ok || !got.Same(a) || got.Priority != 7 || !got.Available {
		t.Fatalf("late joiner: alice = %+v, %v", got, ok)
	}
	if !found(late, "bob@example.com/r") {
		t.Fatal("late joiner lacks c2's session")
	}
	// And it takes part from then on.
	if _, err := late.Register(ctx, place("carol@example.com/r", "c3", "e1", "s3")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "c1 sees the late joiner's session", func() bool { return found(rs[0], "carol@example.com/r") })
}

// A replica refuses updates that are garbage or that speak for another
// core's session, and counts them.
func TestMemoryRejectsBadUpdates(t *testing.T) {
	hub, rs := memoryCluster(t, time.Hour, "c1", "c2")
	malformed := testutil.ToFloat64(metrics.RegistryRejected.WithLabelValues("malformed"))
	notOwner := testutil.ToFloat64(metrics.RegistryRejected.WithLabelValues("not_owner"))
	for _, b := range [][]byte{nil, []byte("?"), []byte("zjunk"), []byte("salice@example.com"), []byte("s@@\x1f\x1f"), []byte("salice@example.com/r\x1fc2\x1fe\x1fs\x1f999\x1f1\x1f0")} {
		hub.Send("c2", "c1", b)
	}
	forged, _ := registry.Update{Op: registry.OpSet, Place: place("alice@example.com/r", "c1", "e1", "s1")}.MarshalBinary()
	hub.Send("c2", "c1", forged)
	waitFor(t, "the bad updates are counted", func() bool {
		return testutil.ToFloat64(metrics.RegistryRejected.WithLabelValues("malformed")) >= malformed+6 &&
			testutil.ToFloat64(metrics.RegistryRejected.WithLabelValues("not_owner")) >= notOwner+1
	})
	if rs[0].Len() != 0 {
		t.Fatalf("a bad update was applied: %d entries", rs[0].Len())
	}
}

// A core registers only its own sessions.
func TestMemoryRefusesForeignPlace(t *testing.T) {
	_, rs := memoryCluster(t, time.Hour, "c1")
	if _, err := rs[0].Register(ctx, place("alice@example.com/r", "c2", "e1", "s")); err == nil {
		t.Fatal("c1 registered a session of c2")
	}
}

func TestMemoryClosed(t *testing.T) {
	_, rs := memoryCluster(t, time.Hour, "c1")
	rs[0].Close()
	if _, err := rs[0].Register(ctx, place("alice@example.com/r", "c1", "e1", "s")); err == nil {
		t.Fatal("Register after Close succeeded")
	}
	if err := rs[0].Close(); err != nil {
		t.Fatal(err)
	}
}

// Updates about one full JID from two cores may arrive in either order;
// every replica keeps the later-bound session.
func TestMemoryConvergesWhateverTheOrder(t *testing.T) {
	older := place("alice@example.com/r", "c1", "e1", "s1")
	newer := place("alice@example.com/r", "c2", "e2", "s2")
	newer.BoundAt = older.BoundAt.Add(time.Millisecond)
	for _, order := range [][]registry.Place{{older, newer}, {newer, older}} {
		_, rs := memoryCluster(t, time.Hour, "c3")
		for _, p := range order {
			rs[0].Apply(p.Core, registry.Update{Op: registry.OpSet, Place: p})
		}
		got, ok, _ := rs[0].Lookup(ctx, older.JID)
		if !ok || !got.Same(newer) {
			t.Fatalf("order %s then %s: replica holds %+v", order[0].Core, order[1].Core, got)
		}
		// The older core's late delete does not remove the newer session.
		rs[0].Apply("c1", registry.Update{Op: registry.OpDel, Place: older})
		if !found(rs[0], "alice@example.com/r") {
			t.Fatal("a stale delete removed the newer session")
		}
	}
}
