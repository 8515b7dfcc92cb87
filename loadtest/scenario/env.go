package scenario

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest/client"
	"github.com/meridian-xmpp/meridian/loadtest/stats"
	"github.com/meridian-xmpp/meridian/loadtest/users"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Params are the parts of a run's configuration scenarios use.
type Params struct {
	Domain   string
	Users    int           // users of this load node (sessions may be fewer)
	Duration time.Duration // length of the load phase
	// Rate is stanzas per second from all sessions together; 0 means
	// Users/Think, or no stanzas at all when Think is 0 too.
	Rate float64
	// Think is how long each user waits between two of its stanzas.
	// Sessions take turns, so at Rate each waits Users/Rate.
	Think time.Duration
	// Messages stops the load phase after this many stanzas (0: none).
	Messages int64
	// RosterSize is the number of contacts per user.
	RosterSize int
	// Rosters: "auto" creates missing roster items and mutual
	// subscriptions once (a later run finds them and skips), "skip"
	// trusts that they were provisioned (or are not needed).
	Rosters string
	// Timeout bounds each preparation step (default 60s).
	Timeout time.Duration
}

// EffectiveRate is the stanzas per second the pacer aims at for n
// sessions.
func (p Params) EffectiveRate(n int) float64 {
	if p.Rate > 0 {
		return p.Rate
	}
	if p.Think > 0 && n > 0 {
		return float64(n) / p.Think.Seconds()
	}
	return 0
}

func (p Params) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return 60 * time.Second
}

// Session is one logged-in user.
type Session struct {
	Index int // the user's position among this node's users
	User  users.User
	Conn  *client.Conn

	prefix string      // "local@domain/" to recognise our own presence
	dead   atomic.Bool // the stream failed: no more sends
	seq    int64       // stanzas sent (pacer goroutine only)
	tmpl   [][]byte    // pre-rendered stanza heads (chat: one per contact)
	fanout int         // recipients of each stanza (presence: contacts)
}

// NewSession wraps a logged-in connection.
func NewSession(index int, u users.User, c *client.Conn) *Session {
	return &Session{Index: index, User: u, Conn: c, prefix: u.JID() + "/"}
}

// Kill marks a session whose stream ended; senders skip it.
func (s *Session) Kill() { s.dead.Store(true) }

// Alive reports whether the session can still send.
func (s *Session) Alive() bool { return !s.dead.Load() }

// Env is what a scenario works with.
type Env struct {
	Params   Params
	Sessions []*Session // logged in, in Index order
	Stats    *stats.Run
	Stamp    *Stamp
}

// Handler returns the stanza handler of a session's reader: stamped
// stanzas give end-to-end latency; error stanzas are counted by kind
// ("message_error:service-unavailable"). It parses nothing for
// ordinary stanzas.
func (e *Env) Handler(s *Session) client.Handler {
	return func(raw *xmltok.Raw) {
		d, stamped := e.Stamp.Since(raw.ID)
		if raw.Type == "error" {
			e.Stats.Errors.Add(raw.Local + "_error:" + s.Conn.Condition(raw))
			if stamped {
				e.Stats.Failed.Add(1)
			}
			return
		}
		if !stamped {
			return
		}
		// A server may reflect a presence broadcast to its sender
		// (RFC 6121 §4.4.2): only contacts' copies count.
		if raw.Local == "presence" && len(raw.From) >= len(s.prefix) && raw.From[:len(s.prefix)] == s.prefix {
			return
		}
		e.Stats.Latency.Record(d)
		e.Stats.Received.Add(1)
	}
}

// Live returns the sessions still connected.
func (e *Env) Live() []*Session {
	out := make([]*Session, 0, len(e.Sessions))
	for _, s := range e.Sessions {
		if s.Alive() {
			out = append(out, s)
		}
	}
	return out
}

// ForEach runs fn for every live session, at most limit at a time, and
// returns when all are done.
func (e *Env) ForEach(ctx context.Context, limit int, fn func(ctx context.Context, s *Session)) {
	sem := make(chan struct{}, max(1, limit))
	var wg sync.WaitGroup
	for _, s := range e.Live() {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(ctx, s)
		}()
	}
	wg.Wait()
}

// Announce sends initial presence for every session (RFC 6121 §4.2) and
// waits until the server has processed it: messages to bare JIDs are
// delivered to available resources only (RFC 6121 §8.5.2.1.1).
func (e *Env) Announce(ctx context.Context) {
	e.ForEach(ctx, 64, func(ctx context.Context, s *Session) {
		if err := s.Conn.Send([]byte("<presence xmlns='jabber:client'/>")); err != nil {
			e.Stats.Errors.Add(client.Key("send", err))
			return
		}
		e.ping(ctx, s)
	})
}

// Sync waits until the server has processed everything every session
// sent: a ping's answer comes after them.
func (e *Env) Sync(ctx context.Context) {
	e.ForEach(ctx, 64, func(ctx context.Context, s *Session) { e.ping(ctx, s) })
}

func (e *Env) ping(ctx context.Context, s *Session) {
	ctx, cancel := context.WithTimeout(ctx, e.Params.timeout())
	defer cancel()
	if err := s.Conn.Ping(ctx); err != nil {
		e.Stats.Errors.Add(client.Key("prepare:ping", err))
	}
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
