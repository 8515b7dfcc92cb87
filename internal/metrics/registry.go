package metrics

import "github.com/prometheus/client_golang/prometheus"

// The cluster session registry (core/registry).
var (
	// RegistryOps counts registry operations by backend, operation and
	// result (ok or error).
	RegistryOps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "registry", Name: "ops_total",
		Help: "Session registry operations, by backend, operation and result (ok, error).",
	}, []string{"backend", "op", "result"})
	// RegistryUp is 1 while the backend is reachable, 0 during an outage.
	RegistryUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: "registry", Name: "up",
		Help: "1 while the session registry backend is reachable, 0 during an outage.",
	}, []string{"backend"})
	// RegistryOutages counts transitions from reachable to unreachable.
	RegistryOutages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "registry", Name: "outages_total",
		Help: "Times the session registry backend became unreachable.",
	}, []string{"backend"})
	// RegistryResyncs counts re-registrations of a node's live sessions
	// after the backend came back or lost its data.
	RegistryResyncs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "registry", Name: "resyncs_total",
		Help: "Times this node registered its live sessions again (backend back, restarted, or a peer joined).",
	}, []string{"backend"})
	// RegistryExpired counts entries removed because nobody refreshed them.
	RegistryExpired = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "registry", Name: "expired_total",
		Help: "Session registry entries removed because they were not refreshed in time.",
	}, []string{"backend"})
	// RegistryRejected counts updates from other cores refused, by reason.
	RegistryRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "registry", Name: "rejected_total",
		Help: "Replication updates from other cores refused, by reason (malformed, not_owner).",
	}, []string{"reason"})
	// RegistryEntries is the number of entries this node's memory replica holds.
	RegistryEntries = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: "registry", Name: "entries",
		Help: "Entries in this node's replica of the session registry (memory backend).",
	})
)

func init() {
	Registry.MustRegister(RegistryOps, RegistryUp, RegistryOutages, RegistryResyncs, RegistryExpired, RegistryRejected, RegistryEntries)
	for _, r := range []string{"malformed", "not_owner"} {
		RegistryRejected.WithLabelValues(r)
	}
}
