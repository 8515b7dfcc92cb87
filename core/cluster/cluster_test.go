package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meridian-xmpp/meridian/core"
	"github.com/meridian-xmpp/meridian/core/registry"
	"github.com/meridian-xmpp/meridian/internal/linktest"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/link/wire"
	"github.com/meridian-xmpp/meridian/storage"
	_ "github.com/meridian-xmpp/meridian/storage/embedded"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// newCluster is core-1 with an in-memory registry and no reachable peer:
// peers are named with an address nobody serves.
func newCluster(t *testing.T, grace time.Duration) (*Cluster, *core.Core, *registry.Memory) {
	t.Helper()
	st, err := storage.Open("embedded", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := core.New(core.Options{Hosts: []string{"localhost"}, Stores: st})
	if err != nil {
		t.Fatal(err)
	}
	cl := New(Options{Node: "core-1", Core: c, Grace: grace})
	mem, err := registry.NewMemory(registry.MemoryOptions{Node: "core-1", TTL: time.Minute, Peers: cl})
	if err != nil {
		t.Fatal(err)
	}
	cl.Attach(mem, mem)
	c.SetCluster(cl)
	t.Cleanup(func() { cl.Close(); mem.Close() })
	return cl, c, mem
}

func msg(to, body string) *stanza.Stanza {
	el := xmltok.NewElement(stanza.NSClient, "message")
	el.SetAttr("type", "chat")
	el.SetAttr("from", "carol@localhost/x")
	el.SetAttr("to", to)
	b := xmltok.NewElement(stanza.NSClient, "body")
	b.Text = body
	el.Children = append(el.Children, b)
	return stanza.FromElement(el)
}

// TestRequestsRefused: requests from a node that is not a peer, and
// malformed batches from a peer, are refused and counted; nothing of a
// malformed batch past the bad item is applied.
func TestRequestsRefused(t *testing.T) {
	cl, c, _ := newCluster(t, time.Minute)
	ctx := context.Background()
	k := &linktest.Sink{}
	s, err := c.Open(ctx, link.OpenRequest{User: jid.MustParse("alice@localhost"), Resource: "a"}, k)
	if err != nil {
		t.Fatal(err)
	}
	s.Handle(stanza.FromElement(xmltok.NewElement(stanza.NSClient, "presence")))
	good := encodeBatch(7, 1, []item{{kind: itemStanza, st: msg("alice@localhost/a", "one")}})

	notPeer := testutil.ToFloat64(metrics.ClusterErrors.WithLabelValues("not_peer"))
	if _, err := cl.Cluster(ctx, "edge-1", good); !errors.Is(err, errNotPeer) {
		t.Fatalf("request from a non-peer: %v", err)
	}
	if testutil.ToFloat64(metrics.ClusterErrors.WithLabelValues("not_peer")) != notPeer+1 || k.Count(stanza.Message) != 0 {
		t.Fatal("a non-peer's request was not refused and counted")
	}

	cl.SetPeers(map[string]string{"core-2": "127.0.0.1:9"})
	malformed := testutil.ToFloat64(metrics.ClusterErrors.WithLabelValues("malformed"))
	// Each malformed batch has a new sequence number (a repeated one is
	// answered as applied).
	head := func(seq uint64, kind byte) []byte {
		return append(wire.AppendUvarint(wire.AppendUvarint([]byte{reqBatch}, 7), seq), kind)
	}
	bad := [][]byte{
		append(append([]byte(nil), good...), 'Z'),                  // unknown item after a good one
		append(head(2, itemStanza), 0x05, 'x'),                     // truncated stanza
		wire.AppendString(head(3, itemEnd), "@@@"),                 // bad JID
		append(head(4, itemUpdate), 0x03, 'q', 'q', 'q'),           // bad update
		append(head(5, itemStanza), wire.AppendBytes(nil, nil)...), // empty stanza
		wire.AppendString(head(6, itemDeliver), "@@@"),             // bad JID
		{reqBatch, 0xff}, // no sequence number
	}
	for i, req := range bad {
		if _, err := cl.Cluster(ctx, "core-2", req); err == nil {
			t.Errorf("malformed batch %d accepted", i)
		}
	}
	if got := testutil.ToFloat64(metrics.ClusterErrors.WithLabelValues("malformed")) - malformed; got != float64(len(bad)) {
		t.Errorf("malformed counted %v times, want %d", got, len(bad))
	}
	// The good item before the bad one was applied, nothing else.
	if k.Count(stanza.Message) != 1 {
		t.Fatalf("alice got %d messages, want 1", k.Count(stanza.Message))
	}
	for _, req := range [][]byte{nil, {'?'}} {
		if _, err := cl.Cluster(ctx, "core-2", req); err == nil {
			t.Errorf("request %q accepted", req)
		}
	}
	// A good batch from a peer is applied in order; the same batch sent
	// again (after a timeout) is not applied twice; a new epoch (the
	// sender restarted) starts over.
	two := encodeBatch(7, 10, []item{
		{kind: itemStanza, st: msg("alice@localhost/a", "two")},
		{kind: itemStanza, st: msg("alice@localhost", "three")},
		{kind: itemDeliver, full: jid.MustParse("alice@localhost/a"), st: msg("alice@localhost", "four")},
	})
	for range 2 {
		if _, err := cl.Cluster(ctx, "core-2", two); err != nil {
			t.Fatal(err)
		}
	}
	if k.Count(stanza.Message) != 4 {
		t.Fatalf("alice got %d messages, want 4", k.Count(stanza.Message))
	}
	if _, err := cl.Cluster(ctx, "core-2", encodeBatch(8, 1, []item{{kind: itemStanza, st: msg("alice@localhost/a", "five")}})); err != nil {
		t.Fatal(err)
	}
	if k.Count(stanza.Message) != 5 {
		t.Fatalf("alice got %d messages, want 5", k.Count(stanza.Message))
	}
}

// TestLocateAndPark: the router's questions answered from the registry,
// and stanzas for a session on a core that left wait for the session to
// reappear (here: on this core) or for the core's entries to go.
func TestLocateAndPark(t *testing.T) {
	cl, c, mem := newCluster(t, 300*time.Millisecond)
	ctx := context.Background()
	cl.SetPeers(map[string]string{"core-2": "127.0.0.1:9"})
	bob := jid.MustParse("bob@localhost/b")
	// core-2 says bob is bound there.
	mem.Apply("core-2", registry.Update{Op: registry.OpSet, Place: registry.Place{JID: bob, Core: "core-2", Edge: "edge-2", Stream: "s1", Available: true, BoundAt: time.Now()}})
	if got := cl.Locate(ctx, bob); got != "core-2" {
		t.Fatalf("Locate(full) = %q", got)
	}
	if got := cl.Locate(ctx, bob.Bare()); got != "core-2" {
		t.Fatalf("Locate(bare) = %q", got)
	}
	if got := cl.Locate(ctx, jid.MustParse("nobody@localhost")); got != "" {
		t.Fatalf("Locate(offline user) = %q", got)
	}

	// core-2 leaves: stanzas for bob are parked, in order (full JIDs: bob
	// has not sent presence yet when they arrive).
	cl.SetPeers(map[string]string{})
	parked := testutil.ToFloat64(metrics.ClusterForwards.WithLabelValues("parked"))
	c.Route(ctx, msg(bob.String(), "p1"))
	c.Route(ctx, msg(bob.String(), "p2"))
	if !cl.waiting(bob.Bare()) {
		t.Fatal("bob's stanzas are not waiting")
	}
	if got := testutil.ToFloat64(metrics.ClusterForwards.WithLabelValues("parked")) - parked; got != 2 {
		t.Fatalf("parked %v stanzas, want 2", got)
	}
	// bob's session reappears here (his edge moved it): both arrive, in
	// order.
	k := &linktest.Sink{}
	if _, err := c.Open(ctx, link.OpenRequest{User: bob.Bare(), Resource: "b", Reopen: true}, k); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for k.Count(stanza.Message) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("bob got %d parked messages, want 2", k.Count(stanza.Message))
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := k.Got()
	first, _ := got[len(got)-2].Element()
	if first.Child(stanza.NSClient, "body").Text != "p1" {
		t.Fatalf("parked messages out of order: first %s", first)
	}
	for cl.waiting(bob.Bare()) { // the pass that delivered them removes them
		if time.Now().After(deadline) {
			t.Fatal("bob's stanzas still parked")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// After the grace period the entries of core-2 are gone.
	deadline = time.Now().Add(5 * time.Second)
	for {
		places, _ := mem.Sessions(ctx, bob.Bare())
		if len(places) == 1 && places[0].Core == "core-1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("places after the grace period: %+v", places)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLostSessions: when the grace period of a core that left ends, the
// available sessions it still held (no edge moved them) are ended for the
// region by the first live core by name, once: the user's resources here
// get their unavailable presence. Sessions that were not available, or
// that another core held through the lost node as edge, are only dropped.
func TestLostSessions(t *testing.T) {
	ctx := context.Background()
	bobB, bobHere := jid.MustParse("bob@localhost/b"), jid.MustParse("bob@localhost/here")
	// setup: bob/here bound and available on core-1; core-2 holds bob/b
	// (available) and carol/c (not); core-3 holds dave/d through edge
	// core-2. core-2 then leaves.
	setup := func(t *testing.T, peers map[string]string) (*Cluster, *registry.Memory, *linktest.Sink) {
		cl, c, mem := newCluster(t, 200*time.Millisecond)
		all := map[string]string{"core-2": "127.0.0.1:9", "core-3": "127.0.0.1:9"}
		for k, v := range peers {
			all[k] = v
		}
		cl.SetPeers(all)
		k := &linktest.Sink{}
		s, err := c.Open(ctx, link.OpenRequest{User: bobHere.Bare(), Resource: "here"}, k)
		if err != nil {
			t.Fatal(err)
		}
		s.Handle(stanza.FromElement(xmltok.NewElement(stanza.NSClient, "presence")))
		now := time.Now()
		mem.Apply("core-2", registry.Update{Op: registry.OpSet, Place: registry.Place{JID: bobB, Core: "core-2", Edge: "core-2", Stream: "s1", Available: true, BoundAt: now}})
		mem.Apply("core-2", registry.Update{Op: registry.OpSet, Place: registry.Place{JID: jid.MustParse("carol@localhost/c"), Core: "core-2", Edge: "core-2", Stream: "s2", BoundAt: now}})
		mem.Apply("core-3", registry.Update{Op: registry.OpSet, Place: registry.Place{JID: jid.MustParse("dave@localhost/d"), Core: "core-3", Edge: "core-2", Stream: "s3", Available: true, BoundAt: now}})
		delete(all, "core-2")
		cl.SetPeers(all)
		return cl, mem, k
	}
	unavailableFrom := func(k *linktest.Sink, from jid.JID) int {
		n := 0
		for _, st := range k.Got() {
			if st.Kind == stanza.Presence && st.Type == "unavailable" && st.From == from {
				n++
			}
		}
		return n
	}
	gone := func(t *testing.T, mem *registry.Memory) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			b, _ := mem.Sessions(ctx, bobB.Bare())
			d, _ := mem.Sessions(ctx, jid.MustParse("dave@localhost"))
			if len(b) == 1 && len(d) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the grace period: bob's places %+v, dave's %+v", b, d)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	t.Run("first", func(t *testing.T) {
		before := testutil.ToFloat64(metrics.ClusterLostSessions)
		_, mem, k := setup(t, nil)
		gone(t, mem)
		deadline := time.Now().Add(5 * time.Second)
		for unavailableFrom(k, bobB) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("bob/here was not told that bob/b is gone")
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		if n := unavailableFrom(k, bobB); n != 1 {
			t.Fatalf("bob/here got %d unavailable presences from bob/b, want 1", n)
		}
		if got := testutil.ToFloat64(metrics.ClusterLostSessions) - before; got != 1 {
			t.Fatalf("lost sessions counted: %v, want 1 (bob/b; carol was not available, dave's core lives)", got)
		}
	})
	t.Run("not first", func(t *testing.T) {
		before := testutil.ToFloat64(metrics.ClusterLostSessions)
		// core-0 lives and comes first: it speaks for the lost sessions.
		_, mem, k := setup(t, map[string]string{"core-0": "127.0.0.1:9"})
		gone(t, mem)
		time.Sleep(100 * time.Millisecond)
		if n := unavailableFrom(k, bobB); n != 0 {
			t.Fatalf("core-1 spoke for bob/b although core-0 comes first (%d presences)", n)
		}
		if got := testutil.ToFloat64(metrics.ClusterLostSessions) - before; got != 0 {
			t.Fatalf("lost sessions counted: %v, want 0", got)
		}
	})
}

// TestAvailableElsewhere: an available session of non-negative priority
// on a live peer, the highest; none on this core, a peer that left, or
// when only unavailable or negative ones are.
func TestAvailableElsewhere(t *testing.T) {
	ctx := context.Background()
	cl, _, mem := newCluster(t, time.Minute)
	cl.SetPeers(map[string]string{"core-2": "127.0.0.1:9"})
	bare := jid.MustParse("bob@localhost")
	set := func(from, res string, avail bool, prio int) {
		mem.Apply(from, registry.Update{Op: registry.OpSet, Place: registry.Place{JID: jid.MustParse("bob@localhost/" + res), Core: from, Edge: "edge-1", Stream: res, Available: avail, Priority: prio, BoundAt: time.Now()}})
	}
	if _, _, ok := cl.AvailableElsewhere(ctx, bare); ok {
		t.Fatal("found a session for a user with none")
	}
	set("core-2", "away", false, 5)
	set("core-2", "bot", true, -1)
	set("core-3", "gone", true, 9) // not a peer
	if full, node, ok := cl.AvailableElsewhere(ctx, bare); ok {
		t.Fatalf("found %s on %s; only unavailable, negative or gone ones exist", full, node)
	}
	set("core-2", "phone", true, 1)
	set("core-2", "laptop", true, 3)
	if full, node, ok := cl.AvailableElsewhere(ctx, bare); !ok || node != "core-2" || full.Resource() != "laptop" {
		t.Fatalf("AvailableElsewhere = %s %s %v, want laptop on core-2", full, node, ok)
	}
}
