// Package blocking is the blocking command (XEP-0191 1.3): a user gets
// their blocklist, blocks and unblocks JIDs (or everything at once), and
// every resource that asked for the blocklist is pushed each change. The
// module enforces the list on the router's per-stanza hooks: nothing from
// a blocked JID reaches the user, and nothing the user sends reaches it.
// It owns the "blocklist" key of the userdata store.
//
// Enforcement (XEP-0191 §3.3):
//   - Inbound, on UserReceive: from a JID the recipient blocked,
//     presence of any type is dropped without an answer; a message is
//     answered with service-unavailable (an error message is dropped);
//     an IQ get or set is answered with service-unavailable, other IQs
//     are dropped. The user appears offline.
//   - Outbound, on UserSend: a stanza the user sends to a blocked JID
//     is not routed; the sender gets not-acceptable with
//     <blocked xmlns='urn:xmpp:blocking:errors'/> (errors and IQ results
//     are dropped: they cannot be answered with an error).
//   - Outbound on the user's behalf, on UserReceive: what the server
//     sends from a user to a JID the user blocked (presence broadcasts
//     to subscribers, answers to probes) is dropped, except errors and
//     unavailable presence, which reveal nothing.
//
// Matching (XEP-0191 §6, XEP-0016 §2.1): an item user@domain/resource
// matches that full JID only; user@domain any resource of it;
// domain/resource that JID only; domain the domain itself and every JID
// at it. A user's own resources are never blocked from one another
// (XEP-0191 §5, in a note), and neither is the user's own server (it would cut
// the client off from every answer the server sends).
//
// On block the user's available resources send unavailable presence to
// each blocked contact entitled to their presence (a roster contact with
// a subscription from the user, RFC 6121 §4.2), and the user's resources
// get unavailable presence from the blocked contact's resources when
// the user was subscribed to them (the SHOULD of §3.3, done for local
// contacts). On unblock the user's current presence goes to the
// contacts entitled to it, and contacts the user is subscribed to are
// probed (§3.4). Directed presence (RFC 6121 §4.6) is not tracked here:
// a blocked JID that got directed presence learns of no change until the
// user's next unavailable presence.
//
// Blocklists of users with sessions are cached in memory; the cache is
// written only under the user's lock, after the store, so it never
// disagrees with what is stored. It assumes one core serves a user, as
// the session table does.
package blocking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/core/userdata"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/internal/userlock"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Namespaces of XEP-0191.
const (
	NS       = "urn:xmpp:blocking"
	NSErrors = "urn:xmpp:blocking:errors"
)

// Key is the userdata key the blocklist is stored under.
const Key = "blocklist"

// Config is [modules.blocking].
type Config struct {
	// MaxItems is the longest blocklist a user may have (0: no limit).
	MaxItems int `toml:"max_items"`
}

// Validate checks the values.
func (c *Config) Validate() error {
	if c.MaxItems < 0 {
		return fmt.Errorf("modules.blocking.max_items: %d must not be negative (0 means no limit)", c.MaxItems)
	}
	return nil
}

func init() {
	module.Register(module.Info{
		Name:   "blocking",
		Config: func() any { return &Config{MaxItems: 1000} },
		New:    New,
	})
}

// rosterItems is the part of roster.Store this module reads.
type rosterItems interface {
	Items(ctx context.Context, user jid.JID) ([]roster.Item, uint64, error)
}

// ErrBlocked is the error a user gets for a stanza to a JID they blocked
// (XEP-0191 §3.3).
var ErrBlocked = &stanza.Error{Type: "cancel", Condition: "not-acceptable", App: xmltok.NewElement(NSErrors, "blocked")}

// Module is a provisioned blocking module.
type Module struct {
	h      module.Host
	cfg    Config
	store  userdata.Store
	roster rosterItems // nil: no roster, no presence effects
	log    *slog.Logger
	locks  userlock.Locks
	seq    atomic.Uint64

	mu         sync.RWMutex
	lists      map[jid.JID]*list    // blocklists of users with sessions
	interested map[jid.JID]struct{} // full JIDs that asked for the blocklist
}

