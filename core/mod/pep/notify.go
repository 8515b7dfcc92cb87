package pep

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// fanout sends an event about node of owner to every resource that asked
// for the node's notifications and may see it (XEP-0163 §4.3, XEP-0060
// §7.1.2). The owner's own resources are among them.
func (m *Module) fanout(ctx context.Context, owner jid.JID, node string, cfg NodeConfig, ev *xmltok.Element) {
	if !cfg.DeliverNotifications {
		return
	}
	targets := m.presence.interested(owner, node)
	if len(targets) == 0 {
		return
	}
	acl := m.contacts(owner, true)
	for _, to := range targets {
		if acl.access(ctx, cfg, to) != nil {
			continue
		}
		m.h.Route(ctx, m.message(owner, to, cfg, ev))
	}
}

// message is a notification from the owner's bare JID (XEP-0163
// §4.3.1), of the node's notification type.
func (m *Module) message(owner, to jid.JID, cfg NodeConfig, children ...*xmltok.Element) *stanza.Stanza {
	typ := cfg.NotificationType
	if typ == "" {
		typ = "headline"
	}
	el := xmltok.NewElement(stanza.NSClient, "message",
		xmltok.Attr{Name: "from", Value: owner.String()},
		xmltok.Attr{Name: "to", Value: to.String()},
		xmltok.Attr{Name: "type", Value: typ},
		xmltok.Attr{Name: "id", Value: newID()})
	el.Add(children...)
	return stanza.FromElement(el)
}

func event(child *xmltok.Element) *xmltok.Element {
	return xmltok.NewElement(NSEvent, "event").Add(child)
}

// itemsElement is <items node=.../> in ns (pubsub or pubsub#event).
func itemsElement(ns, node string, children ...*xmltok.Element) *xmltok.Element {
	return xmltok.NewElement(ns, "items", xmltok.Attr{Name: "node", Value: node}).Add(children...)
}

// itemElement renders an item in ns, with its payload unless payload is
// false (XEP-0060 §7.1.2.2, notification without payload).
func (m *Module) itemElement(ns string, it Item, payload bool) (*xmltok.Element, error) {
	el := xmltok.NewElement(ns, "item", xmltok.Attr{Name: "id", Value: it.ID})
	if payload && len(it.Payload) > 0 {
		p, err := m.parsePayload(it.Payload)
		if err != nil {
			m.log.Error("stored PEP item does not parse", "item", it.ID, "err", err)
			return nil, stanza.ErrInternalServerError
		}
		el.Add(p)
	}
	return el, nil
}

func (m *Module) parsePayload(raw []byte) (*xmltok.Element, error) {
	return xmltok.ParseLimits(raw, "", nil, xmltok.Limits{MaxStanzaSize: max(m.cfg.MaxItemSize, xmltok.DefaultMaxStanzaSize)})
}

// retractEvent is the event for items removed from node.
func retractEvent(node string, ids []string) *xmltok.Element {
	items := itemsElement(NSEvent, node)
	for _, id := range ids {
		items.Add(xmltok.NewElement(NSEvent, "retract", xmltok.Attr{Name: "id", Value: id}))
	}
	return event(items)
}

// newID returns a random identifier for items and notifications.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
