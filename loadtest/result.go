package loadtest

import (
	"time"

	"github.com/meridian-xmpp/meridian/loadtest/stats"
)

// Result is a run's outcome; its JSON form is documented in the package
// comment and in README.md.
type Result struct {
	Scenario  string    `json:"scenario"`
	Transport string    `json:"transport"`
	Target    string    `json:"target"`
	Domain    string    `json:"domain"`
	Started   time.Time `json:"started"`
	DurationS float64   `json:"duration_s"`

	Users        int     `json:"users"`
	Connected    int64   `json:"connected"`
	LoginS       float64 `json:"login_s"`
	LoginsPerSec float64 `json:"logins_per_sec"`

	LoadS            float64 `json:"load_s"`
	Rate             float64 `json:"rate"`
	MessagesSent     int64   `json:"messages_sent"`
	MessagesReceived int64   `json:"messages_received"`
	MessagesPerSec   float64 `json:"messages_per_sec"`

	Latency Summary `json:"latency_ms"`
	Connect Summary `json:"connect_ms"`
	TLS     Summary `json:"tls_ms"`
	Auth    Summary `json:"auth_ms"`
	Bind    Summary `json:"bind_ms"`
	SendLag Summary `json:"send_lag_ms"`

	Errors map[string]int64 `json:"errors"`
	Server ServerStats      `json:"server"`
	Series []Point          `json:"series"`

	Agents     int               `json:"agents,omitempty"`
	Histograms map[string]string `json:"histograms,omitempty"`
}

// Summary is a histogram's percentiles in milliseconds.
type Summary = stats.Summary

// ServerStats describe the server under test; the resource figures need
// its pid (same machine).
type ServerStats struct {
	Address       string  `json:"address"`
	PID           int     `json:"pid,omitempty"`
	RSSBefore     int64   `json:"rss_bytes_before"`
	RSSAfter      int64   `json:"rss_bytes_after"`
	RSSPerSession int64   `json:"rss_per_session_bytes"`
	RSSMax        int64   `json:"rss_bytes_max"`
	CPUPercent    float64 `json:"cpu_percent"`
	CPUPercentMax float64 `json:"cpu_percent_max"`
}

// Point is one interval (Config.Every, a second by default) of a run.
type Point struct {
	T          float64 `json:"t"` // seconds since the run started
	Sent       int64   `json:"sent"`
	Received   int64   `json:"received"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	Connected  int64   `json:"connected"`
	Errors     int64   `json:"errors"`
	RSSBytes   int64   `json:"rss_bytes,omitempty"`
	CPUPercent float64 `json:"cpu_percent,omitempty"`
	// Hist is the interval's latency histogram (agents only).
	Hist string `json:"hist,omitempty"`
}

// Status is a run's state while it runs: for the progress line and for
// a controller polling its agents.
type Status struct {
	Phase     string  `json:"phase"`
	ElapsedS  float64 `json:"elapsed_s"`
	Users     int     `json:"users"`
	Connected int64   `json:"connected"`
	Sent      int64   `json:"sent"`
	Received  int64   `json:"received"`
	Errors    int64   `json:"errors"`
	P99ms     float64 `json:"p99_ms"` // of the last interval
	RSSBytes  int64   `json:"rss_bytes,omitempty"`
	CPU       float64 `json:"cpu_percent,omitempty"`
}