// New provisions the module; it needs the "userdata" store and reads the
// "roster" store when there is one.
func New(h module.Host, cfg any) (module.Instance, error) {
	c := *cfg.(*Config)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s, ok := h.Store("userdata").(userdata.Store)
	if !ok || s == nil {
		return nil, errors.New("blocking: the storage backend has no userdata store")
	}
	m := &Module{
		h: h, cfg: c, store: s, log: h.Logger().With("module", "blocking"),
		lists: map[jid.JID]*list{}, interested: map[jid.JID]struct{}{},
	}
	if r := h.Store("roster"); r != nil {
		ri, ok := r.(rosterItems)
		if !ok {
			return nil, fmt.Errorf("blocking: roster store %T cannot list items", r)
		}
		m.roster = ri
	}
	h.AddFeature(module.Server, NS)
	h.HandleIQ(module.Account, NS, m.handleIQ)
	h.AddHooks(module.Hooks{
		UserSend:      m.userSend,
		UserReceive:   m.userReceive,
		SessionClosed: m.sessionClosed,
		UserRemoved:   m.userRemoved,
	})
	return m, nil
}

// list is one user's blocklist; it is never changed once built.
type list struct {
	items []jid.JID // in the order they were blocked
	set   map[jid.JID]struct{}
}

// empty is the list of most users, shared.
var empty = &list{}

func newList(items []jid.JID) *list {
	if len(items) == 0 {
		return empty
	}
	l := &list{items: items, set: make(map[jid.JID]struct{}, len(items))}
	for _, j := range items {
		l.set[j] = struct{}{}
	}
	return l
}

func (l *list) has(j jid.JID) bool {
	_, ok := l.set[j]
	return ok
}

// blocks reports whether an item matches j (XEP-0191 §6).
func (l *list) blocks(j jid.JID) bool {
	if l == nil || len(l.items) == 0 {
		return false
	}
	return l.has(j) || l.has(j.Bare()) || l.has(j.DomainJID())
}

func (l *list) element(local string) *xmltok.Element {
	el := xmltok.NewElement(NS, local)
	for _, j := range l.items {
		el.Add(item(j))
	}
	return el
}

func item(j jid.JID) *xmltok.Element {
	return xmltok.NewElement(NS, "item", xmltok.Attr{Name: "jid", Value: j.String()})
}

// read loads a blocklist from the store.
func (m *Module) read(ctx context.Context, user jid.JID) (*list, error) {
	b, ok, err := m.store.Get(ctx, user, Key)
	if err != nil || !ok {
		return newList(nil), err
	}
	el, err := xmltok.Parse(b, NS, nil)
	if err != nil {
		return nil, fmt.Errorf("stored blocklist: %w", err)
	}
	var items []jid.JID
	for _, it := range el.ChildrenNamed(NS, "item") {
		j, err := jid.Parse(it.Attr("jid"))
		if err != nil || j.IsZero() {
			return nil, fmt.Errorf("stored blocklist: item %q: %v", it.Attr("jid"), err)
		}
		items = append(items, j)
	}
	return newList(items), nil
}

// list returns a user's blocklist: from the cache, else from the store,
// caching it while the user has sessions.
func (m *Module) list(ctx context.Context, user jid.JID) (*list, error) {
	m.mu.RLock()
	l, ok := m.lists[user]
	m.mu.RUnlock()
	if ok {
		return l, nil
	}
	unlock := m.locks.Lock(user)
	defer unlock()
	m.mu.RLock()
	l, ok = m.lists[user]
	m.mu.RUnlock()
	if ok {
		return l, nil
	}
	l, err := m.read(ctx, user)
	if err != nil {
		m.log.Error("reading a blocklist failed", "user", user.String(), "err", err)
		return nil, err
	}
	if len(m.h.Sessions(user)) > 0 {
		m.mu.Lock()
		m.lists[user] = l
		m.mu.Unlock()
	}
	return l, nil
}

