package roster

import (
	"context"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// The Go API below is what the roster IQ handler runs and what front ends
// without a stream (the client REST API) call: every change is pushed to
// the user's interested resources (RFC 6121 §2.1.6). Errors are
// *stanza.Error values naming the RFC 6121 condition.

const maxNameLen = 1024

// Items returns user's roster and its version.
func (m *Module) Items(ctx context.Context, user jid.JID) ([]Item, uint64, error) {
	items, ver, err := m.store.Items(ctx, user.Bare())
	if err != nil {
		return nil, 0, stanza.ErrInternalServerError
	}
	return items, ver, nil
}

// Item returns one item of user's roster; ok is false when there is none.
func (m *Module) Item(ctx context.Context, user, contact jid.JID) (it Item, ok bool, err error) {
	it, ok, err = m.store.Item(ctx, user.Bare(), contact.Bare())
	if err != nil {
		return Item{}, false, stanza.ErrInternalServerError
	}
	return it, ok, nil
}

// SetItem adds contact to user's roster or changes its name and groups
// (RFC 6121 §2.3, §2.4). The subscription state is left alone: only the
// subscription protocol changes it (§2.1.2.5).
func (m *Module) SetItem(ctx context.Context, user, contact jid.JID, name string, groups []string) error {
	user, contact = user.Bare(), contact.Bare()
	if len(name) > maxNameLen || !xmltok.ValidText(name) {
		return stanza.ErrNotAcceptable.WithText("name too long or not text")
	}
	seen := map[string]bool{}
	for _, g := range groups {
		switch {
		case g == "":
			return stanza.ErrNotAcceptable.WithText("empty group name")
		case len(g) > maxNameLen || !xmltok.ValidText(g):
			return stanza.ErrNotAcceptable.WithText("group name too long or not text")
		case seen[g]:
			return stanza.ErrBadRequest.WithText("duplicate group")
		}
		seen[g] = true
	}
	unlock := m.lock(user)
	defer unlock()
	old, exists, err := m.store.Item(ctx, user, contact)
	if err != nil {
		return stanza.ErrInternalServerError
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
	it.Name = name
	it.Groups = groups
	if err := m.save(ctx, user, it); err != nil {
		return stanza.ErrInternalServerError
	}
	return nil
}

// RemoveItem deletes contact from user's roster and cancels the
// subscriptions both ways (RFC 6121 §2.5.2); stanza.ErrItemNotFound when
// there is no such item.
func (m *Module) RemoveItem(ctx context.Context, user, contact jid.JID) error {
	user, contact = user.Bare(), contact.Bare()
	var out queue
	unlock := m.lock(user)
	defer func() { unlock(); out.flush(ctx, m.h) }()
	old, exists, err := m.store.Item(ctx, user, contact)
	if err != nil {
		return stanza.ErrInternalServerError
	}
	if !exists {
		return stanza.ErrItemNotFound
	}
	if err := m.remove(ctx, user, contact); err != nil {
		return stanza.ErrInternalServerError
	}
	if old.Subscription == SubTo || old.Subscription == SubBoth || old.Ask {
		out.add(subscription(user, contact, "unsubscribe"))
	}
	if old.Subscription == SubFrom || old.Subscription == SubBoth {
		out.add(subscription(user, contact, "unsubscribed"))
	}
	return nil
}
