package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest"
)

func sample() *loadtest.Result {
	r := &loadtest.Result{
		Scenario: "chat", Transport: "starttls", Target: "127.0.0.1:5222", Domain: "localhost",
		Started: time.Date(2026, 11, 26, 18, 0, 0, 0, time.UTC), DurationS: 12, Users: 10, Connected: 10,
		MessagesSent: 3000, MessagesReceived: 2990, MessagesPerSec: 997, Rate: 1000,
		Latency: loadtest.Summary{Count: 2990, P50: 0.8, P99: 4.2, Max: 9},
		Errors:  map[string]int64{"message_error:service-unavailable": 10, "auth:<script>": 1},
		Server:  loadtest.ServerStats{Address: "127.0.0.1:5222", PID: 42, RSSBefore: 10 << 20, RSSAfter: 11 << 20, RSSPerSession: 100 << 10},
	}
	for i := range 10 {
		r.Series = append(r.Series, loadtest.Point{T: float64(i + 1), Sent: 300, Received: 299, P50ms: 0.8, P99ms: 4, Connected: 10, RSSBytes: 11 << 20, CPUPercent: 40})
	}
	return r
}

func TestHTMLIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, sample()); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	if n := strings.Count(s, "<svg"); n != 5 {
		t.Fatalf("%d charts", n)
	}
	for _, bad := range []string{"<script", "src=", "href=", "<link"} {
		if strings.Contains(s, bad) {
			t.Fatalf("report contains %q", bad)
		}
	}
	if !strings.Contains(s, "auth:&lt;script&gt;") || !strings.Contains(s, "message_error:service-unavailable") {
		t.Fatal("errors missing or unescaped")
	}
}

func TestJSONFieldNames(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON("-", &b, sample()); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"scenario", "transport", "target", "started", "duration_s", "users", "connected", "logins_per_sec",
		"messages_sent", "messages_received", "messages_per_sec", "latency_ms", "connect_ms", "tls_ms", "auth_ms", "errors", "server", "series"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q", k)
		}
	}
	lat := m["latency_ms"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "p999", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("no latency_ms.%s", k)
		}
	}
	sv := m["server"].(map[string]any)
	for _, k := range []string{"address", "rss_bytes_before", "rss_bytes_after", "rss_per_session_bytes", "cpu_percent"} {
		if _, ok := sv[k]; !ok {
			t.Errorf("no server.%s", k)
		}
	}
	pt := m["series"].([]any)[0].(map[string]any)
	for _, k := range []string{"t", "sent", "received", "p99_ms", "connected"} {
		if _, ok := pt[k]; !ok {
			t.Errorf("no series[].%s", k)
		}
	}
}
