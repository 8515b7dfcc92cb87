package xmpptest

import (
	"strconv"
	"strings"
)

// MetricValue reads one series (name with its labels, as Prometheus's
// text format prints them) from a /metrics body.
func MetricValue(body, series string) (float64, bool) {
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}
