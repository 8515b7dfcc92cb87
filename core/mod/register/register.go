// Package register is the In-Band Registration module (XEP-0077): account
// creation before authentication on the virtual hosts that allow it, rate
// limited per client address, and, once authenticated, password change and
// account removal. Accounts themselves belong to the core (module.Host);
// this module must not touch the accounts store.
package register

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Namespaces of XEP-0077.
const (
	NS        = "jabber:iq:register"
	NSFeature = "http://jabber.org/features/iq-register"
)

// Config is [modules.register].
type Config struct {
	// RateLimit is how many registration attempts one client address may
	// make per RateWindow; 0 means no limit.
	RateLimit int `toml:"rate_limit"`
	// RateWindow is a Go duration string ("1m").
	RateWindow          string `toml:"rate_window"`
	AllowPasswordChange bool   `toml:"allow_password_change"`
	AllowRemove         bool   `toml:"allow_remove"`

	// Domains are the virtual hosts where registration is open. It is not
	// a key of the file: the node fills it before provisioning from the
	// [[vhosts]] that have registration = true.
	Domains []string `toml:"-"`
}

// Defaults returns the config defaults.
func Defaults() *Config {
	return &Config{RateLimit: 10, RateWindow: "1m", AllowPasswordChange: true, AllowRemove: true}
}

func init() {
	module.Register(module.Info{
		Name:   "register",
		Config: func() any { return Defaults() },
		New:    New,
	})
}

// Module is a provisioned registration module.
type Module struct {
	h       module.Host
	log     *slog.Logger
	cfg     Config
	domains map[string]bool
	limit   *limiter // nil: no rate limit
}

// New provisions the module.
func New(h module.Host, cfg any) (module.Instance, error) {
	c := Defaults()
	if p, ok := cfg.(*Config); ok && p != nil {
		c = p
	}
	m := &Module{h: h, log: h.Logger().With("module", "register"), cfg: *c, domains: map[string]bool{}}
	if c.RateLimit < 0 {
		return nil, fmt.Errorf("register: modules.register.rate_limit must not be negative, got %d", c.RateLimit)
	}
	window, err := time.ParseDuration(c.RateWindow)
	if err != nil {
		return nil, fmt.Errorf("register: modules.register.rate_window: invalid duration %q", c.RateWindow)
	}
	if c.RateLimit > 0 {
		if window <= 0 {
			return nil, errors.New("register: modules.register.rate_window must be positive")
		}
		m.limit = newLimiter(c.RateLimit, window, maxTracked, time.Now)
	}
	for _, d := range c.Domains {
		if !h.IsLocal(d) {
			return nil, fmt.Errorf("register: registration enabled on %q, which is not a served domain", d)
		}
		m.domains[d] = true
	}
	h.AddFeature(module.Server, NS)
	h.HandlePreAuthIQ(NS, m.preAuth)
	h.HandleIQ(module.Server, NS, m.account)
	h.HandleIQ(module.Account, NS, m.account)
	h.AddStreamFeature(true, m.streamFeature)
	return m, nil
}

// streamFeature offers registration before authentication (XEP-0077 §4)
// on the domains where it is open.
func (m *Module) streamFeature(domain string) *xmltok.Element {
	if !m.domains[domain] {
		return nil
	}
	return xmltok.NewElement(NSFeature, "register")
}
