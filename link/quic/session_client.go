package quic

import (
	"context"
	"errors"
	"fmt"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/link/wire"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// csession is a session at the edge: the link.Session the client's
// stream calls. It outlives connections: on a new one it opens again
// (same full JID) and replays what the old core never acknowledged.
type csession struct {
	c    *Client
	req  link.OpenRequest
	sink link.Sink
	f    flow

	// Guarded by f.mu.
	full    jid.JID
	att     *attachment
	attCC   *cconn
	gen     uint64
	closing bool             // Close was called
	refused []*stanza.Stanza // the client's stream did not take them
	state   carried          // what a reopen carries to the new core
	// carryIDs are the ids of the carrying IQs of the last reopen whose
	// replies have not come yet.
	carryIDs map[string]struct{}
}

// attachment is a session's stream on one connection.
type attachment struct {
	str *quicgo.Stream
	o   *out
	f   *flow
}

var _ link.Session = (*csession)(nil)

// Open implements link.Core: it opens the session on the core the edge is
// connected to, waiting for a connection and trying again on the next if
// the connection is lost meanwhile.
func (c *Client) Open(ctx context.Context, req link.OpenRequest, sink link.Sink) (link.Session, error) {
	s := &csession{c: c, req: req, sink: sink}
	s.f.init()
	s.f.acker = &c.ack
	for {
		cc, err := c.waitConn(ctx)
		if err != nil {
			return nil, err
		}
		err = s.open(ctx, cc, false)
		if err == nil {
			break
		}
		if _, ok := err.(*stanza.Error); ok || ctx.Err() != nil || c.ctx.Err() != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	c.sessions[s] = struct{}{}
	now := c.cc
	c.mu.Unlock()
	metrics.LinkSessions.WithLabelValues("edge").Inc()
	// The connection may have changed between the open and joining the
	// set the reconnect walks.
	if now != nil && now != s.connOf() {
		go s.reattach(now)
	}
	return s, nil
}

func (s *csession) connOf() *cconn {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.att == nil {
		return nil
	}
	return s.attCC
}

// JID implements link.Session.
func (s *csession) JID() jid.JID {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	return s.full
}

// Handle implements link.Session: the stanza is queued for the core and
// kept until the core acknowledges it. With the window full it waits.
func (s *csession) Handle(st *stanza.Stanza) {
	s.f.mu.Lock()
	for len(s.f.unacked) >= s.c.o.Window && !s.f.ended && !s.closing {
		s.f.space.Wait()
	}
	if s.f.ended || s.closing {
		s.f.mu.Unlock()
		metrics.LinkLost.WithLabelValues("session_ended").Inc()
		return
	}
	s.f.pushLocked(wire.Stanza, st)
	s.f.mu.Unlock()
	metrics.LinkEdgeOut.Inc()
}

// Close implements link.Session: undelivered (and what the client's
// stream refused) goes to the core, then the session ends there; the
// edge keeps all of it until the core acknowledges the close.
func (s *csession) Close(undelivered []*stanza.Stanza) {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.ended {
		metrics.LinkLost.WithLabelValues("session_ended").Add(float64(len(undelivered)))
		return
	}
	all := append(s.refused, undelivered...)
	s.refused = nil
	for _, st := range all {
		s.f.pushLocked(wire.Undelivered, st)
	}
	s.f.pushLocked(wire.Close, nil)
	s.closing = true
	s.f.space.Broadcast()
}

// reattach moves the session to cc, trying again while cc lives.
func (s *csession) reattach(cc *cconn) {
	for cc.qc.Context().Err() == nil && s.c.ctx.Err() == nil {
		s.f.mu.Lock()
		ended := s.f.ended
		s.f.mu.Unlock()
		if ended {
			return
		}
		ctx, cancel := context.WithTimeout(cc.qc.Context(), 10*time.Second)
		err := s.open(ctx, cc, true)
		cancel()
		if err == nil {
			return
		}
		var se *stanza.Error
		if errors.As(err, &se) {
			s.c.log.Warn("session could not move to another core", "jid", s.JID(), "core", cc.core, "err", err)
			s.fail("reopen_failed", &stanza.StreamError{Condition: stanza.UndefinedCondition, Text: "session could not move to another server"})
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// open opens the session on cc (again, when reopen) and starts its
// reader and writer; what is unacknowledged is written first.
func (s *csession) open(ctx context.Context, cc *cconn, reopen bool) error {
	str, err := cc.qc.OpenStreamSync(ctx)
	if err != nil {
		return errConnLost
	}
	req := s.req
	s.f.mu.Lock()
	full := s.full
	s.f.mu.Unlock()
	if reopen {
		req.Resource = full.Resource()
		req.Reopen = true
	}
	abort := func() {
		str.CancelRead(codeStreamDone)
		str.CancelWrite(codeStreamDone)
	}
	if _, err := str.Write(wire.AppendOpen(nil, req)); err != nil {
		abort()
		return errConnLost
	}
	if dl, ok := ctx.Deadline(); ok {
		str.SetReadDeadline(dl)
	}
	r := wire.NewReader(str, s.c.o.MaxFrame)
	t, p, err := r.Next()
	str.SetReadDeadline(time.Time{})
	if err != nil {
		abort()
		if isFraming(err) {
			s.c.protocolError(cc, "framing", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errConnLost
	}
	switch t {
	case wire.Opened:
		got, err := wire.DecodeOpened(p)
		if err != nil {
			abort()
			s.c.protocolError(cc, "bad_payload", err)
			return errConnLost
		}
		if reopen && got != full {
			abort()
			return stanza.ErrConflict.WithText(fmt.Sprintf("reopened as %s", got))
		}
		full = got
	case wire.OpenFailed:
		se := wire.DecodeStanzaError(wire.NewDec(p))
		abort()
		return se
	default:
		abort()
		s.c.protocolError(cc, "unexpected_frame", fmt.Errorf("link: %s answers Open", t))
		return errConnLost
	}

	s.f.mu.Lock()
	old := s.att
	s.att = nil
	s.f.mu.Unlock()
	if old != nil {
		old.end()
	}
	s.f.mu.Lock()
	if s.f.ended {
		s.f.mu.Unlock()
		abort()
		return nil
	}
	s.full = full
	s.gen++
	gen := s.gen
	a := &attachment{str: str, o: &out{str: str}, f: &s.f}
	s.att, s.attCC = a, cc
	carry := s.carryLocked(reopen)
	s.f.mu.Unlock()
	if n := s.f.attach(cc.w, a.o) - carry; reopen && n > 0 {
		metrics.LinkReplayed.Add(float64(n))
	}
	if carry > 0 {
		metrics.LinkCarried.Add(float64(carry))
	}
	go s.read(cc, r, gen)
	return nil
}

// end detaches the session from an attachment's stream and resets it
// (which also ends a write waiting on it).
func (a *attachment) end() {
	a.f.detachFrom(a.o)
	a.str.CancelWrite(codeStreamDone)
	a.str.CancelRead(codeStreamDone)
}

// read hands on what the core sends on one attachment.
func (s *csession) read(cc *cconn, r *wire.Reader, gen uint64) {
	for {
		t, p, err := r.Next()
		if err != nil {
			if isFraming(err) {
				s.c.protocolError(cc, "framing", err)
			}
			s.lost(cc, gen)
			return
		}
		switch t {
		case wire.Stanza:
			seq, st, err := wire.DecodeStanza(p)
			if err != nil {
				s.c.protocolError(cc, "bad_payload", err)
				s.lost(cc, gen)
				return
			}
			s.f.mu.Lock()
			closing := s.closing
			swallow := s.swallowLocked(st)
			s.f.mu.Unlock()
			if swallow {
				// The reply to a carrying IQ: handed on (to nobody).
				s.f.received(seq, r.Buffered() == 0, false)
				continue
			}
			if closing {
				// Not handed on, not acknowledged: the core takes it back
				// when the stream ends.
				continue
			}
			metrics.LinkEdgeIn.Inc()
			if !s.sink.Deliver(st) {
				metrics.LinkRefusedByEdge.Inc()
				s.f.mu.Lock()
				s.refused = append(s.refused, st)
				s.f.mu.Unlock()
			}
			s.f.received(seq, r.Buffered() == 0, false)
		case wire.Ack:
			seq, err := wire.DecodeSeq(p)
			if err != nil {
				s.c.protocolError(cc, "bad_payload", err)
				s.lost(cc, gen)
				return
			}
			s.f.mu.Lock()
			s.f.ackLocked(seq, s.ackedLocked)
			done := s.closing && len(s.f.unacked) == 0 && s.gen == gen
			s.f.mu.Unlock()
			if done {
				s.finish()
				return
			}
		case wire.End:
			e, err := wire.DecodeEnd(p)
			if err != nil {
				s.c.protocolError(cc, "bad_payload", err)
				s.lost(cc, gen)
				return
			}
			s.sink.Close(e)
		default:
			s.c.protocolError(cc, "unexpected_frame", fmt.Errorf("link: %s on a session stream", t))
			s.lost(cc, gen)
			return
		}
	}
}

// lost handles the end of an attachment's stream that the session did not
// ask for. If the connection lives on (the core reset only this stream),
// the session opens again on it; otherwise the reconnect moves it.
func (s *csession) lost(cc *cconn, gen uint64) {
	s.f.mu.Lock()
	current := s.gen == gen && !s.f.ended
	s.f.mu.Unlock()
	if !current {
		return
	}
	s.f.detach()
	if cc.qc.Context().Err() == nil && s.c.current() == cc {
		time.Sleep(50 * time.Millisecond)
		s.reattach(cc)
	}
}

// finish ends a session whose close the core acknowledged.
func (s *csession) finish() {
	s.f.end()
	s.f.mu.Lock()
	a := s.att
	s.att = nil
	s.f.mu.Unlock()
	if a != nil {
		a.o.close() // FIN: the core ends its side on reading it
		a.str.CancelRead(codeStreamDone)
	}
	s.c.forget(s)
}

// fail ends a session the link can no longer carry: what was not
// acknowledged is counted lost and the client's stream is ended.
func (s *csession) fail(reason string, e *stanza.StreamError) {
	s.f.mu.Lock()
	closing := s.closing
	a := s.att
	s.att = nil
	s.f.mu.Unlock()
	lost := s.f.end()
	if len(lost) > 0 {
		metrics.LinkLost.WithLabelValues(reason).Add(float64(len(lost)))
	}
	if a != nil {
		a.end()
	}
	s.c.forget(s)
	if !closing {
		s.sink.Close(e)
	}
}
