package core

import (
	"context"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

func (s *session) isAvailable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.available
}

// clientPresence handles presence a client sent (RFC 6121 §4).
func (c *Core) clientPresence(ctx context.Context, s *session, st *stanza.Stanza) {
	if !st.To.IsZero() {
		c.directedPresence(ctx, s, st)
		return
	}
	switch st.Type {
	case "", "unavailable":
	default:
		// Subscription types and probes need a to; errors to nobody.
		c.drop("presence_without_to")
		return
	}
	available := st.Type == ""
	prio := 0
	if available {
		prio = priorityOf(st)
	}
	s.mu.Lock()
	initial := available && !s.available
	// The registry keeps only availability and priority: a change of
	// show or status text is not written there.
	placeChanged := available != s.available || prio != s.priority
	s.available = available
	s.priority = prio
	var directed []jid.JID
	if available {
		s.presence = st
	} else {
		s.presence = nil
		s.status = statusOf(st)
		for j := range s.directed {
			directed = append(directed, j)
		}
		s.directed = nil
	}
	s.mu.Unlock()
	if placeChanged && c.cluster != nil && s.stream != "" && !s.closed.Load() {
		c.cluster.Presence(ctx, s.bound())
	}

	// RFC 6121 §4.2.2, §4.4.2, §4.5.2: the user's own available resources,
	// the sender included, get the presence.
	for _, o := range c.sessionsOf(s.jid.Bare()) {
		if o == s && !available {
			continue
		}
		if o == s || o.isAvailable() {
			c.deliver(o, st)
		}
		// A new resource learns the presence of the user's other ones.
		if initial && o != s {
			o.mu.Lock()
			p := o.presence
			o.mu.Unlock()
			if p != nil {
				c.deliver(s, p)
			}
		}
	}
	info := s.info()
	c.presenceBroadcast(ctx, info, st, initial)
	// RFC 6121 §4.6.3: unavailable goes to every directed-presence recipient.
	for _, j := range directed {
		c.route(ctx, st.WithTo(j), s)
	}
}

// presenceBroadcast runs the modules' PresenceBroadcast hooks: a session
// changed its own presence (or, unavailable, ended).
func (c *Core) presenceBroadcast(ctx context.Context, info module.SessionInfo, st *stanza.Stanza, initial bool) {
	for _, h := range c.hooks {
		if h.PresenceBroadcast != nil {
			h.PresenceBroadcast(ctx, info, st, initial)
		}
	}
}

// directedPresence handles presence with a to (RFC 6121 §3, §4.6).
func (c *Core) directedPresence(ctx context.Context, s *session, st *stanza.Stanza) {
	info := s.info()
	for _, h := range c.hooks {
		if h.OutboundPresence != nil && h.OutboundPresence(ctx, info, st) {
			return
		}
	}
	switch st.Type {
	case "":
		s.mu.Lock()
		if s.directed == nil {
			s.directed = map[jid.JID]struct{}{}
		}
		s.directed[st.To] = struct{}{}
		s.mu.Unlock()
	case "unavailable":
		s.mu.Lock()
		delete(s.directed, st.To)
		s.mu.Unlock()
	}
	c.route(ctx, st, s)
}

// priorityOf reads <priority/> (RFC 6121 §4.7.2.3): -128..127, default 0.
func priorityOf(st *stanza.Stanza) int {
	el, err := st.Element()
	if err != nil {
		return 0
	}
	return stanza.Priority(el)
}

// statusOf reads <status/> of a presence.
func statusOf(st *stanza.Stanza) string {
	el, err := st.Element()
	if err != nil {
		return ""
	}
	if s := el.Child(stanza.NSClient, "status"); s != nil {
		return s.Text
	}
	return ""
}
