// Package offline is offline message storage (XEP-0160): chat and normal
// messages to a user with no available resource are stored, stamped with
// their delay (XEP-0203), and delivered, oldest first, when the user next
// sends initial presence. Past the per-user limit the sender gets
// <service-unavailable/> (XEP-0160 §3), so nothing is lost silently.
package offline

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// NSDelay is the delayed delivery namespace (XEP-0203).
const NSDelay = stanza.NSDelay

// Config is [modules.offline].
type Config struct {
	// MaxPerUser is how many messages one user may have waiting (0: no limit).
	MaxPerUser int `toml:"max_per_user"`
}

func init() {
	module.Register(module.Info{
		Name:   "offline",
		Config: func() any { return &Config{MaxPerUser: 1000} },
		New:    New,
	})
}

// Module is a provisioned offline module.
type Module struct {
	h     module.Host
	cfg   Config
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// New provisions the module.
func New(h module.Host, cfg any) (module.Instance, error) {
	c := *cfg.(*Config)
	if c.MaxPerUser < 0 {
		return nil, errors.New("modules.offline.max_per_user must not be negative")
	}
	s, ok := h.Store("offline").(Store)
	if !ok || s == nil {
		return nil, errors.New("offline: the storage backend has no offline store")
	}
	m := &Module{h: h, cfg: c, store: s, log: h.Logger().With("module", "offline"), now: time.Now}
	h.AddFeature(module.Server, "msgoffline")
	h.AddHooks(module.Hooks{
		OfflineMessage:    m.store1,
		PresenceBroadcast: m.flush,
		UserRemoved: func(ctx context.Context, user jid.JID) {
			if err := s.DeleteUser(ctx, user); err != nil {
				m.log.Error("removing offline messages failed", "user", user.String(), "err", err)
			}
		},
	})
	return m, nil
}

// store1 keeps a message for later (XEP-0160 §3: chat and normal only).
func (m *Module) store1(ctx context.Context, st *stanza.Stanza) bool {
	if st.Type != "" && st.Type != "normal" && st.Type != "chat" {
		return false
	}
	el, err := st.Element()
	if err != nil {
		return false
	}
	c := el.Copy()
	c.Add(stanza.Delay(st.To.Domain(), m.now()))
	stored, err := m.store.Push(ctx, st.To.Bare(), c.Append(nil, stanza.NSClient), m.cfg.MaxPerUser)
	if err != nil {
		m.log.Error("storing an offline message failed", "user", st.To.Bare().String(), "err", err)
		return false
	}
	if stored {
		m.late(ctx, st.To.Bare())
	}
	return stored
}

// late delivers what is stored for a user who came online while a
// message was being stored: the session's initial presence (which empties
// the store) may fall between the router's finding no session and the
// push, and the message would wait for the next login. An available
// session here gets the store as at initial presence; one on another core
// of the region gets it there the same way (as they are: the receive
// hooks ran once, the message was archived once).
func (m *Module) late(ctx context.Context, user jid.JID) {
	for _, s := range m.h.Sessions(user) {
		if s.Available && s.Priority >= 0 {
			m.flush(ctx, s, nil, true)
			return
		}
	}
	// No available session anywhere is the common case: one lookup.
	m.h.DeliverElsewhere(ctx, user, func() []*stanza.Stanza {
		msgs, err := m.store.Pop(ctx, user)
		if err != nil {
			m.log.Error("reading offline messages failed", "user", user.String(), "err", err)
			return nil
		}
		sts := make([]*stanza.Stanza, len(msgs))
		for i, b := range msgs {
			sts[i] = &stanza.Stanza{Kind: stanza.Message, Bytes: b, To: user}
		}
		return sts
	})
}

// flush delivers stored messages on initial presence (XEP-0160 §4).
func (m *Module) flush(ctx context.Context, s module.SessionInfo, _ *stanza.Stanza, initial bool) {
	if !initial || s.Priority < 0 {
		return
	}
	msgs, err := m.store.Pop(ctx, s.JID.Bare())
	if err != nil {
		m.log.Error("reading offline messages failed", "user", s.JID.Bare().String(), "err", err)
		return
	}
	for i, b := range msgs {
		st := &stanza.Stanza{Kind: stanza.Message, Bytes: b, To: s.JID.Bare()}
		if !m.h.DeliverTo(s.JID, st) {
			// The session went away: keep the rest for next time.
			for _, rest := range msgs[i:] {
				m.store.Push(ctx, s.JID.Bare(), rest, 0)
			}
			return
		}
	}
}
