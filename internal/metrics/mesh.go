package metrics

import "github.com/prometheus/client_golang/prometheus"

// The Serf mesh.
var (
	// MeshMembers counts the members this node knows, by status (alive,
	// leaving, left, failed).
	MeshMembers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: "mesh", Name: "members",
		Help: "Mesh members known to this node, by status (alive, leaving, left, failed).",
	}, []string{"status"})
	// MeshBogusMembers counts members kept out of the route view because a
	// tag does not parse, once per member and problem, by tag.
	MeshBogusMembers = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "mesh", Name: "bogus_members_total",
		Help: "Members ignored for routing because of a malformed or missing tag, counted once per member and problem, by tag.",
	}, []string{"tag"})
	// MeshEvents counts the Serf member events consumed, by type.
	MeshEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "mesh", Name: "events_total",
		Help: "Serf member events consumed, by type (join, leave, failed, update, reap).",
	}, []string{"type"})
	// MeshJoins counts attempts to join the seed addresses, by result.
	MeshJoins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "mesh", Name: "join_attempts_total",
		Help: "Attempts to join the mesh through its seed addresses, by result (ok, error).",
	}, []string{"result"})
	// MeshGossipErrors counts the errors and warnings Serf and memberlist
	// report (an undecryptable packet from a node with another key, a
	// peer that does not answer), by level.
	MeshGossipErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "mesh", Name: "gossip_errors_total",
		Help: "Errors and warnings reported by the gossip layer (e.g. packets that fail to decrypt), by level (error, warn).",
	}, []string{"level"})
	// MeshTagUpdates counts changes of this node's own tags (its load).
	MeshTagUpdates = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "mesh", Name: "tag_updates_total",
		Help: "Updates of this node's own tags gossiped to the mesh.",
	})
)

func init() {
	Registry.MustRegister(MeshMembers, MeshBogusMembers, MeshEvents, MeshJoins, MeshGossipErrors, MeshTagUpdates)
	for _, s := range []string{"alive", "leaving", "left", "failed"} {
		MeshMembers.WithLabelValues(s)
	}
	for _, r := range []string{"ok", "error"} {
		MeshJoins.WithLabelValues(r)
	}
	for _, l := range []string{"error", "warn"} {
		MeshGossipErrors.WithLabelValues(l)
	}
}