// save stores a new blocklist and replaces the cached one; the caller
// holds the user's lock.
func (m *Module) save(ctx context.Context, user jid.JID, l *list) error {
	var err error
	if len(l.items) == 0 {
		err = m.store.Delete(ctx, user, Key)
	} else {
		err = m.store.Put(ctx, user, Key, l.element("blocklist").Append(nil, ""))
	}
	if err != nil {
		m.log.Error("storing a blocklist failed", "user", user.String(), "err", err)
		return stanza.ErrInternalServerError
	}
	online := len(m.h.Sessions(user)) > 0
	m.mu.Lock()
	if _, cached := m.lists[user]; cached || online {
		m.lists[user] = l
	}
	m.mu.Unlock()
	return nil
}

func (m *Module) handleIQ(ctx context.Context, iq module.IQ) (*xmltok.Element, error) {
	user := iq.From.Bare()
	if iq.To != user {
		return nil, stanza.ErrForbidden
	}
	switch iq.Payload.Local {
	case "blocklist":
		if iq.Set {
			return nil, stanza.ErrBadRequest
		}
		l, err := m.list(ctx, user)
		if err != nil {
			return nil, stanza.ErrInternalServerError
		}
		// §3.2: this resource now gets pushes.
		m.mu.Lock()
		m.interested[iq.From] = struct{}{}
		m.mu.Unlock()
		return l.element("blocklist"), nil
	case "block", "unblock":
		if !iq.Set {
			return nil, stanza.ErrBadRequest
		}
		items, err := items(iq.Payload)
		if err != nil {
			return nil, err
		}
		if iq.Payload.Local == "block" {
			if len(items) == 0 {
				// §3.3: a block needs at least one item.
				return nil, stanza.ErrBadRequest.WithText("no item to block")
			}
			return nil, m.block(ctx, user, items)
		}
		return nil, m.unblock(ctx, user, items)
	}
	return nil, stanza.ErrBadRequest
}

// items reads the items of a block or unblock, without duplicates.
func items(el *xmltok.Element) ([]jid.JID, error) {
	var out []jid.JID
	seen := map[jid.JID]bool{}
	for _, c := range el.Children {
		if c.Space != NS || c.Local != "item" {
			return nil, stanza.ErrBadRequest.WithText("unexpected <" + c.Local + "/>")
		}
		j, err := jid.Parse(c.Attr("jid"))
		if err != nil || j.IsZero() {
			return nil, stanza.ErrJIDMalformed
		}
		if !seen[j] {
			seen[j] = true
			out = append(out, j)
		}
	}
	return out, nil
}

func (m *Module) block(ctx context.Context, user jid.JID, items []jid.JID) error {
	var added []jid.JID
	err := m.edit(ctx, user, func(old *list) ([]jid.JID, bool, error) {
		all := append([]jid.JID(nil), old.items...)
		for _, j := range items {
			if !old.has(j) {
				all = append(all, j)
				added = append(added, j)
			}
		}
		if m.cfg.MaxItems > 0 && len(added) > 0 && len(all) > m.cfg.MaxItems {
			return nil, false, stanza.ErrNotAcceptable.WithText(fmt.Sprintf("a blocklist holds at most %d items", m.cfg.MaxItems))
		}
		return all, len(added) > 0, nil
	})
	if err != nil {
		return err
	}
	m.push(user, newList(items).element("block"))
	m.blocked(ctx, user, added)
	return nil
}

// unblock removes items, or every item when items is empty (§3.5).
func (m *Module) unblock(ctx context.Context, user jid.JID, items []jid.JID) error {
	var removed []jid.JID
	err := m.edit(ctx, user, func(old *list) ([]jid.JID, bool, error) {
		if len(items) == 0 {
			removed = old.items
			return nil, len(removed) > 0, nil
		}
		var kept []jid.JID
		drop := newList(items)
		for _, j := range old.items {
			if drop.has(j) {
				removed = append(removed, j)
			} else {
				kept = append(kept, j)
			}
		}
		return kept, len(removed) > 0, nil
	})
	if err != nil {
		return err
	}
	m.push(user, newList(items).element("unblock"))
	m.unblocked(ctx, user, removed)
	return nil
}

