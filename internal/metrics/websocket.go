package metrics

import "github.com/prometheus/client_golang/prometheus"

// WebSocketCloses counts WebSocket connections ended by the server, by
// reason: the close code sent ("normal" 1000, "unsupported_data" 1003,
// "message_too_big" 1009), "ping_timeout" (no answer to a ping: closed
// without a close frame) or "peer" (the client's close frame answered).
var WebSocketCloses = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: ns, Subsystem: "websocket", Name: "closes_total",
	Help: "WebSocket connections closed, by reason (close code sent, ping_timeout, peer).",
}, []string{"reason"})

func init() {
	Registry.MustRegister(WebSocketCloses)
	for _, r := range []string{"normal", "unsupported_data", "message_too_big", "ping_timeout", "peer"} {
		WebSocketCloses.WithLabelValues(r)
	}
}
