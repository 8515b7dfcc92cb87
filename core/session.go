package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// Lock order: Core.mu before session.mu. Neither is held while calling a
// Sink, a hook or a store.

type user struct {
	sessions []*session
}

type session struct {
	c         *Core
	jid       jid.JID
	sink      link.Sink
	transport string
	remote    string    // client IP address, for operators
	since     time.Time // when the resource was bound
	edge      string    // edge node holding the connection ("" when this node)
	stream    string    // unique id of this session instance (cluster registry)

	mu         sync.Mutex
	available  bool
	priority   int
	presence   *stanza.Stanza
	interested bool
	directed   map[jid.JID]struct{}
	status     string // text of the last unavailable presence

	// closed is set when the session ends: from then on the router treats
	// its full JID as unbound, while it is still being taken down.
	closed atomic.Bool
	// moved is set when it ended because it moved to another core.
	moved atomic.Bool
}

var _ link.Session = (*session)(nil)

func (s *session) JID() jid.JID { return s.jid }

func (s *session) info() module.SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return module.SessionInfo{JID: s.jid, Priority: s.priority, Available: s.available, Presence: s.presence, Interested: s.interested}
}

// Handle implements link.Session: a stanza from the client.
func (s *session) Handle(st *stanza.Stanza) {
	metrics.In(uint8(st.Kind))
	ctx := context.Background()
	if st = s.c.userSend(ctx, s, st); st == nil {
		return
	}
	if st.Kind == stanza.Presence {
		s.c.clientPresence(ctx, s, st)
		return
	}
	s.c.route(ctx, st, s)
}

// Close implements link.Session. The first call ends the session; every
// call routes the stanzas the client never acknowledged again.
func (s *session) Close(undelivered []*stanza.Stanza) {
	first := s.closed.CompareAndSwap(false, true)
	s.mu.Lock()
	wasAvailable := s.available
	s.mu.Unlock()
	ctx := context.Background()
	if first && s.c.cluster != nil && s.stream != "" && s.c.cluster.Unbound(ctx, s.bound(), s.c.handoff.Load()) {
		s.moved.Store(true)
	}
	if s.moved.Load() {
		// The edge reopened this session on another core, or will (this
		// core hands its sessions off): the user did not leave, so no
		// unavailable presence. What this core could not hand to the edge
		// goes to the session where it is now.
		if len(undelivered) > 0 {
			s.c.handOver(ctx, s, undelivered)
		}
		if first {
			s.c.closed(ctx, s)
		}
		return
	}
	if first && wasAvailable {
		el := stanzaElement("presence", "", s.jid.String(), "unavailable")
		s.c.clientPresence(ctx, s, stanza.FromElement(el))
	}
	// Unavailable now, the session gets none of what is routed again, and
	// by the time it is unbound (a new session of the user may look for
	// offline messages) the stanzas are where they belong.
	for _, st := range undelivered {
		s.c.redeliver(ctx, s, st)
	}
	if first {
		s.c.closed(ctx, s)
	}
}

// closed unbinds an ended session and tells the modules (they drop what
// they kept for it).
func (c *Core) closed(ctx context.Context, s *session) {
	last := c.unbind(s)
	info := s.info()
	s.mu.Lock()
	status := s.status
	s.mu.Unlock()
	c.sessionClosed(ctx, info, status, last)
}

// sessionClosed runs the modules' SessionClosed hooks.
func (c *Core) sessionClosed(ctx context.Context, info module.SessionInfo, status string, last bool) {
	for _, h := range c.hooks {
		if h.SessionClosed != nil {
			h.SessionClosed(ctx, info, status, last)
		}
	}
}

// handOver sends what a moved session had not delivered to the session
// at its new core, as it is; when it is not registered anywhere else
// (yet), as if the session had never been bound.
func (c *Core) handOver(ctx context.Context, s *session, undelivered []*stanza.Stanza) {
	node := c.cluster.Locate(ctx, s.jid)
	for _, st := range undelivered {
		if node != "" {
			c.cluster.Deliver(node, s.jid, st)
		} else {
			c.redeliver(ctx, s, st)
		}
	}
}

// redeliver routes a stanza that reached the edge of a session that ended
// before its client acknowledged it (XEP-0198 §4 "the server SHOULD treat
// unacknowledged stanzas ... as if they had not been delivered").
func (c *Core) redeliver(ctx context.Context, s *session, st *stanza.Stanza) {
	bare := s.jid.Bare()
	switch {
	case st.Kind == stanza.IQ:
		if st.Type == "get" || st.Type == "set" {
			c.bounce(ctx, st, stanza.ErrServiceUnavailable)
			return
		}
		c.drop("unacked_iq_response")
	case st.Kind != stanza.Message:
		c.drop("unacked_presence")
	case st.Type == "error" || st.Type == "groupchat" || st.Type == "headline":
		c.drop("unacked_message")
	case st.From == bare:
		// Copies the server made for this session (carbons, archive
		// results, own notifications): the account keeps the originals.
		c.drop("unacked_copy")
	case st.To == s.jid:
		// Addressed to this resource: RFC 6121 §8.5.3.2.1 as if it had
		// never been bound.
		c.messageToBare(ctx, st, bare)
	case st.To.Bare() == bare:
		// Addressed to the account: resources that are available got
		// their own copy; only when none is left does it go offline.
		for _, o := range c.sessionsOf(bare) {
			if o.isAvailable() {
				c.drop("unacked_delivered_elsewhere")
				return
			}
		}
		c.messageToBare(ctx, st, bare)
	default:
		c.drop("unacked_message")
	}
}

