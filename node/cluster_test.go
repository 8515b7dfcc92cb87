package node_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/node"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// meshOn puts a node in the test mesh of region eu, joining through seeds.
func meshOn(cfg *config.Config, seeds ...string) {
	cfg.Mesh = config.Mesh{
		Enabled: true, Bind: "127.0.0.1:0", Seeds: seeds, Region: "eu",
		ProbeInterval: config.Duration{Duration: 300 * time.Millisecond},
		ProbeTimeout:  config.Duration{Duration: 200 * time.Millisecond},
		LoadInterval:  config.Duration{Duration: time.Second},
	}
}

// startCores starts n core-only nodes in one mesh with the in-memory
// registry, each with the given users, and waits until every core has the
// others as cluster peers.
func startCores(t *testing.T, caDir string, count int, users ...string) []*node.Node {
	t.Helper()
	var cores []*node.Node
	for i := range count {
		cfg := coreConfig(t, "core-"+string(rune('1'+i)), caDir, t.TempDir(), "127.0.0.1:0")
		var seeds []string
		if i > 0 {
			seeds = []string{cores[0].Mesh().Addr()}
		}
		meshOn(cfg, seeds...)
		c := startNode(t, cfg)
		addUsers(t, c, users...)
		cores = append(cores, c)
	}
	xmpptest.Eventually(t, "every core sees the others as peers", func() bool {
		for _, c := range cores {
			if len(c.ClusterPeers()) != count-1 {
				return false
			}
		}
		return true
	})
	return cores
}

func linkOf(n *node.Node) string { return n.Addrs("link")[0].String() }

// threeCores starts three cores and two edges, edge-1 on core-1 and
// edge-2 (returned) on core-2, both with core-3 next, and logs alice in
// on edge-1 and bob on edge-2, available.
func threeCores(t *testing.T) (cores []*node.Node, e2 *xmpptest.Server, a, b *xmpptest.Conn) {
	t.Helper()
	caDir := filepath.Join(t.TempDir(), "ca")
	cores = startCores(t, caDir, 3, "alice", "bob")
	e1 := edgeServer(t, edgeConfig(t, "edge-1", caDir, linkOf(cores[0]), linkOf(cores[2])))
	e2 = edgeServer(t, edgeConfig(t, "edge-2", caDir, linkOf(cores[1]), linkOf(cores[2])))
	xmpptest.Eventually(t, "edges connected", func() bool { return e1.LinkConnected() == "core-1" && e2.LinkConnected() == "core-2" })
	a = xmpptest.Login(t, e1.C2S, "localhost", "alice", "secret", "a")
	b = xmpptest.Login(t, e2.C2S, "localhost", "bob", "secret", "b")
	available(t, a, b)
	return cores, e2, a, b
}

// TestClusterCores: three cores share one region's sessions. Clients on
// two edges, each edge on its own core, subscribe to each other, see each
// other's presence and chat to full and bare JIDs; a second resource of a
// user on the other edge is relayed to the user's core and gets what a
// resource gets; a core shuts down and its sessions move to another core
// of the region, where the conversation goes on.
func TestClusterCores(t *testing.T) {
	cores, e2, a, b := threeCores(t)
	if cores[0].Core().SessionCount() != 1 || cores[1].Core().SessionCount() != 1 {
		t.Fatalf("sessions per core: %d %d %d", cores[0].Core().SessionCount(), cores[1].Core().SessionCount(), cores[2].Core().SessionCount())
	}
	forwarded := testutil.ToFloat64(metrics.ClusterForwards.WithLabelValues("received"))
	xmpptest.SubscribeBoth(a, b)
	chatTo(t, a, b, "hello-bob")
	chatTo(t, b, a, "hello-alice")
	// To the bare JID: the core of the sender finds the recipient's core.
	b.Send("<message type='chat' to='alice@localhost' id='bare1'><body>to-bare</body></message>")
	expectBody(t, a, "to-bare")
	// subscribe, subscribed and presence both ways, probes and their
	// answers, three messages: all between core-1 and core-2.
	if got := testutil.ToFloat64(metrics.ClusterForwards.WithLabelValues("received")) - forwarded; got < 7 {
		t.Fatalf("stanzas forwarded between cores: %v", got)
	}

	// alice's second resource, on the other edge (core-2), is relayed to
	// her core: it learns bob's presence (a probe answered across cores)
	// and her other resource's, and gets messages to her bare JID too.
	relayed := testutil.ToFloat64(metrics.ClusterRelays)
	a2 := xmpptest.Login(t, e2.C2S, "localhost", "alice", "secret", "a2")
	if got := testutil.ToFloat64(metrics.ClusterRelays) - relayed; got != 1 {
		t.Fatalf("relayed sessions: %v, want 1", got)
	}
	if n := cores[0].Core().SessionCount(); n != 2 {
		t.Fatalf("alice's core holds %d sessions, want both of hers", n)
	}
	a2.Send("<presence/>")
	seen := map[string]bool{}
	for len(seen) < 3 {
		el := a2.Next()
		if el.Local == "presence" && el.Attr("type") == "" {
			seen[el.Attr("from")] = true
		}
	}
	for _, want := range []string{a2.JID, a.JID, b.JID} {
		if !seen[want] {
			t.Fatalf("a2 saw presence of %v, not %s", seen, want)
		}
	}
	b.ExpectPresence(a2.JID, "") // bob sees the new resource
	b.Send("<message type='chat' to='alice@localhost' id='bare2'><body>both</body></message>")
	expectBody(t, a, "both")
	expectBody(t, a2, "both")

	// core-2 goes away: bob's session moves to core-3 with its stream
	// kept; messages flow both ways, and alice's relayed resource, cut
	// with core-2, logs in again.
	shutdown(cores[1])
	xmpptest.Eventually(t, "bob's session on core-3", func() bool { return cores[2].Core().SessionCount() >= 1 })
	xmpptest.Eventually(t, "core-1 no longer has core-2 as peer", func() bool { return !slices.Contains(cores[0].ClusterPeers(), "core-2") })
	for i := range 5 {
		chatTo(t, a, b, "after-"+string(rune('0'+i)))
	}
	chatTo(t, b, a, "back")
}

