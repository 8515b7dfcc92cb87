package c2s

import (
	"time"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// writer returns the stream's writer once bound.
func (s *stream) writer() *writer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w
}

// shutdown ends the stream with <system-shutdown/>.
func (s *stream) shutdown() {
	s.end(&stanza.StreamError{Condition: stanza.SystemShutdown})
}

// end ends the stream with e (a server going away: the session is not
// kept for resumption); a stream not yet bound is just closed.
func (s *stream) end(e *stanza.StreamError) {
	s.mu.Lock()
	s.shuttingDown = true
	w, binding := s.w, s.binding
	if binding {
		s.endErr = e
	}
	s.mu.Unlock()
	switch {
	case w != nil:
		w.close(e)
	case !binding:
		s.conn.Close()
	}
}

// serve relays stanzas from the client to its session until the stream ends.
func (s *stream) serve() {
	idle := s.srv.opts.IdleTimeout
	s.conn.SetReadDeadline(time.Time{})
	s.rd.idle = idle
	s.dec.ReleaseWhenIdle()
	for {
		// A deadline per stanza: a client that trickles bytes without
		// completing a stanza times out too.
		if idle > 0 {
			s.conn.SetReadDeadline(time.Now().Add(idle))
		}
		raw, err := s.dec.Next()
		if err != nil {
			s.fail(err)
			return
		}
		if err := s.handle(&raw); err != nil {
			s.fail(err)
			return
		}
	}
}

// handle validates one stanza from a bound client, stamps its from (RFC
// 6120 §8.1.2.1) and hands it to the session.
func (s *stream) handle(raw *xmltok.Raw) error {
	kind := stanza.KindOf(raw.Local)
	if raw.Space != stanza.NSClient || kind == stanza.Other {
		return s.nonza(raw)
	}
	// XEP-0198 h counts a stanza once it is handled: routed, stored or
	// answered, never before.
	defer s.b.handled()
	st := &stanza.Stanza{Kind: kind, Type: raw.Type, ID: raw.ID, From: s.full}
	if raw.HasTo {
		to, err := jid.Parse(raw.To)
		if err != nil {
			st.Bytes = raw.Bytes
			s.reply(stanza.ErrorReply(st, stanza.ErrJIDMalformed, jid.JID{}))
			return nil
		}
		st.To = to
	}
	if raw.StreamPrefixes {
		// Prefixes declared on the stream header: forward a re-serialised copy.
		el, err := xmltok.Parse(raw.Bytes, stanza.NSClient, s.dec.Prefixes())
		if err != nil {
			return err
		}
		el.SetAttr("from", s.fullStr)
		st.Bytes = el.Append(nil, stanza.NSClient)
		s.sess.Handle(st)
		return nil
	}
	switch {
	case !raw.HasFrom:
		st.Bytes = stanza.Stamp(raw, s.fullStr)
	case raw.From == s.fullStr:
		st.Bytes = raw.Bytes
	default:
		from, err := jid.Parse(raw.From)
		if err != nil || (from != s.full && from != s.full.Bare()) {
			return &stanza.StreamError{Condition: stanza.InvalidFrom}
		}
		st.Bytes = stanza.Stamp(raw, s.fullStr)
	}
	s.sess.Handle(st)
	return nil
}

// reply sends a server-generated answer straight to this client.
func (s *stream) reply(st *stanza.Stanza) {
	s.w.enqueue(st.Bytes)
}

func streamErrorCounter(cond string) {
	metrics.StreamErrors.WithLabelValues(cond).Inc()
}
