package roster

import (
	"context"
	"strconv"
	"unicode/utf8"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

const maxNameLen = 1024

// handleIQ answers roster get and set (RFC 6121 §2.1.3, §2.1.5).
func (m *Module) handleIQ(ctx context.Context, iq module.IQ) (*xmltok.Element, error) {
	user := iq.From.Bare()
	if iq.To != user {
		return nil, stanza.ErrForbidden
	}
	if iq.Payload.Local != "query" {
		return nil, stanza.ErrBadRequest
	}
	if !iq.Set {
		return m.get(ctx, iq)
	}
	return nil, m.set(ctx, user, iq.Payload)
}

func (m *Module) get(ctx context.Context, iq module.IQ) (*xmltok.Element, error) {
	m.h.SetInterested(iq.From)
	items, ver, err := m.store.Items(ctx, iq.From.Bare())
	if err != nil {
		return nil, stanza.ErrInternalServerError
	}
	cur := strconv.FormatUint(ver, 10)
	// XEP-0237 §3: an up-to-date client gets an empty result, then pushes.
	if m.cfg.Versioning && iq.Payload.HasAttr("ver") && iq.Payload.Attr("ver") == cur {
		return nil, nil
	}
	q := xmltok.NewElement(NS, "query")
	if m.cfg.Versioning {
		q.SetAttr("ver", cur)
	}
	for _, it := range items {
		q.Add(itemElement(it))
	}
	return q, nil
}

// set adds, updates or removes one item (RFC 6121 §2.3–§2.5).
func (m *Module) set(ctx context.Context, user jid.JID, q *xmltok.Element) error {
	items := q.ChildrenNamed(NS, "item")
	if len(items) != 1 || len(q.Children) != 1 {
		return stanza.ErrBadRequest.WithText("a roster set has exactly one item")
	}
	el := items[0]
	contact, err := jid.Parse(el.Attr("jid"))
	if err != nil || el.Attr("jid") == "" {
		return stanza.ErrJIDMalformed
	}
	contact = contact.Bare()
	var out queue
	unlock := m.lock(user)
	defer func() { unlock(); out.flush(ctx, m.h) }()
	old, exists, err := m.store.Item(ctx, user, contact)
	if err != nil {
		return stanza.ErrInternalServerError
	}
	if el.Attr("subscription") == "remove" {
		if !exists {
			return stanza.ErrItemNotFound
		}
		if err := m.remove(ctx, user, contact); err != nil {
			return stanza.ErrInternalServerError
		}
		// RFC 6121 §2.5.2: cancel subscriptions both ways.
		if old.Subscription == SubTo || old.Subscription == SubBoth || old.Ask {
			out.add(subscription(user, contact, "unsubscribe"))
		}
		if old.Subscription == SubFrom || old.Subscription == SubBoth {
			out.add(subscription(user, contact, "unsubscribed"))
		}
		return nil
	}
	name := el.Attr("name")
	if len(name) > maxNameLen || !utf8.ValidString(name) {
		return stanza.ErrNotAcceptable.WithText("name too long")
	}
	var groups []string
	seen := map[string]bool{}
	for _, g := range el.Children {
		if g.Local != "group" || g.Space != NS {
			continue
		}
		if g.Text == "" {
			return stanza.ErrNotAcceptable.WithText("empty group name")
		}
		if len(g.Text) > maxNameLen {
			return stanza.ErrNotAcceptable.WithText("group name too long")
		}
		if seen[g.Text] {
			return stanza.ErrBadRequest.WithText("duplicate group")
		}
		seen[g.Text] = true
		groups = append(groups, g.Text)
	}
	if !exists && m.cfg.MaxItems > 0 {
		all, _, err := m.store.Items(ctx, user)
		if err != nil {
			return stanza.ErrInternalServerError
		}
		if len(all) >= m.cfg.MaxItems {
			return stanza.ErrNotAllowed.WithText("roster is full")
		}
	}
	it := old
	if !exists {
		it = Item{JID: contact, Subscription: SubNone}
	}
	// The subscription and ask a client sends are ignored: only the
	// subscription protocol changes them (RFC 6121 §2.1.2.5).
	it.Name = name
	it.Groups = groups
	if err := m.save(ctx, user, it); err != nil {
		return stanza.ErrInternalServerError
	}
	return nil
}

// send routes a subscription presence from user's bare JID.
func (m *Module) send(ctx context.Context, from, to jid.JID, typ string) {
	m.h.Route(ctx, subscription(from, to, typ))
}

// subscription builds a subscription presence from user's bare JID.
func subscription(from, to jid.JID, typ string) *stanza.Stanza {
	el := xmltok.NewElement(stanza.NSClient, "presence",
		xmltok.Attr{Name: "from", Value: from.String()},
		xmltok.Attr{Name: "to", Value: to.String()},
		xmltok.Attr{Name: "type", Value: typ})
	return stanza.FromElement(el)
}
