// Package pep is the Personal Eventing Protocol module (XEP-0163): every
// account is a virtual publish-subscribe service (XEP-0060, the subset
// PEP needs) at its bare JID. The owner publishes, retracts, configures,
// purges and deletes nodes; contacts read them as the node's access
// model allows (open, presence, roster, whitelist) and receive
// notifications when their entity capabilities (XEP-0115) carry
// "<node>+notify", including the last published item when they come
// online. It serves OMEMO (XEP-0384), avatars (XEP-0084), bookmarks
// (XEP-0402) and private PEP data (XEP-0223).
//
// It owns the Store interface that storage backends implement, and
// exposes a Go API (Lookup, Module.Publish, Items, Retract, ...) for
// modules that map older protocols onto PEP nodes. It must not implement
// those protocols itself, nor explicit pubsub subscriptions (a PEP
// subscription is a presence subscription) or a pubsub component.
package pep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/internal/userlock"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// Namespaces of XEP-0060.
const (
	NSPubSub = "http://jabber.org/protocol/pubsub"
	NSOwner  = "http://jabber.org/protocol/pubsub#owner"
	NSEvent  = "http://jabber.org/protocol/pubsub#event"
	NSErrors = "http://jabber.org/protocol/pubsub#errors"
	NSCaps   = "http://jabber.org/protocol/caps"
	NSDisco  = "http://jabber.org/protocol/disco#info"
	NSDelay  = stanza.NSDelay
)

// Limits on names: a node is usually a namespace, an item ID may be a
// room JID (XEP-0402), up to 3071 bytes (RFC 7622 §3.1).
const (
	maxNodeLen = 1023
	maxIDLen   = 3071
)

// Config is [modules.pep].
type Config struct {
	// MaxItemSize is the largest payload accepted, in bytes as serialised.
	MaxItemSize int `toml:"max_item_size"`
	// MaxItemsLimit bounds pubsub#max_items of every node; 'max' means it.
	MaxItemsLimit int `toml:"max_items_limit"`
	// MaxNodes is how many nodes one user may have.
	MaxNodes int `toml:"max_nodes"`
}

func init() {
	module.Register(module.Info{
		Name:   "pep",
		Config: func() any { return &Config{MaxItemSize: 256 << 10, MaxItemsLimit: 256, MaxNodes: 256} },
		New:    New,
	})
}

// rosterStore is the part of roster.Store the access models read.
type rosterStore interface {
	Items(ctx context.Context, user jid.JID) ([]roster.Item, uint64, error)
	Item(ctx context.Context, user, contact jid.JID) (it roster.Item, ok bool, err error)
}

// Module is a provisioned PEP module: the PEP services of every account
// of the node.
type Module struct {
	h      module.Host
	cfg    Config
	store  Store
	roster rosterStore // nil without a roster store: only owners see presence and roster nodes
	log    *slog.Logger
	now    func() time.Time

	presence *interest
	caps     *capsCache

	// Caps resolution goroutines, ended and awaited by Stop.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	obsMu     sync.Mutex
	observers []func(context.Context, Event)
}

var registry = struct {
	sync.Mutex
	m map[module.Host]*Module
}{m: map[module.Host]*Module{}}

// Lookup returns the PEP module provisioned on h, nil when it is not
// enabled. Other modules call it when they first need PEP, not while
// being provisioned (pep may come after them).
func Lookup(h module.Host) *Module {
	registry.Lock()
	defer registry.Unlock()
	return registry.m[h]
}

// New provisions the module.
func New(h module.Host, cfg any) (module.Instance, error) {
	c := *cfg.(*Config)
	switch {
	case c.MaxItemSize <= 0:
		return nil, errors.New("modules.pep.max_item_size must be positive")
	case c.MaxItemsLimit <= 0:
		return nil, errors.New("modules.pep.max_items_limit must be positive")
	case c.MaxNodes <= 0:
		return nil, errors.New("modules.pep.max_nodes must be positive")
	}
	s, ok := h.Store("pubsub").(Store)
	if !ok || s == nil {
		return nil, errors.New("pep: the storage backend has no pubsub store")
	}
	m := &Module{
		h:        h,
		cfg:      c,
		store:    s,
		log:      h.Logger().With("module", "pep"),
		now:      time.Now,
		presence: newInterest(),
		caps:     newCapsCache(capsCacheSize),
	}
	if r := h.Store("roster"); r != nil {
		rs, ok := r.(rosterStore)
		if !ok {
			return nil, fmt.Errorf("pep: roster store %T cannot list items", r)
		}
		m.roster = rs
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	h.HandleIQ(module.Account, NSPubSub, m.handlePubSub)
	h.HandleIQ(module.Account, NSOwner, m.handleOwner)
	// XEP-0163 §6.1 and XEP-0223 §5: the account and the server both
	// answer with pubsub/pep and the features.
	h.AddIdentity("pubsub", "pep", "")
	for _, f := range Features() {
		h.AddFeature(module.Account, f)
		h.AddFeature(module.Server, f)
	}
	h.AddAccountDisco(module.AccountDisco{
		Identity: module.Identity{Category: "pubsub", Type: "pep"},
		Info:     m.discoInfo,
		Items:    m.discoItems,
	})
	h.AddHooks(module.Hooks{
		PresenceBroadcast: m.ownPresence,
		SessionClosed:     m.sessionClosed,
		UserReceive:       m.received,
		UserRemoved:       m.userRemoved,
	})
	registry.Lock()
	registry.m[h] = m
	registry.Unlock()
	return m, nil
}

// Stop ends caps resolution and waits for it.
func (m *Module) Stop() {
	registry.Lock()
	if registry.m[m.h] == m {
		delete(registry.m, m.h)
	}
	registry.Unlock()
	m.presence.mu.Lock()
	m.presence.stopped = true
	m.presence.mu.Unlock()
	m.cancel()
	m.wg.Wait()
}

// Features lists the XEP-0060 features this service implements, as
// announced in disco#info.
func Features() []string {
	out := []string{NSPubSub}
	for _, f := range []string{
		"access-open", "access-presence", "access-roster", "access-whitelist",
		"auto-create", "auto-subscribe", "config-node", "config-node-max",
		"create-and-configure", "create-nodes", "delete-items", "delete-nodes",
		"filtered-notifications", "item-ids", "last-published", "meta-data",
		"multi-items", "persistent-items", "presence-notifications",
		"publish", "publish-options", "purge-nodes", "retract-items",
		"retrieve-default", "retrieve-items",
	} {
		out = append(out, NSPubSub+"#"+f)
	}
	return out
}

func (m *Module) userRemoved(ctx context.Context, user jid.JID) {
	m.presence.dropOwner(user)
	if err := m.store.DeleteUser(ctx, user); err != nil {
		m.log.Error("removing PEP nodes failed", "user", user.String(), "err", err)
	}
}

// A user's node changes are read-modify-write (publish with
// preconditions, trimming, configuration): a striped per-owner lock
// serialises them. Notifications are sent after it is released.
var locks userlock.Locks

func lock(owner jid.JID) (unlock func()) { return locks.Lock(owner) }