// Open implements link.Core: bind a resource (RFC 6120 §7).
func (c *Core) Open(ctx context.Context, req link.OpenRequest, sink link.Sink) (link.Session, error) {
	bare := req.User.Bare()
	if !c.IsLocal(bare.Domain()) || bare.Local() == "" {
		return nil, stanza.ErrNotAllowed
	}
	res := req.Resource
	if res == "" {
		res = randomResource()
	}
	full, err := bare.WithResource(res)
	if err != nil {
		return nil, stanza.ErrBadRequest.WithText("invalid resource")
	}
	s := &session{c: c, sink: sink, transport: req.Transport, remote: req.RemoteAddr, since: time.Now(), edge: req.Edge}
	if c.cluster != nil {
		s.stream = randomResource()
	}
	var kicked *session
	c.mu.Lock()
	u := c.users[bare]
	if u == nil {
		u = &user{}
		c.users[bare] = u
	}
	if i := u.find(full); i >= 0 {
		switch c.opts.ResourceConflict {
		case "refuse":
			c.mu.Unlock()
			return nil, stanza.ErrConflict
		case "random":
			full, _ = bare.WithResource(res + "." + randomResource())
		default: // replace: RFC 6120 §7.7.2.2, the old session is ended
			kicked = u.sessions[i]
			u.sessions = append(u.sessions[:i], u.sessions[i+1:]...)
		}
	}
	if c.opts.MaxResources > 0 && len(u.sessions) >= c.opts.MaxResources {
		if len(u.sessions) == 0 {
			delete(c.users, bare)
		}
		c.mu.Unlock()
		return nil, stanza.ErrResourceConstraint.WithText("too many resources")
	}
	s.jid = full
	u.sessions = append(u.sessions, s)
	c.mu.Unlock()
	metrics.Sessions.Inc()
	if kicked != nil {
		kicked.sink.Close(&stanza.StreamError{Condition: stanza.Conflict, Text: "replaced by a new session"})
		kicked.Close(nil)
	}
	if c.cluster != nil {
		c.cluster.Bound(ctx, s.bound())
	}
	info := s.info()
	for _, h := range c.hooks {
		if h.SessionOpened != nil {
			h.SessionOpened(ctx, info)
		}
	}
	return s, nil
}

// unbind removes s from the table; it reports whether s was the user's
// last session.
func (c *Core) unbind(s *session) bool {
	bare := s.jid.Bare()
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.users[bare]
	if u == nil {
		return true
	}
	for i, o := range u.sessions {
		if o == s {
			u.sessions = append(u.sessions[:i], u.sessions[i+1:]...)
			metrics.Sessions.Dec()
			break
		}
	}
	if len(u.sessions) == 0 {
		delete(c.users, bare)
		return true
	}
	return false
}

func (u *user) find(full jid.JID) int {
	for i, s := range u.sessions {
		if s.jid == full {
			return i
		}
	}
	return -1
}

func randomResource() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "meridian-" + hex.EncodeToString(b[:])
}

// session returns the session bound to a full JID.
func (c *Core) session(full jid.JID) *session {
	c.mu.RLock()
	defer c.mu.RUnlock()
	u := c.users[full.Bare()]
	if u == nil {
		return nil
	}
	if i := u.find(full); i >= 0 && !u.sessions[i].closed.Load() {
		return u.sessions[i]
	}
	return nil
}

// allSessions returns every session in the table.
func (c *Core) allSessions() []*session {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var all []*session
	for _, u := range c.users {
		all = append(all, u.sessions...)
	}
	return all
}

// sessionsOf returns a copy of a user's session list.
func (c *Core) sessionsOf(bare jid.JID) []*session {
	c.mu.RLock()
	defer c.mu.RUnlock()
	u := c.users[bare]
	if u == nil {
		return nil
	}
	return append([]*session(nil), u.sessions...)
}

// DeliverElsewhere implements module.Host (DeliverTo on the other core).
func (c *Core) DeliverElsewhere(ctx context.Context, bare jid.JID, take func() []*stanza.Stanza) bool {
	if c.cluster == nil {
		return false
	}
	full, node, ok := c.cluster.AvailableElsewhere(ctx, bare.Bare())
	if !ok {
		return false
	}
	for _, st := range take() {
		c.cluster.Deliver(node, full, st)
	}
	return true
}

// Sessions implements module.Host.
func (c *Core) Sessions(bare jid.JID) []module.SessionInfo {
	ss := c.sessionsOf(bare)
	out := make([]module.SessionInfo, len(ss))
	for i, s := range ss {
		out[i] = s.info()
	}
	return out
}

// SessionCount returns the number of bound sessions.
func (c *Core) SessionCount() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := 0
	for _, u := range c.users {
		n += len(u.sessions)
	}
	return n
}

// SetInterested implements module.Host.
func (c *Core) SetInterested(full jid.JID) {
	if s := c.session(full); s != nil {
		s.mu.Lock()
		s.interested = true
		s.mu.Unlock()
	}
}

// DeliverTo implements module.Host.
func (c *Core) DeliverTo(full jid.JID, st *stanza.Stanza) bool {
	s := c.session(full)
	if s == nil {
		return false
	}
	return c.deliver(s, st)
}

func (c *Core) deliver(s *session, st *stanza.Stanza) bool {
	if !s.sink.Deliver(st) {
		metrics.Dropped.WithLabelValues("slow_consumer").Inc()
		return false
	}
	metrics.Out(uint8(st.Kind))
	return true
}

// kick ends every session of a user with a stream error.
func (c *Core) kick(bare jid.JID, e *stanza.StreamError) {
	for _, s := range c.sessionsOf(bare) {
		s.sink.Close(e)
	}
}

// Shutdown ends every session with <system-shutdown/>.
func (c *Core) Shutdown() {
	all := c.allSessions()
	for _, s := range all {
		s.sink.Close(&stanza.StreamError{Condition: stanza.SystemShutdown})
	}
}
