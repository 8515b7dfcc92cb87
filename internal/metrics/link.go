package metrics

import "github.com/prometheus/client_golang/prometheus"

// The edge link between edges and cores (QUIC, mutual TLS). role is
// "edge" or "core": the end that counts.
var (
	// LinkConnections counts open link connections.
	LinkConnections = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: "link", Name: "connections",
		Help: "Open edge link connections, by role of this end.",
	}, []string{"role"})
	// LinkSessions counts client sessions carried by the link.
	LinkSessions = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: "link", Name: "sessions",
		Help: "Client sessions carried over the edge link, by role of this end.",
	}, []string{"role"})
	// LinkStanzas counts stanza frames by direction (in, out).
	LinkStanzas = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "link", Name: "stanzas_total",
		Help: "Stanza frames carried over the edge link, by role of this end and direction (in, out).",
	}, []string{"role", "direction"})
	// LinkDials counts connection attempts of edges, by result.
	LinkDials = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "link", Name: "dials_total",
		Help: "Edge link connection attempts by an edge, by result (ok, failed).",
	}, []string{"result"})
	// LinkFailovers counts connections an edge lost and replaced.
	LinkFailovers = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "link", Name: "failovers_total",
		Help: "Edge link connections lost by an edge (its sessions move to the next core).",
	})
	// LinkReplayed counts unacknowledged stanzas an edge sent again on a
	// new connection.
	LinkReplayed = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "link", Name: "replayed_total",
		Help: "Unacknowledged frames an edge replayed to a core after reconnecting.",
	})
	// LinkReturned counts stanzas a core handed back to its router
	// (Session.Close) because the edge never acknowledged them.
	LinkReturned = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "link", Name: "returned_total",
		Help: "Stanzas a core routed again because the edge link ended before the edge acknowledged them.",
	})
	// LinkRefusedByEdge counts stanzas an edge's client stream refused
	// (Sink.Deliver false); they go back to the core when the session closes.
	LinkRefusedByEdge = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "link", Name: "edge_refused_total",
		Help: "Stanzas an edge's client stream did not take; handed back to the core with the session's close.",
	})
	// LinkLost counts stanzas the link could not carry, by reason.
	LinkLost = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "link", Name: "lost_total",
		Help: "Stanzas the edge link could not carry, by reason (reopen_failed, session_ended).",
	}, []string{"reason"})
	// LinkHandshakeRefused counts refused link handshakes, by side and reason.
	LinkHandshakeRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "link", Name: "handshake_refused_total",
		Help: "Edge link peers refused during the TLS handshake, by role of this end and reason (unknown_ca, expired, bad_usage, no_certificate, alpn, invalid).",
	}, []string{"role", "reason"})
	// LinkProtocolErrors counts link connections closed for bad input.
	LinkProtocolErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "link", Name: "protocol_errors_total",
		Help: "Edge link connections closed because the peer broke the framing, by role of this end and reason.",
	}, []string{"role", "reason"})
	// LinkRequests counts control requests by method and result.
	LinkRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "link", Name: "requests_total",
		Help: "Edge link control requests served by a core, by method and result (ok, error).",
	}, []string{"method", "result"})
)

// LinkStanzas' series, resolved once: they count every stanza.
var (
	LinkEdgeIn  = LinkStanzas.WithLabelValues("edge", "in")
	LinkEdgeOut = LinkStanzas.WithLabelValues("edge", "out")
	LinkCoreIn  = LinkStanzas.WithLabelValues("core", "in")
	LinkCoreOut = LinkStanzas.WithLabelValues("core", "out")
)

func init() {
	Registry.MustRegister(LinkConnections, LinkSessions, LinkStanzas, LinkDials,
		LinkFailovers, LinkReplayed, LinkReturned, LinkRefusedByEdge, LinkLost,
		LinkHandshakeRefused, LinkProtocolErrors, LinkRequests)
}

// LinkCarried counts the stanzas an edge sent to a core right after
// reopening a session there to carry its state (presence, roster
// interest, carbons).
var LinkCarried = prometheus.NewCounter(prometheus.CounterOpts{
	Namespace: ns, Subsystem: "link", Name: "carried_total",
	Help: "Stanzas an edge sent after reopening a session on a core to carry its state (presence, roster interest, carbons).",
})

func init() { Registry.MustRegister(LinkCarried) }
