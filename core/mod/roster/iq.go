package roster

import (
	"context"
	"strconv"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

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
	if el.Attr("subscription") == "remove" {
		return m.RemoveItem(ctx, user, contact)
	}
	var groups []string
	for _, g := range el.Children {
		if g.Local == "group" && g.Space == NS {
			groups = append(groups, g.Text)
		}
	}
	return m.SetItem(ctx, user, contact, el.Attr("name"), groups)
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
