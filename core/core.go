// Package core is the core role of a node: the session manager, the router
// (RFC 6120 §10, RFC 6121 §8), accounts, and the host that modules plug
// into. It implements link.Core for edges and module.Host for modules. It
// never owns a listener (DESIGN principle 1).
package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Enabled is a module to provision with its decoded config.
type Enabled struct {
	Info   module.Info
	Config any
}

// Options configure a Core.
type Options struct {
	Logger           *slog.Logger
	Hosts            []string
	Stores           *storage.Stores
	Modules          []Enabled
	ScramIterations  int
	ResourceConflict string // replace, refuse, random
	MaxResources     int
}

// Core is one core node.
type Core struct {
	log     *slog.Logger
	opts    Options
	hosts   map[string]bool
	stores  *storage.Stores
	started time.Time

	mu    sync.RWMutex
	users map[jid.JID]*user // bare JID → sessions; guarded by mu

	// Module registrations; written only during New, read-only after.
	iq         [2]map[string]module.IQHandler
	preAuthIQ  map[string]module.PreAuthHandler
	features   [2][]string
	identities []module.Identity
	forms      [2][]module.InfoForm
	accDisco   []module.AccountDisco
	preFeat    []func(string) *xmltok.Element
	postFeat   []func(string) *xmltok.Element
	hooks      []module.Hooks
	instances  []module.Instance
	// The hooks that run per stanza, gathered from hooks.
	sendHooks      []func(context.Context, module.SessionInfo, *stanza.Stanza) *stanza.Stanza
	recvHooks      []func(context.Context, jid.JID, *stanza.Stanza) *stanza.Stanza
	deliveredHooks []func(context.Context, *stanza.Stanza, jid.JID, []jid.JID)

	reqs    *requests
	cluster Cluster
	handoff atomic.Bool

	stopOnce sync.Once
}

var (
	_ link.Core   = (*Core)(nil)
	_ module.Host = (*Core)(nil)
)

// New builds a core and provisions its modules.
func New(opts Options) (*Core, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.ScramIterations == 0 {
		opts.ScramIterations = 4096
	}
	c := &Core{
		log:       opts.Logger.With("component", "core"),
		opts:      opts,
		hosts:     map[string]bool{},
		stores:    opts.Stores,
		started:   time.Now(),
		users:     map[jid.JID]*user{},
		preAuthIQ: map[string]module.PreAuthHandler{},
		reqs:      newRequests(),
	}
	c.iq[module.Server] = map[string]module.IQHandler{}
	c.iq[module.Account] = map[string]module.IQHandler{}
	for _, h := range opts.Hosts {
		c.hosts[h] = true
	}
	c.AddIdentity("server", "im", "Meridian")
	// RFC 3921 §3 session establishment: a no-op that older clients still
	// send after binding (RFC 6121 Appendix E); offered as optional.
	session := func(context.Context, module.IQ) (*xmltok.Element, error) { return nil, nil }
	c.HandleIQ(module.Server, stanza.NSSession, session)
	c.HandleIQ(module.Account, stanza.NSSession, session)
	for _, m := range opts.Modules {
		inst, err := m.Info.New(c, m.Config)
		if err != nil {
			c.Stop()
			return nil, fmt.Errorf("core: module %s: %w", m.Info.Name, err)
		}
		c.instances = append(c.instances, inst)
	}
	for t := range c.features {
		sort.Strings(c.features[t])
	}
	return c, nil
}

// SetCluster joins the core to the other cores of its region. Call it
// before the core serves any session.
func (c *Core) SetCluster(cl Cluster) { c.cluster = cl }

// Stop stops the modules. It is idempotent.
func (c *Core) Stop() {
	c.stopOnce.Do(func() {
		for i := len(c.instances) - 1; i >= 0; i-- {
			if s, ok := c.instances[i].(module.Stopper); ok {
				s.Stop()
			}
		}
	})
}

// Logger implements module.Host.
func (c *Core) Logger() *slog.Logger { return c.log }

// Hosts lists the served domains.
func (c *Core) Hosts() []string {
	out := append([]string(nil), c.opts.Hosts...)
	return out
}

// IsLocal reports whether domain is served here.
func (c *Core) IsLocal(domain string) bool { return c.hosts[domain] }