// edit changes a user's blocklist under the user's lock: change gets the
// current list and returns the new items and whether they differ.
func (m *Module) edit(ctx context.Context, user jid.JID, change func(old *list) ([]jid.JID, bool, error)) error {
	unlock := m.locks.Lock(user)
	defer unlock()
	old, err := m.current(ctx, user)
	if err != nil {
		return stanza.ErrInternalServerError
	}
	next, changed, err := change(old)
	if err != nil || !changed {
		return err
	}
	return m.save(ctx, user, newList(next))
}

// current reads the blocklist for a change; the caller holds the lock.
func (m *Module) current(ctx context.Context, user jid.JID) (*list, error) {
	m.mu.RLock()
	l, ok := m.lists[user]
	m.mu.RUnlock()
	if ok {
		return l, nil
	}
	l, err := m.read(ctx, user)
	if err != nil {
		m.log.Error("reading a blocklist failed", "user", user.String(), "err", err)
	}
	return l, err
}

// push sends a block or unblock to every resource that asked for the
// blocklist (§3.3, §3.4, §3.5).
func (m *Module) push(user jid.JID, payload *xmltok.Element) {
	for _, s := range m.h.Sessions(user) {
		m.mu.RLock()
		_, ok := m.interested[s.JID]
		m.mu.RUnlock()
		if !ok {
			continue
		}
		iq := xmltok.NewElement(stanza.NSClient, "iq",
			xmltok.Attr{Name: "type", Value: "set"},
			xmltok.Attr{Name: "id", Value: "block-push-" + strconv.FormatUint(m.seq.Add(1), 10)},
			xmltok.Attr{Name: "to", Value: s.JID.String()})
		iq.Add(payload.Copy())
		m.h.DeliverTo(s.JID, stanza.FromElement(iq))
	}
}

// userSend refuses what a user sends to a JID they blocked (§3.3).
func (m *Module) userSend(ctx context.Context, from module.SessionInfo, st *stanza.Stanza) *stanza.Stanza {
	if st.To.IsZero() {
		return st
	}
	user := from.JID.Bare()
	if st.To.Bare() == user || st.To == user.DomainJID() {
		return st
	}
	l, err := m.list(ctx, user)
	if err == nil && !l.blocks(st.To) {
		return st
	}
	if st.IsError() || (st.Kind == stanza.IQ && st.Type != "get" && st.Type != "set") {
		dropped("blocked_outbound")
		return nil
	}
	e := ErrBlocked
	if err != nil {
		e = stanza.ErrInternalServerError
	}
	metrics.StanzaErrors.WithLabelValues(e.Condition).Inc()
	m.h.DeliverTo(from.JID, stanza.ErrorReply(st, e, st.To))
	return nil
}

// dropped counts a stanza withheld without an answer (principle 7:
// nothing lost silently, that is uncounted).
func dropped(reason string) { metrics.Dropped.WithLabelValues(reason).Inc() }

// userReceive keeps what a blocked JID sends from the user, and what the
// server would send on a user's behalf to a JID the user blocked.
func (m *Module) userReceive(ctx context.Context, to jid.JID, st *stanza.Stanza) *stanza.Stanza {
	from := st.From
	owner := to.Bare()
	if from.IsZero() || from.Bare() == owner {
		return st
	}
	if from != owner.DomainJID() {
		l, err := m.list(ctx, owner)
		switch {
		case err != nil:
			m.refuse(ctx, st, to, stanza.ErrInternalServerError)
			return nil
		case l.blocks(from):
			m.refuse(ctx, st, to, stanza.ErrServiceUnavailable)
			return nil
		}
	}
	if from.Local() == "" || !m.h.IsLocal(from.Domain()) || st.IsError() ||
		(st.Kind == stanza.Presence && st.Type == "unavailable") {
		return st
	}
	if l, err := m.list(ctx, from.Bare()); err != nil || l.blocks(to) {
		dropped("blocked_outbound")
		return nil
	}
	return st
}

// refuse answers an inbound stanza from a blocked JID (§3.3): presence
// silently, a message or an IQ request with e, anything else silently.
func (m *Module) refuse(ctx context.Context, st *stanza.Stanza, to jid.JID, e *stanza.Error) {
	switch {
	case st.Kind == stanza.Message && !st.IsError(),
		st.Kind == stanza.IQ && (st.Type == "get" || st.Type == "set"):
		metrics.StanzaErrors.WithLabelValues(e.Condition).Inc()
		m.h.Route(ctx, stanza.ErrorReply(st, e, to))
	default:
		dropped("blocked_inbound")
	}
}

