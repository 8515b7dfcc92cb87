// Package mam is Message Archive Management (XEP-0313, urn:xmpp:mam:2)
// for user archives, with archiving preferences (XEP-0441) and stanza IDs
// (XEP-0359). Every chat or normal message with content that a local user
// sends is stored in their archive, every one they receive in theirs
// (also while they are offline), and the recipient's copy is handed on
// carrying <stanza-id by='user@domain'/>: UserReceive archives both sides
// of a message between local users in one write, UserSend the sender's
// side of a message to another domain; a user queries their archive
// with a data form and Result Set Management (XEP-0059). The package owns
// the Store interface backends implement and the archive ID format; it
// must not know how a backend lays out its data.
package mam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// Namespaces.
const (
	NS         = "urn:xmpp:mam:2"
	NSExtended = "urn:xmpp:mam:2#extended"
	// NSGroupchatField: the 'include-groupchat' field is understood
	// (XEP-0313 §8); groupchat messages are never in a user archive here.
	NSGroupchatField = "urn:xmpp:mam:2#groupchat-field"
	NSSID            = "urn:xmpp:sid:0"
	NSForward        = stanza.NSForward
	NSDelay          = stanza.NSDelay
	NSRSM            = "http://jabber.org/protocol/rsm"
	NSData           = stanza.NSData
	NSHints          = "urn:xmpp:hints"
)

// Config is [modules.mam].
type Config struct {
	// DefaultPage is the page size of a query without RSM <max/>.
	DefaultPage int `toml:"default_page"`
	// MaxPage caps the page size a client may ask for.
	MaxPage int `toml:"max_page"`
	// Default is the archiving policy of users who set no preferences:
	// "always", "roster" or "never" (XEP-0441 §2.1.1).
	Default string `toml:"default"`
}

func init() {
	module.Register(module.Info{
		Name:   "mam",
		Config: func() any { return &Config{DefaultPage: 50, MaxPage: 250, Default: Always} },
		New:    New,
	})
}

// rosterItems is the part of roster.Store the 'roster' policy reads.
type rosterItems interface {
	Item(ctx context.Context, user, contact jid.JID) (it roster.Item, ok bool, err error)
}

// Module is a provisioned MAM module.
type Module struct {
	h      module.Host
	cfg    Config
	store  Store
	roster rosterItems // nil: no roster store, nobody is in a roster
	log    *slog.Logger
	ids    idGen
}

// New provisions the module. It needs the "archive" store and reads the
// "roster" store, when there is one, for the 'roster' policy.
func New(h module.Host, cfg any) (module.Instance, error) {
	c := *cfg.(*Config)
	if c.DefaultPage < 1 {
		return nil, errors.New("modules.mam.default_page must be at least 1")
	}
	if c.MaxPage < c.DefaultPage {
		return nil, fmt.Errorf("modules.mam.max_page (%d) must be at least default_page (%d)", c.MaxPage, c.DefaultPage)
	}
	if !validPolicy(c.Default) {
		return nil, fmt.Errorf("modules.mam.default: %q is not one of always, roster, never", c.Default)
	}
	s, ok := h.Store("archive").(Store)
	if !ok || s == nil {
		return nil, errors.New("mam: the storage backend has no archive store")
	}
	m := &Module{h: h, cfg: c, store: s, log: h.Logger().With("module", "mam")}
	m.ids.now = time.Now
	if r := h.Store("roster"); r != nil {
		ri, ok := r.(rosterItems)
		if !ok {
			return nil, fmt.Errorf("mam: roster store %T cannot look up an item", r)
		}
		m.roster = ri
	}
	for _, f := range []string{NS, NSExtended, NSGroupchatField, NSSID} {
		h.AddFeature(module.Account, f)
	}
	h.HandleIQ(module.Account, NS, m.iq)
	h.AddHooks(module.Hooks{
		UserSend:    m.userSend,
		UserReceive: m.userReceive,
		UserRemoved: func(ctx context.Context, user jid.JID) {
			if err := s.DeleteUser(ctx, user); err != nil {
				m.log.Error("removing the message archive failed", "user", user.String(), "err", err)
			}
		},
	})
	return m, nil
}

