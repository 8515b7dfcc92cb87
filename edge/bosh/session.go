package bosh

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/edge/framing"
	"github.com/meridian-xmpp/meridian/internal/metrics"
)

// request is one HTTP request of a session, from its arrival until it is
// answered. Its HTTP handler waits on done; a retransmission of the same
// rid waits on the same request.
type request struct {
	b       *body
	rid     int64
	create  bool      // the session creation request
	pause   bool      // a pause request: its answer is not buffered
	expires time.Time // when a held request is answered empty (wait)
	done    chan struct{}
	status  int
	resp    []byte
}

func newRequest(b *body) *request {
	return &request{b: b, rid: b.rid, done: make(chan struct{})}
}

// session is one BOSH session and the client stream it carries.
//
// Lock order: session.mu, then Handler.mu, then conn.mu.
type session struct {
	h        *Handler
	sid      string
	conn     *conn
	domain   string
	lang     string
	ver      string
	ctype    string
	wait     time.Duration
	hold     int
	requests int
	legacy   bool // no 'ver' in the session request: HTTP error codes (XEP-0124 §17.1)
	secure   bool // created over HTTPS: every request must be (XEP-0124 §15.1)

	mu        sync.Mutex
	next      int64      // rid of the next request to process
	pending   []*request // arrived ahead of next, by rid
	held      []*request // processed, waiting for data or wait, by rid
	sent      []*request // the last answered ones, for retransmissions (§14.3)
	out       [][]byte   // elements queued for the next response
	outBytes  int
	streamErr []byte // <stream:error> written by the stream
	split     framing.Splitter
	authid    string
	final     []byte // the terminate body, once the stream has ended
	gone      bool   // removed from the handler
	idleSince time.Time
	pause     time.Duration // inactivity limit until the next request; 0: normal
	lastPoll  time.Time     // polling sessions: the last empty request
	pollEmpty bool          // ... and whether its answer was empty
}

// errOverflow is returned to the stream's writer when the client stopped
// collecting what the session queued: the stream ends like a slow TCP
// consumer.
var errOverflow = errors.New("bosh: output queue full")

// receive takes a request of the session (XEP-0124 §14: rid window,
// retransmission, overactivity). It returns the request to wait on, or an
// answer at once.
func (s *session) receive(b *body, now time.Time) (*request, int, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return nil, 0, nil
	}
	if b.rid < s.next {
		for _, r := range s.held {
			if r.rid == b.rid {
				metrics.BOSHRequests.WithLabelValues("retransmitted").Inc()
				return r, 0, nil
			}
		}
		for _, r := range s.sent {
			if r.rid == b.rid {
				metrics.BOSHRequests.WithLabelValues("retransmitted").Inc()
				return nil, r.status, r.resp
			}
		}
		st, resp := s.fail("item-not-found")
		return nil, st, resp
	}
	for _, r := range s.pending {
		if r.rid == b.rid {
			return r, 0, nil
		}
	}
	// §11: one more request than 'requests' is allowed to pause or end.
	limit := s.requests
	if b.attrs["pause"] != "" || b.attrs["type"] == "terminate" {
		limit++
	}
	if len(s.held)+len(s.pending)+1 > limit {
		st, resp := s.fail("policy-violation")
		return nil, st, resp
	}
	if b.rid > s.next-1+int64(s.requests) {
		st, resp := s.fail("item-not-found")
		return nil, st, resp // §14.2: beyond the window
	}
	r := newRequest(b)
	i, _ := slices.BinarySearchFunc(s.pending, r.rid, func(p *request, rid int64) int { return cmpInt(p.rid, rid) })
	s.pending = slices.Insert(s.pending, i, r)
	for !s.gone && len(s.pending) > 0 && s.pending[0].rid == s.next {
		p := s.pending[0]
		s.pending = s.pending[1:]
		s.next++
		if s.final != nil {
			// The stream ended while no request was held: this one
			// carries the news.
			s.answer(p, 200, s.final, now)
			break
		}
		if cond := s.process(p, now); cond != "" {
			p.status, p.resp = s.fail(cond)
			close(p.done)
			return r, 0, nil // r is p, or a pending request fail answered
		}
	}
	if s.final != nil || s.gone {
		st, body := terminal("item-not-found", s.legacy)
		s.end("stream", st, body)
		return r, 0, nil
	}
	if len(s.pending) == 0 {
		s.pending = nil
	}
	s.flush(now)
	return r, 0, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

var (
	streamEnd = []byte("</stream:stream>")
	keepalive = []byte(" ")
)

