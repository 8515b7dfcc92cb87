package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest/client"
	"github.com/meridian-xmpp/meridian/loadtest/scenario"
)

// Config is one run. Its JSON form travels from the controller to load
// agents.
type Config struct {
	Server    string `json:"server"` // host:port
	Domain    string `json:"domain"`
	Transport string `json:"transport"` // starttls, tls, websocket, quic
	WSURL     string `json:"ws_url,omitempty"`
	Scenario  string `json:"scenario"`

	Users      int    `json:"users"`
	UserOffset int    `json:"user_offset"` // first user number (load nodes split the users)
	UserPrefix string `json:"user_prefix"`
	Password   string `json:"password"`
	// UsersFrom: "existing", "ibr", "admin:SOCKET|URL", "file:PATH"
	// (see loadtest/users).
	UsersFrom string `json:"users_from"`
	Mechanism string `json:"mechanism"`

	Ramp        time.Duration `json:"ramp"`         // spread the logins over this time
	ConnectRate float64       `json:"connect_rate"` // logins per second at most (0: Ramp decides)
	Concurrency int           `json:"concurrency"`  // logins in flight at once
	Timeout     time.Duration `json:"timeout"`      // one login, one preparation step

	Duration   time.Duration `json:"duration"`
	Rate       float64       `json:"rate"`     // stanzas per second, all users together
	Messages   int64         `json:"messages"` // stop after this many (0: Duration decides)
	RosterSize int           `json:"roster_size"`
	Rosters    string        `json:"rosters"` // auto, skip
	Think      time.Duration `json:"think"`
	Drain      time.Duration `json:"drain"` // most time to wait for stanzas in flight

	Sources   []net.IP `json:"sources,omitempty"` // source addresses, round robin
	ServerPID int      `json:"server_pid,omitempty"`

	// Every is the series interval (default 1s).
	Every time.Duration `json:"every"`
	// Progress prints a status line every Progress (0: none) to
	// ProgressOut; with ProgressTTY the line is rewritten in place.
	Progress    time.Duration `json:"progress"`
	ProgressOut io.Writer     `json:"-"`
	ProgressTTY bool          `json:"-"`

	// StartAt makes Run wait until then before logging in, so that load
	// agents start together.
	StartAt time.Time `json:"start_at,omitzero"`
	// KeepHistograms puts encoded histograms in the result (agents).
	KeepHistograms bool `json:"keep_histograms,omitempty"`
	// Dial replaces the TCP dialer (tests inject delays with it).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error) `json:"-"`
}

func (c *Config) setDefaults() {
	if c.Transport == "" {
		c.Transport = client.StartTLS
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
	if c.Mechanism == "" {
		c.Mechanism = "PLAIN"
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 64
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Drain == 0 {
		c.Drain = 5 * time.Second
	}
	if c.Rosters == "" {
		c.Rosters = "auto"
	}
	if c.Every <= 0 {
		c.Every = time.Second
	}
}

func (c *Config) validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	if c.Server == "" && !(c.Transport == client.WebSocket && c.WSURL != "") {
		bad("--server is required")
	}
	if c.Domain == "" {
		bad("--domain is required")
	}
	if c.Users <= 0 {
		bad("--users must be positive")
	}
	if _, ok := scenario.Lookup(c.Scenario); !ok {
		bad("unknown scenario %q (have %v)", c.Scenario, scenario.Names())
	}
	switch c.Transport {
	case client.StartTLS, client.DirectTLS, client.WebSocket:
	case client.QUIC:
		bad("transport quic: %v", client.ErrNoQUIC)
	default:
		bad("unknown transport %q (want starttls, tls, websocket or quic)", c.Transport)
	}
	if !slices.Contains(client.Mechanisms, c.Mechanism) {
		bad("unknown mechanism %q (want one of %v)", c.Mechanism, client.Mechanisms)
	}
	if c.Rosters != "auto" && c.Rosters != "skip" {
		bad("--rosters %q: want auto or skip", c.Rosters)
	}
	if c.Rate < 0 || c.ConnectRate < 0 || c.Ramp < 0 || c.Duration < 0 || c.Think < 0 || c.Messages < 0 || c.RosterSize < 0 {
		bad("rates, durations and sizes must not be negative")
	}
	if c.Think > 0 && c.Rate > 0 && c.Users > 0 {
		if most := float64(c.Users) / c.Think.Seconds(); c.Rate > most*1.0001 {
			bad("--rate %.0f is more than %d users thinking %v each can send (%.0f/s)", c.Rate, c.Users, c.Think, most)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	return nil
}