// userSend archives a message a local user sends to another domain in
// their archive. Messages to local accounts are archived for both sides
// in userReceive, in one write.
func (m *Module) userSend(ctx context.Context, from module.SessionInfo, st *stanza.Stanza) *stanza.Stanza {
	if st.Kind != stanza.Message || st.To.IsZero() || m.h.IsLocal(st.To.Domain()) || !archivable(st) {
		return st
	}
	user := from.JID.Bare()
	if !m.wanted(ctx, user, st.To) {
		return st
	}
	e := Entry{User: user, Message: Message{ID: m.ids.next(), With: st.To, Stanza: clientNS(st)}}
	if err := m.store.Append(ctx, e); err != nil {
		m.log.Error("archiving an outgoing message failed", "user", user.String(), "err", err)
	}
	return st
}

// userReceive archives a message to a local user in their archive and,
// when a local user sent it, in the sender's too (as outgoing), then
// hands it on with the recipient archive's stanza ID. Both copies are one
// durable write: the recipient never sees an ID a crash could take back,
// and the sender's copy costs no second wait. A message to oneself is
// archived once. Whatever the message, stanza IDs claiming to come from
// the recipient's archive are removed first: only this module may write
// them (XEP-0359 §3).
func (m *Module) userReceive(ctx context.Context, to jid.JID, st *stanza.Stanza) *stanza.Stanza {
	if st.Kind != stanza.Message || to.Local() == "" {
		return st
	}
	user := to.Bare()
	st = stripStanzaIDs(st, user)
	if st.From.IsZero() || !archivable(st) {
		return st
	}
	var (
		buf     [2]Entry
		entries = buf[:0]
		stored  []byte
		inID    ID
	)
	// The recipient's copy; nobody's archive is created for an address
	// without an account (the router bounces those messages).
	if ok, err := m.h.UserExists(ctx, user); err == nil && ok && m.wanted(ctx, user, st.From) {
		stored = clientNS(st)
		inID = m.ids.next()
		entries = append(entries, Entry{User: user, Message: Message{ID: inID, With: st.From, Stanza: stored}})
	}
	// The sender's copy, when the sender is a local user other than the
	// recipient (userSend leaves messages to local accounts to this hook).
	if sender := st.From.Bare(); sender != user && sender.Local() != "" && m.h.IsLocal(sender.Domain()) {
		if ok, err := m.h.UserExists(ctx, sender); err == nil && ok && m.wanted(ctx, sender, st.To) {
			if stored == nil {
				stored = clientNS(st)
			}
			entries = append(entries, Entry{User: sender, Message: Message{ID: m.ids.next(), With: st.To, Stanza: stored}})
		}
	}
	if len(entries) == 0 {
		return st
	}
	if err := m.store.Append(ctx, entries...); err != nil {
		// Delivered all the same, without an ID that would point nowhere.
		m.log.Error("archiving a message failed", "to", user.String(), "err", err)
		return st
	}
	if inID.IsZero() {
		return st
	}
	return withStanzaID(st, user, inID)
}

// wanted applies user's preferences to a message to or from target
// (XEP-0441 §2.3).
func (m *Module) wanted(ctx context.Context, user, target jid.JID) bool {
	p, ok, err := m.store.Prefs(ctx, user)
	if err != nil {
		m.log.Warn("reading archiving preferences failed; using the default", "user", user.String(), "err", err)
		ok = false
	}
	if !ok {
		p = Prefs{Default: m.cfg.Default}
	}
	return p.allows(target, func() bool { return m.inRoster(ctx, user, target) })
}

func (m *Module) inRoster(ctx context.Context, user, target jid.JID) bool {
	if target.Bare() == user {
		return true // one's own account counts as a contact
	}
	if m.roster == nil {
		return false
	}
	_, ok, err := m.roster.Item(ctx, user, target.Bare())
	if err != nil {
		m.log.Warn("roster lookup failed", "user", user.String(), "err", err)
		return false
	}
	return ok
}
