package metrics

import "github.com/prometheus/client_golang/prometheus"

// Core cluster metrics (core/cluster).
var (
	// ClusterForwards counts stanzas between the cores of a region, by
	// result: queued and sent (to a peer), received (from one), parked (waiting for a session on a core that is gone to move), returned
	// (a peer never took them: routed again here), kept (no peer to take
	// them: handled here).
	ClusterForwards = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "cluster", Name: "forwards_total",
		Help: "Stanzas between the cores of the region by result (queued, sent, received, returned, parked, kept).",
	}, []string{"result"})
	// ClusterErrors counts failures between cores and of the registry, by
	// operation.
	ClusterErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "cluster", Name: "errors_total",
		Help: "Failures between cores and of the session registry, by operation.",
	}, []string{"op"})
	// ClusterRelays counts sessions relayed to the core where their user
	// is bound.
	ClusterRelays = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "cluster", Name: "relayed_sessions_total",
		Help: "Sessions an edge opened here that were relayed to the core where their user is bound.",
	})
	// ClusterLostSessions counts sessions of a core that left, with no
	// edge to move them, ended here for their contacts.
	ClusterLostSessions = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "cluster", Name: "lost_sessions_total",
		Help: "Available sessions of a core that left, not moved by any edge within the grace period, whose unavailable presence this core sent.",
	})
)

// ClusterForwards' series, resolved once: the first three count every
// forwarded stanza.
var (
	ClusterQueued   = ClusterForwards.WithLabelValues("queued")
	ClusterSent     = ClusterForwards.WithLabelValues("sent")
	ClusterReceived = ClusterForwards.WithLabelValues("received")
	ClusterReturned = ClusterForwards.WithLabelValues("returned")
	ClusterParked   = ClusterForwards.WithLabelValues("parked")
	ClusterKept     = ClusterForwards.WithLabelValues("kept")
)

func init() {
	Registry.MustRegister(ClusterForwards, ClusterErrors, ClusterRelays, ClusterLostSessions)
}
