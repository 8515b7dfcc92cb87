// Package roster is the roster and presence-subscription module (RFC 6121
// §2, §3, §4): roster get/set/push with versioning (XEP-0237), every
// subscription state transition, pre-approval, pending requests redelivered
// at login, presence broadcast to subscribers and probes of contacts. The
// session table and plain presence delivery belong to the core; this module
// only adds what depends on the roster.
package roster

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// NS is the roster namespace.
const NS = "jabber:iq:roster"

// Config is [modules.roster].
type Config struct {
	Versioning bool `toml:"versioning"`
	MaxItems   int  `toml:"max_items"`
}

func init() {
	module.Register(module.Info{
		Name:   "roster",
		Config: func() any { return &Config{Versioning: true, MaxItems: 1000} },
		New:    New,
	})
}

// Module is a provisioned roster module.
type Module struct {
	h     module.Host
	cfg   Config
	store Store
	log   *slog.Logger
}

// New provisions the module.
func New(h module.Host, cfg any) (module.Instance, error) {
	m := &Module{h: h, cfg: *cfg.(*Config), log: h.Logger().With("module", "roster")}
	s, ok := h.Store("roster").(Store)
	if !ok || s == nil {
		return nil, errNoStore
	}
	m.store = s
	h.HandleIQ(module.Account, NS, m.handleIQ)
	if m.cfg.Versioning {
		h.AddStreamFeature(false, func(string) *xmltok.Element {
			return xmltok.NewElement("urn:xmpp:features:rosterver", "ver")
		})
	}
	h.AddHooks(module.Hooks{
		OutboundPresence:  m.outbound,
		InboundPresence:   m.inbound,
		PresenceBroadcast: m.broadcast,
		UserRemoved:       m.userRemoved,
	})
	return m, nil
}

type rosterError string

func (e rosterError) Error() string { return string(e) }

const errNoStore = rosterError("roster: the storage backend has no roster store")

// itemElement renders an item (RFC 6121 §2.1.2).
func itemElement(it Item) *xmltok.Element {
	el := xmltok.NewElement(NS, "item", xmltok.Attr{Name: "jid", Value: it.JID.String()})
	if it.Name != "" {
		el.SetAttr("name", it.Name)
	}
	sub := it.Subscription
	if sub == "" {
		sub = SubNone
	}
	el.SetAttr("subscription", sub)
	if it.Ask {
		el.SetAttr("ask", "subscribe")
	}
	if it.PreApproved {
		el.SetAttr("approved", "true")
	}
	for _, g := range it.Groups {
		el.Add(xmltok.NewElement(NS, "group").SetText(g))
	}
	return el
}

// push sends a roster push to every interested resource (RFC 6121 §2.1.6).
func (m *Module) push(user jid.JID, item *xmltok.Element, ver uint64) {
	for _, s := range m.h.Sessions(user) {
		if !s.Interested {
			continue
		}
		q := xmltok.NewElement(NS, "query")
		if m.cfg.Versioning {
			q.SetAttr("ver", strconv.FormatUint(ver, 10))
		}
		q.Add(item)
		iq := xmltok.NewElement(stanza.NSClient, "iq",
			xmltok.Attr{Name: "type", Value: "set"},
			xmltok.Attr{Name: "id", Value: "push" + strconv.FormatUint(ver, 10)},
			xmltok.Attr{Name: "to", Value: s.JID.String()})
		iq.Add(q)
		m.h.DeliverTo(s.JID, stanza.FromElement(iq))
	}
}

// save stores an item and pushes it.
func (m *Module) save(ctx context.Context, user jid.JID, it Item) error {
	ver, err := m.store.PutItem(ctx, user, it)
	if err != nil {
		m.log.Error("roster write failed", "user", user.String(), "err", err)
		return err
	}
	m.push(user, itemElement(it), ver)
	return nil
}

// remove deletes an item and pushes subscription='remove'.
func (m *Module) remove(ctx context.Context, user, contact jid.JID) error {
	ver, err := m.store.DeleteItem(ctx, user, contact)
	if err != nil {
		m.log.Error("roster delete failed", "user", user.String(), "err", err)
		return err
	}
	m.push(user, xmltok.NewElement(NS, "item",
		xmltok.Attr{Name: "jid", Value: contact.String()},
		xmltok.Attr{Name: "subscription", Value: "remove"}), ver)
	return nil
}