// process hands a request's payloads to the stream in rid order and holds
// the request, or answers it at once (terminate, pause). It returns a
// terminal condition when the request breaks the session rules.
func (s *session) process(r *request, now time.Time) string {
	b := r.b
	s.pause = 0
	// What the client sends waits in the connection until the stream
	// reads it; a client that sends faster than its stream is served
	// (on TCP it would be slowed down by the socket) ends the session.
	in := 0
	for _, c := range b.children {
		in += len(c)
	}
	if in > 0 && s.conn.buffered()+in > s.h.maxQueue {
		return "policy-violation"
	}
	switch {
	case b.attrs["type"] == "terminate":
		// §13: forward the payloads (e.g. unavailable presence), then end.
		s.conn.push(append(slices.Clip(b.children), streamEnd)...)
		s.conn.finish(io.EOF)
		for _, h := range s.held {
			s.answer(h, 200, wrap(nil, nil), now)
		}
		s.held = nil
		s.answer(r, 200, wrap(attr(nil, "type", "terminate"), s.out), now)
		s.out = nil
		s.remove("terminate")
		return ""
	case b.attrs["pause"] != "":
		p := b.intAttr("pause", 0)
		if p < 0 || int64(p) > int64(s.h.opts.MaxPause/time.Second) {
			return "bad-request"
		}
		// §10: answer everything held, the pause request without
		// payloads, and let the session be idle for the pause.
		s.conn.push(b.children...)
		for _, h := range s.held {
			s.answer(h, 200, s.body(h, s.out), now)
			s.out, s.outBytes = nil, 0
		}
		s.held = nil
		r.pause = true
		s.answer(r, 200, wrap(nil, nil), now)
		s.pause = time.Duration(p) * time.Second
		return ""
	case b.attrs["xbosh:restart"] == "true" || b.attrs["xbosh:restart"] == "1":
		// XEP-0206 §5: a new stream header after SASL success.
		s.conn.push(append(slices.Clip(b.children), s.header())...)
	case len(b.children) == 0:
		// An empty request is the client's keepalive: the stream reads
		// whitespace, which pushes its idle deadline forward.
		s.conn.push(keepalive)
		if s.hold == 0 {
			// §12 loosely: a polling client may not poll with empty
			// requests faster than half the advertised interval after an
			// empty answer.
			if s.pollEmpty && now.Sub(s.lastPoll) < pollingInterval/2 {
				return "policy-violation"
			}
			s.lastPoll = now
		}
	default:
		s.conn.push(b.children...)
	}
	b.children = nil // the stream has them; a held request keeps no payload
	r.expires = now.Add(s.wait)
	s.held = append(s.held, r)
	metrics.BOSHHeld.Inc()
	return ""
}

// header is the stream header the stream reads at the start and after
// each restart.
func (s *session) header() []byte {
	b := []byte("<stream:stream xmlns='jabber:client' xmlns:stream='" + nsStreams + "' version='1.0'")
	b = attr(b, "to", s.domain)
	if s.lang != "" {
		b = attr(b, "xml:lang", s.lang)
	}
	return append(b, '>')
}

// flush answers held requests, oldest first: with everything queued, with
// the terminate body once the stream ended, or empty when more than
// 'hold' are held (§8).
func (s *session) flush(now time.Time) {
	for len(s.held) > 0 {
		r := s.held[0]
		switch {
		case s.final != nil:
			s.answer(r, 200, s.final, now)
			s.held = s.held[1:]
			s.end("stream", 200, wrap(attr(nil, "type", "terminate"), nil))
			return
		case len(s.out) > 0:
			s.answer(r, 200, s.body(r, s.out), now)
			s.out, s.outBytes = nil, 0
		case len(s.held) > s.hold && !r.create:
			s.answer(r, 200, s.body(r, nil), now)
		default:
			return
		}
		s.held = s.held[1:]
	}
	s.held = nil
}

// body wraps payloads for r; the creation response carries the session's
// parameters (XEP-0124 §7.2, XEP-0206 §4).
func (s *session) body(r *request, children [][]byte) []byte {
	if !r.create {
		return wrap(nil, children)
	}
	return wrap(s.createAttrs(), children)
}