// Started is when the core started.
func (c *Core) Started() time.Time { return c.started }

// Store returns a persistent store by kind.
func (c *Core) Store(kind string) any {
	if c.stores == nil {
		return nil
	}
	switch kind {
	case "accounts":
		return c.stores.Accounts
	case "roster":
		return c.stores.Roster
	case "last":
		return c.stores.Last
	case "offline":
		return c.stores.Offline
	case "userdata":
		if c.stores.UserData == nil {
			return nil // no typed nil in the interface
		}
		return c.stores.UserData
	case "pubsub":
		return c.stores.PubSub
	case "archive":
		return c.stores.Archive
	}
	return nil
}

// HandleIQ implements module.Host.
func (c *Core) HandleIQ(t module.Target, space string, h module.IQHandler) {
	if _, dup := c.iq[t][space]; dup {
		panic("core: two IQ handlers for " + space)
	}
	c.iq[t][space] = h
}

// HandlePreAuthIQ implements module.Host.
func (c *Core) HandlePreAuthIQ(space string, h module.PreAuthHandler) { c.preAuthIQ[space] = h }

// AddFeature implements module.Host.
func (c *Core) AddFeature(t module.Target, ns string) { c.features[t] = append(c.features[t], ns) }

// AddIdentity implements module.Host.
func (c *Core) AddIdentity(category, typ, name string) {
	c.identities = append(c.identities, module.Identity{Category: category, Type: typ, Name: name})
}

// Features implements module.Host.
func (c *Core) Features(t module.Target) []string { return c.features[t] }

// Identities implements module.Host.
func (c *Core) Identities() []module.Identity { return c.identities }

// AddInfoForm implements module.Host. It panics on a FORM_TYPE announced
// twice for a target, as HandleIQ does on a second handler.
func (c *Core) AddInfoForm(t module.Target, f module.InfoForm) {
	for _, o := range c.forms[t] {
		if o.FormType == f.FormType {
			panic("core: two disco#info forms of type " + f.FormType)
		}
	}
	c.forms[t] = append(c.forms[t], f)
}

// InfoForms implements module.Host.
func (c *Core) InfoForms(t module.Target) []module.InfoForm { return c.forms[t] }

// AddAccountDisco implements module.Host.
func (c *Core) AddAccountDisco(d module.AccountDisco) { c.accDisco = append(c.accDisco, d) }

// AccountDisco implements module.Host.
func (c *Core) AccountDisco() []module.AccountDisco { return c.accDisco }

// AddStreamFeature implements module.Host.
func (c *Core) AddStreamFeature(preAuth bool, fn func(string) *xmltok.Element) {
	if preAuth {
		c.preFeat = append(c.preFeat, fn)
	} else {
		c.postFeat = append(c.postFeat, fn)
	}
}

// StreamFeatures implements link.Core.
func (c *Core) StreamFeatures(domain string, preAuth bool) []*xmltok.Element {
	fns := c.postFeat
	if preAuth {
		fns = c.preFeat
	}
	var out []*xmltok.Element
	for _, fn := range fns {
		if el := fn(domain); el != nil {
			out = append(out, el)
		}
	}
	return out
}

// AddHooks implements module.Host.
func (c *Core) AddHooks(h module.Hooks) {
	c.hooks = append(c.hooks, h)
	if h.UserSend != nil {
		c.sendHooks = append(c.sendHooks, h.UserSend)
	}
	if h.UserReceive != nil {
		c.recvHooks = append(c.recvHooks, h.UserReceive)
	}
	if h.MessageDelivered != nil {
		c.deliveredHooks = append(c.deliveredHooks, h.MessageDelivered)
	}
}

// UserExists implements module.Host.
func (c *Core) UserExists(ctx context.Context, bare jid.JID) (bool, error) {
	if !c.IsLocal(bare.Domain()) || bare.Local() == "" {
		return false, nil
	}
	c.mu.RLock()
	_, online := c.users[bare]
	c.mu.RUnlock()
	if online {
		return true, nil
	}
	_, err := c.stores.Accounts.GetAccount(ctx, bare.Domain(), bare.Local())
	if errors.Is(err, auth.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
