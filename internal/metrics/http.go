package metrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HTTPRequests counts requests to the node's HTTP endpoints by endpoint
// ("websocket", "bosh", "client_api", "host_meta", "admin") and status
// code; a WebSocket upgrade counts as 101.
var HTTPRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: ns, Subsystem: "http", Name: "requests_total",
	Help: "HTTP requests to the web and admin endpoints, by endpoint and status code.",
}, []string{"endpoint", "code"})

func init() {
	Registry.MustRegister(HTTPRequests)
	for _, e := range []string{"websocket", "bosh", "client_api", "host_meta", "admin"} {
		HTTPRequests.WithLabelValues(e, strconv.Itoa(http.StatusOK))
	}
}

// CountHTTP wraps h so that its requests are counted under endpoint. The
// wrapper keeps http.Hijacker and http.Flusher (WebSocket, BOSH).
func CountHTTP(endpoint string, h http.Handler) http.Handler {
	return promhttp.InstrumentHandlerCounter(HTTPRequests.MustCurryWith(prometheus.Labels{"endpoint": endpoint}), h)
}