func (s *session) createAttrs() []byte {
	o := &s.h.opts
	secs := func(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
	b := attr(nil, "sid", s.sid)
	b = attr(b, "wait", secs(s.wait))
	b = attr(b, "hold", strconv.Itoa(s.hold))
	b = attr(b, "requests", strconv.Itoa(s.requests))
	b = attr(b, "inactivity", secs(o.Inactivity))
	if o.MaxPause > 0 {
		b = attr(b, "maxpause", secs(o.MaxPause))
	}
	b = attr(b, "polling", secs(pollingInterval))
	b = attr(b, "ver", s.ver)
	b = attr(b, "from", s.domain)
	if s.authid != "" {
		b = attr(b, "authid", s.authid)
	}
	// The stream runs in-process: the connection manager's link to the
	// server is as secure as it gets.
	b = attr(b, "secure", "true")
	b = attr(b, "xmlns:xmpp", NSXBOSH)
	b = attr(b, "xmpp:version", "1.0")
	return attr(b, "xmpp:restartlogic", "true")
}

// answer completes r. Answers to requests that were neither pauses nor
// errors are kept for retransmissions, as many as 'requests'.
func (s *session) answer(r *request, status int, resp []byte, now time.Time) {
	if r.expires != (time.Time{}) {
		metrics.BOSHHeld.Dec()
	}
	r.status, r.resp = status, resp
	r.b = nil
	close(r.done)
	if s.hold == 0 && r.expires != (time.Time{}) {
		s.pollEmpty = len(resp) < 64 && !r.create
	}
	if !r.pause && status == 200 {
		if len(s.sent) >= s.requests {
			s.sent = append(s.sent[:0], s.sent[1:]...)
		}
		s.sent = append(s.sent, r)
	}
	s.idleSince = now
}

// fail ends the session with a terminal binding condition.
func (s *session) fail(cond string) (int, []byte) {
	st, body := terminal(cond, s.legacy)
	s.end(cond, st, body)
	metrics.BOSHRequests.WithLabelValues("rejected").Inc()
	return st, body
}

// remove takes the session out of the handler once.
func (s *session) remove(reason string) {
	if s.gone {
		return
	}
	s.gone = true
	s.out, s.sent = nil, nil
	s.h.remove(s.sid)
	metrics.BOSHEnded.WithLabelValues(reason).Inc()
}

// output takes what the stream wrote (through conn.Write).
func (s *session) output(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone || s.final != nil {
		return nil // the client is not listening any more
	}
	s.split.Feed(p, func(k framing.Kind, item []byte) error {
		switch {
		case k == framing.Header:
			// The header has no place in a <body/>; its id is the authid.
			if id, _, ok := framing.Attr(item, "id"); ok {
				s.authid = string(id)
			}
		case k == framing.End:
			s.streamEnded()
		case bytes.HasPrefix(item, []byte("<stream:error")):
			s.streamErr = framing.Qualified(item)
		default:
			// A <body/> child declares its namespace (XEP-0206 §5).
			el := framing.Qualified(item)
			s.out = append(s.out, el)
			s.outBytes += len(el)
		}
		return nil
	})
	// A held request takes what is queued first: only what no request
	// can carry counts against the bound (a client that stopped polling).
	s.flush(time.Now())
	if s.outBytes > s.h.maxQueue {
		return errOverflow
	}
	return nil
}

// streamEnded builds the terminate body once the stream closed: what was
// still queued, and the stream error as remote-stream-error (XEP-0206 §7,
// XEP-0124 §17.2). The stream then reads the client's closing tag at once
// instead of waiting for it.
func (s *session) streamEnded() {
	if s.final != nil {
		return
	}
	attrs := attr(nil, "type", "terminate")
	children := s.out
	if s.streamErr != nil {
		attrs = attr(attrs, "condition", "remote-stream-error")
		children = append(children, s.streamErr)
	}
	s.final = wrap(attrs, children)
	s.out, s.outBytes = nil, 0
	s.conn.push(streamEnd)
	s.conn.finish(io.EOF)
}

// streamClosed is called when the stream closed its connection; one that
// closed without its closing tag lost its server side.
func (s *session) streamClosed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone || s.final != nil {
		return
	}
	_, s.final = terminal("remote-connection-failed", false)
	s.flush(time.Now())
}

// tick answers held requests whose wait passed and ends the session once
// it has been idle (nothing held) for longer than its inactivity period
// (§9); the sweeper calls it.
func (s *session) tick(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return
	}
	for len(s.held) > 0 && !now.Before(s.held[0].expires) {
		r := s.held[0]
		s.held = s.held[1:]
		s.answer(r, 200, s.body(r, nil), now)
	}
	if len(s.held) > 0 {
		return
	}
	s.held = nil
	limit := s.h.opts.Inactivity
	if s.pause > 0 {
		limit = s.pause
	}
	if now.Sub(s.idleSince) > limit {
		st, body := terminal("item-not-found", s.legacy)
		s.end("inactivity", st, body)
	}
}

// end closes the session from this side: requests still waiting get the
// answer, the stream a lost connection (unless it already read its end).
func (s *session) end(reason string, st int, body []byte) {
	for _, r := range append(s.held, s.pending...) {
		if r.expires != (time.Time{}) {
			metrics.BOSHHeld.Dec()
		}
		r.status, r.resp = st, body
		close(r.done)
	}
	s.held, s.pending = nil, nil
	s.conn.finish(errGone)
	s.remove(reason)
}
