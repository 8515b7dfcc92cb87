package pep

import (
	"context"
	"slices"

	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// contacts answers "what is this contact in the owner's roster" for the
// access checks of one operation, reading the roster at most once when
// many contacts are checked (a notification fan-out).
type contacts struct {
	m      *Module
	owner  jid.JID
	bulk   bool // read the whole roster on first use
	loaded bool
	items  map[jid.JID]roster.Item
	err    error
}

func (m *Module) contacts(owner jid.JID, bulk bool) *contacts {
	return &contacts{m: m, owner: owner, bulk: bulk}
}

func (c *contacts) item(ctx context.Context, contact jid.JID) (roster.Item, bool, error) {
	if c.m.roster == nil {
		return roster.Item{}, false, nil
	}
	if !c.bulk {
		return c.m.roster.Item(ctx, c.owner, contact)
	}
	if !c.loaded {
		c.loaded = true
		items, _, err := c.m.roster.Items(ctx, c.owner)
		c.err = err
		c.items = make(map[jid.JID]roster.Item, len(items))
		for _, it := range items {
			c.items[it.JID] = it
		}
	}
	if c.err != nil {
		return roster.Item{}, false, c.err
	}
	it, ok := c.items[contact]
	return it, ok, nil
}

// access returns nil when who (any JID; its bare JID counts) may see a
// node of the owner with configuration cfg, or the error XEP-0060
// §6.5.9 prescribes for retrieving its items. The owner always may
// (XEP-0060 §6.5.1); the whitelist holds only the owner, since this
// service offers no affiliation management.
func (c *contacts) access(ctx context.Context, cfg NodeConfig, who jid.JID) error {
	who = who.Bare()
	if who == c.owner {
		return nil
	}
	switch cfg.AccessModel {
	case AccessOpen:
		return nil
	case AccessPresence, AccessRoster:
		it, ok, err := c.item(ctx, who)
		if err != nil {
			c.m.log.Error("roster read failed", "user", c.owner.String(), "err", err)
			return stanza.ErrInternalServerError
		}
		// A presence subscription of from or both (XEP-0060 §4.5).
		if !ok || (it.Subscription != roster.SubFrom && it.Subscription != roster.SubBoth) {
			return errPresenceRequired
		}
		if cfg.AccessModel == AccessRoster && !slices.ContainsFunc(it.Groups, func(g string) bool {
			return slices.Contains(cfg.RosterGroups, g)
		}) {
			return errNotInRosterGroup
		}
		return nil
	}
	return errClosedNode
}
