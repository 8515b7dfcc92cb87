package metrics

import "github.com/prometheus/client_golang/prometheus"

// XMPP over BOSH (XEP-0124, XEP-0206).
var (
	// BOSHSessions counts open BOSH sessions.
	BOSHSessions = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: "bosh", Name: "sessions",
		Help: "Open BOSH sessions.",
	})
	// BOSHHeld counts requests held open for a long-poll.
	BOSHHeld = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: ns, Subsystem: "bosh", Name: "held_requests",
		Help: "BOSH requests held open until there is data to send or wait passes.",
	})
	// BOSHRequests counts BOSH HTTP requests by outcome.
	BOSHRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "bosh", Name: "requests_total",
		Help: "BOSH HTTP requests: created (a session), ok, retransmitted (answered from the response buffer), rejected (an HTTP error or a terminal binding condition).",
	}, []string{"result"})
	// BOSHEnded counts ended BOSH sessions by reason: terminate (by the
	// client), stream (the server closed the stream), inactivity, shutdown,
	// or the terminal binding condition that ended it.
	BOSHEnded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: ns, Subsystem: "bosh", Name: "sessions_ended_total",
		Help: "Ended BOSH sessions, by reason (terminate, stream, inactivity, shutdown, or a terminal binding condition).",
	}, []string{"reason"})
)

func init() {
	Registry.MustRegister(BOSHSessions, BOSHHeld, BOSHRequests, BOSHEnded)
	for _, r := range []string{"created", "ok", "retransmitted", "rejected"} {
		BOSHRequests.WithLabelValues(r)
	}
	for _, r := range []string{"terminate", "stream", "inactivity", "shutdown"} {
		BOSHEnded.WithLabelValues(r)
	}
}
