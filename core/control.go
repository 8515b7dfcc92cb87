package core

import (
	"slices"
	"strings"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// What operators do to sessions (the admin API): list them, end them, and
// send stanzas on a user's behalf.

// SessionSummary describes a bound session for operators.
type SessionSummary struct {
	JID        jid.JID
	Transport  string // "tcp", "tls", "websocket", ...
	RemoteAddr string // client IP address
	Since      time.Time
	Available  bool
	Priority   int
}

// AllSessions lists every bound session, sorted by full JID.
func (c *Core) AllSessions() []SessionSummary {
	all := c.allSessions()
	out := make([]SessionSummary, 0, len(all))
	for _, s := range all {
		if s.closed.Load() {
			continue
		}
		s.mu.Lock()
		out = append(out, SessionSummary{JID: s.jid, Transport: s.transport, RemoteAddr: s.remote, Since: s.since, Available: s.available, Priority: s.priority})
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b SessionSummary) int { return strings.Compare(a.JID.String(), b.JID.String()) })
	return out
}

// KickSession ends the session bound to full with e; it reports whether
// there was one. The session is unbound before KickSession returns.
func (c *Core) KickSession(full jid.JID, e *stanza.StreamError) bool {
	s := c.session(full)
	if s == nil {
		return false
	}
	end(s, e)
	return true
}

// KickUser ends every session of an account with e and returns how many
// there were.
func (c *Core) KickUser(bare jid.JID, e *stanza.StreamError) int {
	ss := c.sessionsOf(bare)
	for _, s := range ss {
		end(s, e)
	}
	return len(ss)
}

// end closes a session's stream and unbinds it at once, as a replaced
// resource is (the edge's later Close only hands back what it held).
func end(s *session, e *stanza.StreamError) {
	s.sink.Close(e)
	s.Close(nil)
}

// HandleAs hands st to the session bound to st.From, as if its client had
// sent it, and reports whether there was one. Without a bound session,
// SendAs sends on the account's behalf.
func (c *Core) HandleAs(st *stanza.Stanza) bool {
	s := c.session(st.From)
	if s == nil {
		return false
	}
	s.Handle(st)
	return true
}
