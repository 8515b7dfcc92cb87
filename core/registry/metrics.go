package registry

import (
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Operation names, the op label of meridian_registry_ops_total.
const (
	opRegister    = "register"
	opRefresh     = "refresh"
	opUnregister  = "unregister"
	opSetPresence = "set_presence"
	opLookup      = "lookup"
	opSessions    = "sessions"
	opDropNode    = "drop_node"
	opComplete    = "complete"
)

// counters holds one backend's counters resolved once, so that the hot
// path (Lookup) pays one atomic add, not a label lookup.
type counters struct {
	ok, failed map[string]prometheus.Counter
	expired    prometheus.Counter
	outages    prometheus.Counter
	resyncs    prometheus.Counter
	up         prometheus.Gauge
}

func newCounters(backend string) *counters {
	c := &counters{
		ok:      map[string]prometheus.Counter{},
		failed:  map[string]prometheus.Counter{},
		expired: metrics.RegistryExpired.WithLabelValues(backend),
		outages: metrics.RegistryOutages.WithLabelValues(backend),
		resyncs: metrics.RegistryResyncs.WithLabelValues(backend),
		up:      metrics.RegistryUp.WithLabelValues(backend),
	}
	for _, op := range []string{opRegister, opRefresh, opUnregister, opSetPresence, opLookup, opSessions, opDropNode, opComplete} {
		c.ok[op] = metrics.RegistryOps.WithLabelValues(backend, op, "ok")
		c.failed[op] = metrics.RegistryOps.WithLabelValues(backend, op, "error")
	}
	c.up.Set(1)
	return c
}

// done counts one operation and passes its error through.
func (c *counters) done(op string, err error) error {
	if err != nil {
		c.failed[op].Inc()
	} else {
		c.ok[op].Inc()
	}
	return err
}
