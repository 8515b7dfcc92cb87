package metrics

import "github.com/prometheus/client_golang/prometheus"

// Lame-duck drain of an edge.
var (
	// DrainedStreams counts the client streams a drain ended, by the
	// stream error they got (see-other-host or system-shutdown).
	DrainedStreams = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "c2s", Name: "drained_streams_total",
		Help: "Client streams ended by a lame-duck drain, by the stream error sent (see-other-host, system-shutdown).",
	}, []string{"condition"})
)

func init() { Registry.MustRegister(DrainedStreams) }