func expectBody(t *testing.T, c *xmpptest.Conn, body string) {
	t.Helper()
	for range 20 {
		el := c.Next()
		if el.Local == "message" && xmpptest.HasText(el, body) {
			return
		}
	}
	t.Fatalf("%s did not get %q", c.JID, body)
}

// TestClusterDrainToOtherEdge: an edge drained without a redirect list
// sends its clients to the region's other edge, which it finds in the
// mesh (its c2s tag), and stops being offered to anyone (draining tag);
// the clients log in there and go on through the same cores.
func TestClusterDrainToOtherEdge(t *testing.T) {
	caDir := filepath.Join(t.TempDir(), "ca")
	cores := startCores(t, caDir, 2, "alice", "bob")
	seed := cores[0].Mesh().Addr()
	mk := func(name string) *xmpptest.Server {
		cfg := edgeConfig(t, name, caDir)
		meshOn(cfg, seed)
		return edgeServer(t, cfg)
	}
	e1, e2 := mk("edge-1"), mk("edge-2")
	xmpptest.Eventually(t, "edges connected and seen", func() bool {
		return e1.LinkConnected() != "" && e2.LinkConnected() != "" && len(e1.Mesh().Edges("eu")) == 2
	})
	a := xmpptest.Login(t, e1.C2S, "localhost", "alice", "secret", "a")
	b := xmpptest.Login(t, e2.C2S, "localhost", "bob", "secret", "b")
	available(t, a, b)
	chatTo(t, a, b, "before")

	st, err := e1.Drain(time.Minute, 100*time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Redirect) != 1 || st.Redirect[0] != e2.C2S {
		t.Fatalf("drain redirects to %v, want the other edge %s", st.Redirect, e2.C2S)
	}
	if got := streamError(t, a); got != "see-other-host "+e2.C2S {
		t.Fatalf("alice's stream ended with %s", got)
	}
	waitDrained(t, e1.Node)
	xmpptest.Eventually(t, "edge-1 seen draining and out of the route view", func() bool {
		for _, e := range e2.Mesh().Edges("eu") {
			if e.Name == "edge-1" {
				return false
			}
		}
		for _, m := range e2.Mesh().Members() {
			if m.Name == "edge-1" {
				return m.Tags.Draining && m.Status == "alive"
			}
		}
		return false
	})
	a = xmpptest.Login(t, e2.C2S, "localhost", "alice", "secret", "a")
	available(t, a)
	chatTo(t, b, a, "after")
	chatTo(t, a, b, "after-back")
}

