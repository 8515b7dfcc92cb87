package roster

import (
	"context"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

func hasTo(sub string) bool   { return sub == SubTo || sub == SubBoth }
func hasFrom(sub string) bool { return sub == SubFrom || sub == SubBoth }

// rewrite returns st with from and to set to bare JIDs (RFC 6121 §3.1.2:
// subscription stanzas are stamped with the user's bare JID).
func rewrite(st *stanza.Stanza, from, to jid.JID) *stanza.Stanza {
	el, err := st.Element()
	if err != nil {
		return nil
	}
	c := el.Copy()
	c.SetAttr("from", from.String())
	c.SetAttr("to", to.String())
	return stanza.FromElement(c)
}

func (m *Module) item(ctx context.Context, user, contact jid.JID) (Item, bool) {
	it, ok, err := m.store.Item(ctx, user, contact)
	if err != nil {
		m.log.Error("roster read failed", "user", user.String(), "err", err)
		return Item{}, false
	}
	if !ok {
		it = Item{JID: contact, Subscription: SubNone}
	}
	return it, ok
}

// outbound handles subscription presence a local user sends (RFC 6121
// §3.1.2, §3.2.2, §3.3.2, §3.4).
func (m *Module) outbound(ctx context.Context, from module.SessionInfo, st *stanza.Stanza) bool {
	if !isSubscription(st.Type) {
		return false
	}
	user, contact := from.JID.Bare(), st.To.Bare()
	out := rewrite(st, user, contact)
	if out == nil || contact == user {
		return true
	}
	var q queue
	unlock := m.lock(user)
	defer func() { unlock(); q.flush(ctx, m.h) }()
	it, exists := m.item(ctx, user, contact)
	changed := false
	route := true
	switch st.Type {
	case "subscribe":
		if !hasTo(it.Subscription) && !it.Ask {
			it.Ask, changed = true, true
		}
	case "unsubscribe":
		if hasTo(it.Subscription) || it.Ask {
			it.Subscription = dropTo(it.Subscription)
			it.Ask, changed = false, true
		}
	case "subscribed":
		pending := m.hasPending(ctx, user, contact)
		switch {
		case hasFrom(it.Subscription):
			route = false // already approved: nothing to do (§3.1.5)
		case pending:
			it.Subscription = addFrom(it.Subscription)
			it.PreApproved, changed = false, true
			m.deletePending(ctx, user, contact)
		default:
			// Pre-approval (§3.4): remembered, not routed.
			if !it.PreApproved {
				it.PreApproved, changed = true, true
			}
			route = false
		}
	case "unsubscribed":
		m.deletePending(ctx, user, contact)
		if hasFrom(it.Subscription) || it.PreApproved {
			it.Subscription = dropFrom(it.Subscription)
			it.PreApproved, changed = false, true
		}
	}
	if changed && (exists || it.Subscription != SubNone || it.Ask || it.PreApproved) {
		if err := m.save(ctx, user, it); err != nil {
			return true
		}
	}
	if !route {
		return true
	}
	q.add(out)
	switch st.Type {
	case "subscribed":
		// §3.1.5: the new subscriber gets the user's current presence.
		m.presences(&q, user, contact, false)
	case "unsubscribed":
		m.presences(&q, user, contact, true)
	}
	return true
}

// inbound handles presence that reached a local user's bare JID.
func (m *Module) inbound(ctx context.Context, st *stanza.Stanza) bool {
	if st.Type != "probe" && !isSubscription(st.Type) {
		return false
	}
	user, contact := st.To.Bare(), st.From.Bare()
	if user == contact || st.From.IsZero() {
		return true
	}
	if ok, err := m.h.UserExists(ctx, user); err != nil || !ok {
		return true // RFC 6121 §3.1.3: silently ignored for no such user
	}
	var q queue
	unlock := m.lock(user)
	defer func() { unlock(); q.flush(ctx, m.h) }()
	it, exists := m.item(ctx, user, contact)
	switch st.Type {
	case "probe":
		// §4.3.2: only subscribers learn the user's presence.
		if hasFrom(it.Subscription) {
			m.presences(&q, user, st.From, false)
		}
	case "subscribe":
		switch {
		case hasFrom(it.Subscription):
			q.add(subscription(user, contact, "subscribed"))
		case it.PreApproved:
			it.Subscription = addFrom(it.Subscription)
			it.PreApproved = false
			if m.save(ctx, user, it) == nil {
				q.add(subscription(user, contact, "subscribed"))
				m.presences(&q, user, contact, false)
			}
		default:
			in := rewrite(st, contact, user)
			if in == nil {
				return true
			}
			if err := m.store.PutPendingIn(ctx, user, Pending{From: contact, Stanza: in.Bytes}); err != nil {
				m.log.Error("storing subscription request failed", "err", err)
			}
			m.toAvailable(user, in)
		}
	case "subscribed":
		if !it.Ask || !exists {
			return true // §3.1.6: no request pending, ignore
		}
		it.Subscription = addTo(it.Subscription)
		it.Ask = false
		if m.save(ctx, user, it) == nil {
			m.toAvailable(user, rewrite(st, contact, user))
		}
	case "unsubscribe":
		m.deletePending(ctx, user, contact)
		if exists && hasFrom(it.Subscription) {
			it.Subscription = dropFrom(it.Subscription)
			if m.save(ctx, user, it) == nil {
				m.toAvailable(user, rewrite(st, contact, user))
			}
			m.presences(&q, user, contact, true)
		}
	case "unsubscribed":
		if exists && (hasTo(it.Subscription) || it.Ask) {
			it.Subscription = dropTo(it.Subscription)
			it.Ask = false
			if m.save(ctx, user, it) == nil {
				m.toAvailable(user, rewrite(st, contact, user))
			}
		}
	}
	return true
}

// broadcast sends a client's presence to its subscribers, probes its
// contacts on initial presence and redelivers pending requests (§4.2, §4.4,
// §4.5).
func (m *Module) broadcast(ctx context.Context, s module.SessionInfo, st *stanza.Stanza, initial bool) {
	user := s.JID.Bare()
	items, _, err := m.store.Items(ctx, user)
	if err != nil {
		m.log.Error("roster read failed", "user", user.String(), "err", err)
		return
	}
	for _, it := range items {
		if hasFrom(it.Subscription) {
			m.h.Route(ctx, st.WithTo(it.JID))
		}
		if initial && hasTo(it.Subscription) {
			el := xmltok.NewElement(stanza.NSClient, "presence",
				xmltok.Attr{Name: "from", Value: s.JID.String()},
				xmltok.Attr{Name: "to", Value: it.JID.String()},
				xmltok.Attr{Name: "type", Value: "probe"})
			m.h.Route(ctx, stanza.FromElement(el))
		}
	}
	if initial {
		pending, err := m.store.PendingIn(ctx, user)
		if err != nil {
			return
		}
		for _, p := range pending {
			m.h.DeliverTo(s.JID, &stanza.Stanza{Kind: stanza.Presence, Bytes: p.Stanza, From: p.From, To: user, Type: "subscribe"})
		}
	}
}

// presences queues the presence of each available resource of user to
// to; unavailable queues type='unavailable' instead.
func (m *Module) presences(q *queue, user, to jid.JID, unavailable bool) {
	for _, s := range m.h.Sessions(user) {
		if !s.Available || s.Presence == nil {
			continue
		}
		if unavailable {
			el := xmltok.NewElement(stanza.NSClient, "presence",
				xmltok.Attr{Name: "from", Value: s.JID.String()},
				xmltok.Attr{Name: "to", Value: to.String()},
				xmltok.Attr{Name: "type", Value: "unavailable"})
			q.add(stanza.FromElement(el))
			continue
		}
		q.add(s.Presence.WithTo(to))
	}
}

// toAvailable delivers to every available resource of a local user.
func (m *Module) toAvailable(user jid.JID, st *stanza.Stanza) {
	if st == nil {
		return
	}
	for _, s := range m.h.Sessions(user) {
		if s.Available {
			m.h.DeliverTo(s.JID, st)
		}
	}
}

func (m *Module) hasPending(ctx context.Context, user, from jid.JID) bool {
	ps, err := m.store.PendingIn(ctx, user)
	if err != nil {
		return false
	}
	for _, p := range ps {
		if p.From == from {
			return true
		}
	}
	return false
}

func (m *Module) deletePending(ctx context.Context, user, from jid.JID) {
	if err := m.store.DeletePendingIn(ctx, user, from); err != nil {
		m.log.Error("deleting subscription request failed", "err", err)
	}
}

// userRemoved cancels the user's subscriptions and drops the roster.
func (m *Module) userRemoved(ctx context.Context, user jid.JID) {
	items, _, err := m.store.Items(ctx, user)
	if err == nil {
		for _, it := range items {
			if hasTo(it.Subscription) || it.Ask {
				m.send(ctx, user, it.JID, "unsubscribe")
			}
			if hasFrom(it.Subscription) {
				m.send(ctx, user, it.JID, "unsubscribed")
			}
		}
	}
	if err := m.store.DeleteUser(ctx, user); err != nil {
		m.log.Error("roster removal failed", "user", user.String(), "err", err)
	}
}

func isSubscription(t string) bool {
	return t == "subscribe" || t == "subscribed" || t == "unsubscribe" || t == "unsubscribed"
}

func addTo(s string) string {
	if s == SubFrom || s == SubBoth {
		return SubBoth
	}
	return SubTo
}

func addFrom(s string) string {
	if s == SubTo || s == SubBoth {
		return SubBoth
	}
	return SubFrom
}

func dropTo(s string) string {
	if s == SubBoth || s == SubFrom {
		return SubFrom
	}
	return SubNone
}

func dropFrom(s string) string {
	if s == SubBoth || s == SubTo {
		return SubTo
	}
	return SubNone
}
