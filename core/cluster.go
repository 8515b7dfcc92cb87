package core

import (
	"context"
	"time"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// Cluster is how a core reaches the other cores of its region
// (core/cluster implements it). A user's sessions live on one core (its
// home): stanzas to a local user with no session here go to the core
// that has one, whose router runs the recipient's side (RouteInbound).
// Every method returns promptly; none is called with a lock held.
type Cluster interface {
	// Locate names the live core, other than this one, that holds the
	// session of a full JID, or for a bare JID the core of the user's
	// sessions (the one with the available session of highest priority);
	// "" when none does.
	Locate(ctx context.Context, to jid.JID) string
	// Forward hands a stanza to the named core's RouteInbound, in order
	// per core. It never blocks on the peer: a stanza the peer cannot take
	// comes back through Route once the peer is gone.
	Forward(node string, st *stanza.Stanza)
	// Deliver hands a stanza as it is to the session of a full JID on the
	// named core (core.DeliverTo there; routed as usual when the session
	// is not there): what a session that moved had not delivered.
	Deliver(node string, full jid.JID, st *stanza.Stanza)
	// Bound records a session that was just bound here. A session of the
	// same full JID on another core is ended there.
	Bound(ctx context.Context, b BoundSession)
	// Presence records a session's availability and priority.
	Presence(ctx context.Context, b BoundSession)
	// Unbound removes a session that ended. It reports whether the session
	// moved: its full JID is bound on another core now, or handoff is set
	// (this core is shutting down), the session's edge is a real edge and
	// other cores exist for it to reopen the session on. Then this core's
	// ending is not the user's.
	Unbound(ctx context.Context, b BoundSession, handoff bool) (moved bool)
	// AvailableElsewhere names an available session of non-negative
	// priority of a local user on another live core, and that core; ok
	// is false when there is none or the registry cannot tell.
	AvailableElsewhere(ctx context.Context, bare jid.JID) (full jid.JID, node string, ok bool)
}

// BoundSession describes a session for the cluster's registry.
type BoundSession struct {
	JID       jid.JID
	Edge      string // the edge node holding the connection, "" if this one
	Stream    string // unique per session instance
	Priority  int
	Available bool
	BoundAt   time.Time
}

func (s *session) bound() BoundSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return BoundSession{JID: s.jid, Edge: s.edge, Stream: s.stream, Priority: s.priority, Available: s.available, BoundAt: s.since}
}

// forward sends a stanza to a local user's home core when this core holds
// none of the recipient's sessions: the full JID's session, else any of
// the user's. It reports whether it did.
func (c *Core) forward(ctx context.Context, st *stanza.Stanza, to jid.JID) bool {
	if c.cluster == nil {
		return false
	}
	full, any := c.holds(to)
	if full {
		return false
	}
	if !to.IsBare() {
		if node := c.cluster.Locate(ctx, to); node != "" {
			c.cluster.Forward(node, st)
			return true
		}
	}
	if any {
		return false
	}
	if node := c.cluster.Locate(ctx, to.Bare()); node != "" {
		c.cluster.Forward(node, st)
		return true
	}
	return false
}

// HandOff tells the core that the sessions ending from now on are being
// moved to other cores of the region (it is shutting down and its edges
// reopen them elsewhere): their users did not leave, so no unavailable
// presence goes out for them.
func (c *Core) HandOff() { c.handoff.Store(true) }

// RouteInbound delivers a stanza another core forwarded: the recipient's
// side of routing, on this core's sessions only (never forwarded again,
// so a stale registry entry cannot make stanzas circle); with no session
// here it is stored or bounced as for a user who is offline.
func (c *Core) RouteInbound(ctx context.Context, st *stanza.Stanza) {
	to := st.To
	if to.Local() == "" || !c.IsLocal(to.Domain()) {
		c.drop("forward_not_local_user")
		return
	}
	// The answer to a request this core made (Request) for one of its
	// users comes through the core of the JID it asked.
	if c.response(st) {
		return
	}
	c.inbound(ctx, st, to)
}

// EndSession ends, as KickSession does, the session of a full JID if it
// is the instance the registry names stream (another core bound the same
// resource since). It reports whether it did.
func (c *Core) EndSession(full jid.JID, stream string, e *stanza.StreamError) bool {
	s := c.session(full)
	if s == nil || s.stream != stream {
		return false
	}
	end(s, e)
	return true
}

// Bound lists the sessions bound here, for the cluster's refresh.
func (c *Core) Bound() []BoundSession {
	all := c.allSessions()
	out := make([]BoundSession, 0, len(all))
	for _, s := range all {
		if !s.closed.Load() {
			out = append(out, s.bound())
		}
	}
	return out
}

// HasSession reports whether a session of the JID (full, or any of a
// bare JID's) is bound here.
func (c *Core) HasSession(to jid.JID) bool {
	full, any := c.holds(to)
	if to.IsBare() {
		return any
	}
	return full
}

// holds reports, in one read of the session table and without copying,
// whether the session of a full JID is bound here (full; false for a bare
// JID) and whether any session of its account is (any).
func (c *Core) holds(to jid.JID) (full, any bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	u := c.users[to.Bare()]
	if u == nil {
		return false, false
	}
	if !to.IsBare() {
		i := u.find(to)
		full = i >= 0 && !u.sessions[i].closed.Load()
	}
	return full, len(u.sessions) > 0
}

// SessionLost ends, for the region, a session whose core died with no
// edge left to move it (an all-in-one node of a cluster, or a core and
// its edge lost together): its contacts get its unavailable presence as
// if it had logged out (RFC 6121 §4.5.2), the user's resources here learn
// it, and the modules forget the session (last activity is recorded when
// last: the user has no session left in the region). The cluster calls it
// on one core per lost session. Directed presence the session had sent
// died with its core and is not repeated.
func (c *Core) SessionLost(ctx context.Context, full jid.JID, last bool) {
	st := stanza.FromElement(stanzaElement("presence", "", full.String(), "unavailable"))
	for _, o := range c.sessionsOf(full.Bare()) {
		if o.jid != full && o.isAvailable() {
			c.deliver(o, st)
		}
	}
	info := module.SessionInfo{JID: full}
	c.presenceBroadcast(ctx, info, st, false)
	c.sessionClosed(ctx, info, "", last)
}