// TestClusterAllInOneNodes: two all-in-one nodes (edge and core) that
// serve the link and share a mesh form a cluster: a user's second session
// on the other node is relayed to the node that holds the first, and
// users on the two nodes chat.
func TestClusterAllInOneNodes(t *testing.T) {
	caDir := filepath.Join(t.TempDir(), "ca")
	mk := func(name string, seeds ...string) *xmpptest.Server {
		cfg := xmpptest.Config(t)
		cfg.Node.Name = name
		cfg.Link.Listen = "127.0.0.1:0"
		cfg.Link.CADir = caDir
		meshOn(cfg, seeds...)
		s := edgeServer(t, cfg)
		addUsers(t, s.Node, "alice", "bob")
		return s
	}
	n1 := mk("node-1")
	n2 := mk("node-2", n1.Mesh().Addr())
	xmpptest.Eventually(t, "the nodes are cluster peers", func() bool {
		return len(n1.ClusterPeers()) == 1 && len(n2.ClusterPeers()) == 1
	})
	a := xmpptest.Login(t, n1.C2S, "localhost", "alice", "secret", "a")
	b := xmpptest.Login(t, n2.C2S, "localhost", "bob", "secret", "b")
	available(t, a, b)
	chatTo(t, a, b, "across")
	chatTo(t, b, a, "and-back")
	relayed := testutil.ToFloat64(metrics.ClusterRelays)
	a2 := xmpptest.Login(t, n2.C2S, "localhost", "alice", "secret", "a2")
	if got := testutil.ToFloat64(metrics.ClusterRelays) - relayed; got != 1 {
		t.Fatalf("relayed sessions: %v, want 1", got)
	}
	if n := n1.Core().SessionCount(); n != 2 {
		t.Fatalf("node-1 holds %d sessions, want both of alice's", n)
	}
	available(t, a2)
	chatTo(t, b, a2, "to-the-relayed-one")
}

// TestSessionLost: a session the cluster lost with its core (no edge
// moved it) ends for the user's contacts: they get its unavailable
// presence, as do the user's other resources.
func TestSessionLost(t *testing.T) {
	s := xmpptest.Start(t, nil)
	s.AddUser(t, "alice", "pw")
	s.AddUser(t, "carol", "pw")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	c := xmpptest.Login(t, s.C2S, "localhost", "carol", "pw", "phone")
	available(t, a, c)
	xmpptest.SubscribeBoth(a, c)
	lost := jid.MustParse("carol@localhost/laptop")
	s.Node.Core().SessionLost(t.Context(), lost, false)
	a.ExpectPresence(lost.String(), "unavailable")
	c.ExpectPresence(lost.String(), "unavailable")
}

// TestClusterRelayFailover: alice's second resource, behind another
// core's edge, is relayed to her core; when her core goes, the relaying
// core moves it to the third core as an edge moves its own sessions: its
// client keeps its stream and gets what is sent to it, as does her first
// resource, moved by its edge.
func TestClusterRelayFailover(t *testing.T) {
	cores, e2, a, b := threeCores(t)
	relayed := testutil.ToFloat64(metrics.ClusterRelays)
	a2 := xmpptest.Login(t, e2.C2S, "localhost", "alice", "secret", "a2")
	if got := testutil.ToFloat64(metrics.ClusterRelays) - relayed; got != 1 {
		t.Fatalf("relayed sessions: %v, want 1", got)
	}
	available(t, a2)
	chatTo(t, b, a2, "relayed")

	// alice's core goes: both her sessions end up on core-3.
	shutdown(cores[0])
	xmpptest.Eventually(t, "alice's sessions on core-3", func() bool { return cores[2].Core().SessionCount() == 2 })
	for i := range 3 {
		chatTo(t, b, a2, "moved-"+string(rune('0'+i)))
		chatTo(t, b, a, "first-"+string(rune('0'+i)))
	}
	chatTo(t, a2, b, "still-here")
}

// TestClusterRelayToItself: with two cores, a session relayed to its
// user's core, when that core goes, is moved by the relaying core to
// itself — the only core left — and its client keeps its stream.
func TestClusterRelayToItself(t *testing.T) {
	caDir := filepath.Join(t.TempDir(), "ca")
	cores := startCores(t, caDir, 2, "alice", "bob")
	e1 := edgeServer(t, edgeConfig(t, "edge-1", caDir, linkOf(cores[0])))
	e2 := edgeServer(t, edgeConfig(t, "edge-2", caDir, linkOf(cores[1])))
	xmpptest.Eventually(t, "edges connected", func() bool { return e1.LinkConnected() == "core-1" && e2.LinkConnected() == "core-2" })
	a := xmpptest.Login(t, e1.C2S, "localhost", "alice", "secret", "a")
	b := xmpptest.Login(t, e2.C2S, "localhost", "bob", "secret", "b")
	available(t, a, b)
	a2 := xmpptest.Login(t, e2.C2S, "localhost", "alice", "secret", "a2")
	if n := cores[0].Core().SessionCount(); n != 2 {
		t.Fatalf("alice's core holds %d sessions, want both of hers", n)
	}
	available(t, a2)
	shutdown(cores[0])
	xmpptest.Eventually(t, "a2 bound on core-2", func() bool { return cores[1].Core().SessionCount() == 2 })
	chatTo(t, b, a2, "on-core-2")
	chatTo(t, a2, b, "from-core-2")
}
