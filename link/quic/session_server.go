package quic

import (
	"errors"
	"fmt"

	quicgo "github.com/quic-go/quic-go"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/link/wire"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// ssession is a session stream at the core. It is the link.Sink the core
// delivers to: Deliver queues a sequenced frame and returns at once.
type ssession struct {
	c      *sconn
	str    *quicgo.Stream
	f      flow
	window int
	sess   link.Session
}

var _ link.Sink = (*ssession)(nil)

// Deliver implements link.Sink: queued unless the session's window of
// unacknowledged deliveries is full or the stream has ended.
func (s *ssession) Deliver(st *stanza.Stanza) bool {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.ended || len(s.f.unacked) >= s.window {
		return false
	}
	s.f.pushLocked(wire.Stanza, st)
	metrics.LinkCoreOut.Inc()
	return true
}

// Close implements link.Sink: the edge ends the client's stream.
func (s *ssession) Close(e *stanza.StreamError) {
	s.f.control(wire.AppendEnd(nil, e))
}

func (c *sconn) serveSession(str *quicgo.Stream, r *wire.Reader, open []byte) {
	req, err := wire.DecodeOpen(open)
	if err != nil {
		c.protocolError("bad_payload", err)
		return
	}
	req.Edge = c.name
	s := &ssession{c: c, str: str, window: c.s.o.Window}
	s.f.init()
	s.f.acker = &c.ack
	sess, err := c.s.o.Core.Open(c.qc.Context(), req, s)
	if err != nil {
		var se *stanza.Error
		if !errors.As(err, &se) {
			se = stanza.ErrInternalServerError
		}
		b, start := wire.Begin(nil, wire.OpenFailed)
		str.Write(wire.Finish(wire.AppendStanzaError(b, se), start))
		str.Close()
		return
	}
	s.sess = sess
	metrics.LinkSessions.WithLabelValues("core").Inc()
	defer metrics.LinkSessions.WithLabelValues("core").Dec()
	// Opened goes first; what the core delivered while opening waits in
	// the flow and follows it.
	o := &out{str: str}
	if _, err := str.Write(wire.AppendOpened(nil, sess.JID())); err == nil {
		s.f.attach(c.w, o) // a failed write cancels the read below
	}
	err = s.read(r)
	// The stream is over: the edge finished it after its Close was
	// acknowledged, or the connection went. What the edge never
	// acknowledged goes back to the core's router.
	undelivered := s.f.end()
	metrics.LinkReturned.Add(float64(len(undelivered)))
	sess.Close(undelivered)
	str.CancelRead(codeStreamDone)
	o.close()
	if err != nil && isFraming(err) {
		c.protocolError("framing", err)
	}
}

// read hands on what the edge sends until the stream ends. It returns a
// framing error, or nil at the end of the stream.
func (s *ssession) read(r *wire.Reader) error {
	var undelivered []*stanza.Stanza
	for {
		t, p, err := r.Next()
		if err != nil {
			if isFraming(err) {
				return err
			}
			return nil
		}
		switch t {
		case wire.Stanza:
			seq, st, err := wire.DecodeStanza(p)
			if err != nil {
				s.c.protocolError("bad_payload", err)
				return nil
			}
			metrics.LinkCoreIn.Inc()
			s.sess.Handle(st)
			s.f.received(seq, r.Buffered() == 0, false)
		case wire.Undelivered:
			seq, st, err := wire.DecodeStanza(p)
			if err != nil {
				s.c.protocolError("bad_payload", err)
				return nil
			}
			// Not acknowledged on its own: the Close that follows
			// acknowledges it once the core has taken it back.
			_ = seq
			undelivered = append(undelivered, st)
		case wire.Close:
			seq, err := wire.DecodeSeq(p)
			if err != nil {
				s.c.protocolError("bad_payload", err)
				return nil
			}
			s.sess.Close(undelivered)
			undelivered = nil
			s.f.received(seq, true, true)
		case wire.Ack:
			seq, err := wire.DecodeSeq(p)
			if err != nil {
				s.c.protocolError("bad_payload", err)
				return nil
			}
			s.f.ack(seq)
		default:
			s.c.protocolError("unexpected_frame", fmt.Errorf("link: %s on a session stream", t))
			return nil
		}
	}
}