// targets returns where presence for a roster contact goes when item is
// blocked or unblocked: the contact's bare JID when the item covers all
// of it, the item itself when it names one resource; ok is false when
// the item does not match the contact.
func targets(item, contact jid.JID) (to jid.JID, ok bool) {
	switch {
	case item.Local() == "" && item.IsBare():
		return contact, contact.Domain() == item.Domain()
	case item.IsBare():
		return contact, contact == item
	default:
		return item, contact == item.Bare()
	}
}

// affected calls fn for each roster contact of user that an item
// matches.
func (m *Module) affected(ctx context.Context, user jid.JID, items []jid.JID, fn func(it roster.Item, to jid.JID)) {
	if m.roster == nil || len(items) == 0 {
		return
	}
	contacts, _, err := m.roster.Items(ctx, user)
	if err != nil {
		m.log.Error("roster read failed", "user", user.String(), "err", err)
		return
	}
	for _, it := range contacts {
		for _, j := range items {
			if to, ok := targets(j, it.JID); ok {
				fn(it, to)
			}
		}
	}
}

func hasFrom(sub string) bool { return sub == roster.SubFrom || sub == roster.SubBoth }
func hasTo(sub string) bool   { return sub == roster.SubTo || sub == roster.SubBoth }

func presence(from, to jid.JID, typ string) *stanza.Stanza {
	el := xmltok.NewElement(stanza.NSClient, "presence",
		xmltok.Attr{Name: "from", Value: from.String()},
		xmltok.Attr{Name: "to", Value: to.String()})
	if typ != "" {
		el.SetAttr("type", typ)
	}
	return stanza.FromElement(el)
}

// blocked sends the presence a block implies (§3.3).
func (m *Module) blocked(ctx context.Context, user jid.JID, items []jid.JID) {
	mine := available(m.h.Sessions(user))
	m.affected(ctx, user, items, func(it roster.Item, to jid.JID) {
		if hasFrom(it.Subscription) {
			for _, s := range mine {
				m.h.Route(ctx, presence(s.JID, to, "unavailable"))
			}
		}
		if hasTo(it.Subscription) && m.h.IsLocal(to.Domain()) {
			for _, c := range available(m.h.Sessions(to.Bare())) {
				if !to.IsBare() && c.JID != to {
					continue
				}
				for _, s := range mine {
					m.h.DeliverTo(s.JID, presence(c.JID, s.JID, "unavailable"))
				}
			}
		}
	})
}

// unblocked sends the presence an unblock implies (§3.4).
func (m *Module) unblocked(ctx context.Context, user jid.JID, items []jid.JID) {
	mine := available(m.h.Sessions(user))
	m.affected(ctx, user, items, func(it roster.Item, to jid.JID) {
		if hasFrom(it.Subscription) {
			for _, s := range mine {
				m.h.Route(ctx, s.Presence.WithTo(to))
			}
		}
		if hasTo(it.Subscription) && len(mine) > 0 {
			m.h.Route(ctx, presence(user, it.JID, "probe"))
		}
	})
}

func available(ss []module.SessionInfo) []module.SessionInfo {
	out := ss[:0:0]
	for _, s := range ss {
		if s.Available && s.Presence != nil {
			out = append(out, s)
		}
	}
	return out
}

func (m *Module) sessionClosed(_ context.Context, s module.SessionInfo, _ string, last bool) {
	m.mu.Lock()
	delete(m.interested, s.JID)
	if last {
		delete(m.lists, s.JID.Bare())
	}
	m.mu.Unlock()
}

func (m *Module) userRemoved(ctx context.Context, user jid.JID) {
	m.mu.Lock()
	delete(m.lists, user)
	m.mu.Unlock()
	if err := m.store.RemoveUser(ctx, user); err != nil {
		m.log.Error("removing user data failed", "user", user.String(), "err", err)
	}
}
