package c2s

import (
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"time"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Stream management (XEP-0198) and client state indication (XEP-0352):
// the nonzas of a bound stream, and resumption of a detached session
// before binding.

// nonza handles a top-level element of a bound stream that is not a
// stanza.
func (s *stream) nonza(raw *xmltok.Raw) error {
	switch raw.Space {
	case stanza.NSSM:
		return s.smNonza(raw)
	case stanza.NSCSI:
		switch raw.Local {
		case "active", "inactive":
			s.b.setActive(raw.Local == "active")
			return nil
		}
	}
	return &stanza.StreamError{Condition: stanza.UnsupportedStanzaType, Text: raw.Local}
}

func (s *stream) smNonza(raw *xmltok.Raw) error {
	b := s.b
	switch raw.Local {
	case "r":
		b.mu.Lock()
		enabled := b.sm
		b.mu.Unlock()
		if !enabled {
			return smUnexpected()
		}
		s.w.enqueue(ackAnswer(b.inbound.Load()))
		return nil
	case "a":
		_, h, err := smCount(raw)
		if err != nil {
			return err
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if !b.sm {
			return smUnexpected()
		}
		if !b.ack(h) {
			return tooHigh(h, b.sendCount())
		}
		return nil
	case "enable":
		el, err := xmltok.Parse(raw.Bytes, stanza.NSSM, nil)
		if err != nil {
			return err
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.sm {
			s.w.enqueue(smFailed("unexpected-request", -1))
			return nil
		}
		b.sm = true
		reply := []byte("<enabled xmlns='" + stanza.NSSM + "'")
		if r := el.Attr("resume"); (r == "true" || r == "1") && s.srv.opts.ResumeTimeout > 0 {
			timeout := s.srv.opts.ResumeTimeout
			if m, err := strconv.Atoi(el.Attr("max")); err == nil && m > 0 && time.Duration(m)*time.Second < timeout {
				timeout = time.Duration(m) * time.Second
			}
			b.resumeTO = timeout
			b.resumeID = s.srv.remember(b)
			reply = append(reply, " id='"+b.resumeID+"' resume='true' max='"+strconv.Itoa(int(timeout/time.Second))+"'"...)
		}
		reply = append(reply, "/>"...)
		s.w.enqueue(reply)
		metrics.SMEnabled.Inc()
		return nil
	case "resume":
		// RFC-wise a resumption belongs before binding; this stream is
		// bound already.
		s.w.enqueue(smFailed("unexpected-request", -1))
		return nil
	}
	return &stanza.StreamError{Condition: stanza.UnsupportedStanzaType, Text: raw.Local}
}

// resume handles <resume/> after authentication, before binding. It
// returns done when the stream took over the old session.
func (s *stream) resume(raw *xmltok.Raw) (bool, error) {
	el, h, err := smCount(raw)
	if err != nil {
		return false, err
	}
	b := s.srv.lookup(el.Attr("previd"))
	if b == nil || b.full.Bare() != s.user {
		metrics.SMResumptions.WithLabelValues("unknown").Inc()
		return false, s.write(smFailed("item-not-found", -1))
	}
	w := newWriter(s.conn, s.srv.opts.SendQueue, s.srv.opts.WriteTimeout)
	b.mu.Lock()
	if b.ended || b.noResume {
		b.mu.Unlock()
		metrics.SMResumptions.WithLabelValues("unknown").Inc()
		return false, s.write(smFailed("item-not-found", -1))
	}
	if !b.ack(h) {
		sent := b.sendCount()
		b.mu.Unlock()
		return false, tooHigh(h, sent)
	}
	old := b.w
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if old == nil {
		metrics.SMDetached.Dec()
	}
	b.w = w
	b.asked = false
	// <resumed/> first, then everything not acknowledged, in order, then
	// a request for an acknowledgement of it.
	w.enqueue([]byte("<resumed xmlns='" + stanza.NSSM + "' previd='" + b.resumeID + "' h='" + strconv.FormatUint(uint64(b.inbound.Load()), 10) + "'/>"))
	for _, st := range b.unacked {
		w.enqueue(st.Bytes)
	}
	if len(b.unacked) > 0 {
		b.asked = true
		w.enqueue(ackRequest)
	}
	s.b, s.sess, s.full = b, b.sess, b.full
	s.fullStr = b.full.String()
	b.mu.Unlock()
	if old != nil {
		// The old connection is still open as far as we know: the client
		// has given up on it.
		old.close(nil)
	}
	metrics.SMResumptions.WithLabelValues("resumed").Inc()
	s.attach(w)
	return true, nil
}

// smCount parses an <a/> or <resume/> and its h.
func smCount(raw *xmltok.Raw) (*xmltok.Element, uint32, error) {
	el, err := xmltok.Parse(raw.Bytes, stanza.NSSM, nil)
	if err != nil {
		return nil, 0, err
	}
	h, err := strconv.ParseUint(el.Attr("h"), 10, 32)
	if err != nil {
		return nil, 0, &stanza.StreamError{Condition: stanza.BadFormat, Text: "h must be an unsigned 32-bit integer"}
	}
	return el, uint32(h), nil
}

func ackAnswer(h uint32) []byte {
	return []byte("<a xmlns='" + stanza.NSSM + "' h='" + strconv.FormatUint(uint64(h), 10) + "'/>")
}

// smFailed is <failed/> with a stanza error condition; h < 0 leaves out h.
func smFailed(cond string, h int64) []byte {
	b := []byte("<failed xmlns='" + stanza.NSSM + "'")
	if h >= 0 {
		b = append(b, " h='"+strconv.FormatInt(h, 10)+"'"...)
	}
	return append(b, "><"+cond+" xmlns='"+stanza.NSStanzas+"'/></failed>"...)
}

func smUnexpected() error {
	return &stanza.StreamError{Condition: stanza.UnsupportedStanzaType, Text: "stream management is not enabled"}
}

// tooHigh is the stream error for an acknowledgement of stanzas never
// sent (XEP-0198 §4).
func tooHigh(h, sent uint32) error {
	return &stanza.StreamError{Condition: stanza.UndefinedCondition,
		Text:  "handled count " + strconv.FormatUint(uint64(h), 10) + " is higher than the " + strconv.FormatUint(uint64(sent), 10) + " stanzas sent",
		Extra: "<handled-count-too-high xmlns='" + stanza.NSSM + "' h='" + strconv.FormatUint(uint64(h), 10) + "' send-count='" + strconv.FormatUint(uint64(sent), 10) + "'/>"}
}

// remember registers a resumable binding and returns its id.
func (s *Server) remember(b *binding) string {
	var raw [18]byte
	rand.Read(raw[:])
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	s.mu.Lock()
	s.resumable[id] = b
	s.mu.Unlock()
	return id
}

func (s *Server) lookup(id string) *binding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resumable[id]
}

func (s *Server) forget(id string, b *binding) {
	s.mu.Lock()
	if s.resumable[id] == b {
		delete(s.resumable, id)
	}
	s.mu.Unlock()
}
