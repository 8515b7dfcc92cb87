// Package loadtest is meridian-load's engine: it provisions users, logs
// them in at a controlled rate over real XMPP (any server: Meridian,
// Prosody, ejabberd), runs a scenario (login storm, idle users, one-to-one
// chat at a rate, presence broadcast, MAM queries) and measures connect,
// TLS, authentication and end-to-end message latency with HDR
// histograms, messages per second, errors by kind, and the server's
// resident memory and CPU when it runs on this machine. The JSON result's
// schema is in loadtest/README.md. It must not know any server's internals.
package loadtest

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest/stats"
)

// Config is one run.
type Config struct {
	Server     string // host:port
	Domain     string
	Transport  string // starttls, tls (websocket, quic: later)
	Scenario   string // login, idle, chat, presence, mam
	Users      int
	UserOffset int // first user number (distributed runs split the users)
	UserPrefix string
	Password   string
	// UsersFrom: "existing" (accounts <prefix><n> exist), "ibr" (register
	// in-band first), "file:PATH" (lines "jid password"), "admin:SOCKET"
	// (Meridian's admin API on its unix socket).
	UsersFrom   string
	Mechanism   string
	Ramp        time.Duration
	ConnectRate float64 // logins per second; 0 spreads Users over Ramp
	Duration    time.Duration
	Rate        float64 // messages (or presences, queries) per second, all users together
	RosterSize  int
	Think       time.Duration // least gap between two sends of one user
	Sources     []net.IP      // source addresses, round robin
	ServerPID   int           // sample this process's RSS and CPU
	Drain       time.Duration // wait for in-flight messages after sending stops
	Progress    io.Writer     `json:"-"` // live progress line; nil for none
	Every       time.Duration // progress and series interval (1s)
	Concurrency int           // logins in flight at once (64)
	// KeepHistograms puts the raw histograms in the result, so that the
	// results of several load nodes merge exactly.
	KeepHistograms bool
}

func (c *Config) defaults() error {
	if c.Server == "" || c.Domain == "" {
		return fmt.Errorf("loadtest: server and domain are required")
	}
	if c.Users <= 0 {
		return fmt.Errorf("loadtest: users must be positive")
	}
	if _, ok := scenarios[c.Scenario]; !ok {
		return fmt.Errorf("loadtest: unknown scenario %q (have %v)", c.Scenario, ScenarioNames())
	}
	if c.UserPrefix == "" {
		c.UserPrefix = "load"
	}
	if c.Password == "" {
		c.Password = "secret"
	}
	if c.UsersFrom == "" {
		c.UsersFrom = "existing"
	}
	if c.Every <= 0 {
		c.Every = time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.Drain == 0 {
		c.Drain = 2 * time.Second
	}
	if c.Transport == "" {
		c.Transport = "starttls"
	}
	return nil
}

// Result is a run's outcome; its JSON form is documented in README.md.
type Result struct {
	Scenario         string           `json:"scenario"`
	Transport        string           `json:"transport"`
	Target           string           `json:"target"`
	Started          time.Time        `json:"started"`
	DurationS        float64          `json:"duration_s"`
	Users            int              `json:"users"`
	Connected        int64            `json:"connected"`
	LoginsPerSec     float64          `json:"logins_per_sec"`
	MessagesSent     int64            `json:"messages_sent"`
	MessagesReceived int64            `json:"messages_received"`
	MessagesPerSec   float64          `json:"messages_per_sec"`
	TargetRate       float64          `json:"target_rate"`
	Latency          Summary          `json:"latency_ms"`
	Connect          Summary          `json:"connect_ms"`
	TLS              Summary          `json:"tls_ms"`
	Auth             Summary          `json:"auth_ms"`
	Errors           map[string]int64 `json:"errors"`
	ServerStats      *ServerStats     `json:"server,omitempty"`
	Series           []Point          `json:"series"`
	// Histograms (with KeepHistograms): latency, connect, tls, auth.
	Histograms map[string]*stats.Snapshot `json:"histograms,omitempty"`
}

// ServerStats are the server process's resources.
type ServerStats struct {
	PID           int     `json:"pid"`
	RSSBefore     int64   `json:"rss_bytes_before"`
	RSSAfter      int64   `json:"rss_bytes_after"`
	RSSPerSession int64   `json:"rss_per_session_bytes"`
	CPUPercent    float64 `json:"cpu_percent"`
	RSSMax        int64   `json:"rss_bytes_max"`
}

// Summary and Point are the stats package's report types.
type (
	Summary = stats.Summary
	Point   = stats.Point
)
