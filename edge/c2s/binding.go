package c2s

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// binding is a bound session as the edge keeps it: the link.Sink the core
// delivers to. It outlives the connection it was bound on when stream
// management (XEP-0198) made it resumable: while detached it keeps what
// the core delivers, and a new connection that resumes it takes over.
// It also holds back non-urgent traffic while the client says it is
// inactive (XEP-0352).
//
// Lock order: binding.mu before writer.mu.
type binding struct {
	srv  *Server
	sess link.Session
	full jid.JID

	mu sync.Mutex
	w  *writer // the current connection's writer; nil while detached
	// Stream management: once enabled, every stanza handed to the client
	// is kept in unacked until the client's <a h=''/> covers it. acked is
	// the h of the last acknowledgement; unacked[i] is stanza acked+i+1.
	sm       bool
	resumeID string // "" unless resumable
	resumeTO time.Duration
	unacked  []*stanza.Stanza
	acked    uint32
	inbound  atomic.Uint32 // stanzas handled from the client (the h we report)
	asked    bool          // an <r/> is outstanding
	timer    *time.Timer
	noResume bool // the core ended the session, or the stream ended cleanly
	ended    bool
	// Client state indication: while inactive, non-urgent stanzas wait
	// in held (one presence per sender) until something urgent comes.
	inactive bool
	held     []*stanza.Stanza
}

var _ link.Sink = (*binding)(nil)

// maxHeld bounds what an inactive client has waiting; past it everything
// is sent.
const maxHeld = 256

// Deliver implements link.Sink.
func (b *binding) Deliver(st *stanza.Stanza) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended {
		return false
	}
	if b.inactive && !urgent(st) && len(b.held) < maxHeld {
		b.hold(st)
		return true
	}
	b.flushHeld()
	return b.send(st)
}

// Close implements link.Sink: the core ends the session (conflict,
// account removed, shutdown). It is not resumable after that.
func (b *binding) Close(e *stanza.StreamError) {
	b.mu.Lock()
	b.noResume = true
	w := b.w
	b.mu.Unlock()
	if w != nil {
		w.close(e)
		return
	}
	b.endDetached()
}

// send hands st to the client, or keeps it for resumption while detached.
// b.mu is held.
func (b *binding) send(st *stanza.Stanza) bool {
	if !b.sm {
		return b.w != nil && b.w.enqueue(st.Bytes)
	}
	b.unacked = append(b.unacked, st)
	if len(b.unacked) > b.srv.opts.MaxUnacked {
		// The client neither reads nor acknowledges: end the session and
		// let the core route what it never got.
		metrics.Dropped.WithLabelValues("sm_unacked_overflow").Inc()
		b.noResume = true
		if b.w != nil {
			b.w.close(&stanza.StreamError{Condition: stanza.PolicyViolation, Text: "too many unacknowledged stanzas"})
		} else {
			go b.end()
		}
		return true
	}
	if b.w == nil {
		return true
	}
	// A full queue closes the stream; the stanza stays in unacked and is
	// resent on resumption or routed again when the session ends.
	if b.w.enqueue(st.Bytes) && !b.asked {
		b.asked = true
		b.w.enqueue(ackRequest)
	}
	return true
}

var ackRequest = []byte("<r xmlns='" + stanza.NSSM + "'/>")

// hold keeps a non-urgent stanza for an inactive client; a newer presence
// from the same sender replaces the older one. b.mu is held.
func (b *binding) hold(st *stanza.Stanza) {
	if st.Kind == stanza.Presence {
		for i, h := range b.held {
			if h.Kind == stanza.Presence && h.From == st.From {
				copy(b.held[i:], b.held[i+1:])
				b.held[len(b.held)-1] = st
				return
			}
		}
	}
	b.held = append(b.held, st)
}

// flushHeld sends what an inactive client had waiting. b.mu is held.
func (b *binding) flushHeld() {
	if len(b.held) == 0 {
		return
	}
	held := b.held
	b.held = nil
	for _, h := range held {
		b.send(h)
	}
}

// setActive records a client state indication.
func (b *binding) setActive(active bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inactive = !active
	if active {
		b.flushHeld()
	}
}

// urgent reports whether a stanza must reach an inactive client at once
// (XEP-0352 §5): anything with a body or an encrypted payload, IQs,
// subscription requests and answers, errors. Presence updates, chat
// states, receipts and event notifications wait.
func urgent(st *stanza.Stanza) bool {
	switch st.Kind {
	case stanza.IQ:
		return true
	case stanza.Presence:
		return st.Type != "" && st.Type != "unavailable"
	}
	if st.Type == "error" {
		return true
	}
	return bytes.Contains(st.Bytes, bodyTag) || bytes.Contains(st.Bytes, encryptedTag)
}

var (
	bodyTag      = []byte("<body")
	encryptedTag = []byte("<encrypted")
)

// handled counts a stanza received from the client (XEP-0198 h): an
// atomic, as it runs for every stanza; it wraps at 2^32 as h does.
func (b *binding) handled() { b.inbound.Add(1) }

// ack processes the client's <a/> acknowledgement (or the h of <resume/>). It
// returns false when h acknowledges more than was sent.
func (b *binding) ack(h uint32) bool {
	n := h - b.acked // modulo 2^32, as the counter wraps (XEP-0198 §4)
	if int64(n) > int64(len(b.unacked)) {
		return false
	}
	clear(b.unacked[:n])
	b.unacked = b.unacked[n:]
	if len(b.unacked) == 0 {
		b.unacked = nil
	}
	b.acked = h
	b.asked = false
	return true
}

// sendCount is the h the client may acknowledge at most. b.mu is held.
func (b *binding) sendCount() uint32 { return b.acked + uint32(len(b.unacked)) }

// release is called when w's connection is done. A session another
// connection resumed meanwhile is left alone; a resumable one (resumable:
// the connection was lost, not closed) detaches and waits; any other ends.
func (b *binding) release(w *writer, resumable bool) {
	b.mu.Lock()
	if b.ended || b.w != w {
		b.mu.Unlock()
		return
	}
	if !resumable || b.resumeID == "" || b.noResume {
		// No resumption may slip in before end runs.
		b.noResume = true
		b.mu.Unlock()
		b.end()
		return
	}
	b.w = nil
	b.asked = false
	b.timer = time.AfterFunc(b.resumeTO, b.expire)
	metrics.SMDetached.Inc()
	b.mu.Unlock()
}

// expire ends a session nobody resumed in time.
func (b *binding) expire() {
	if b.endDetached() {
		metrics.SMResumptions.WithLabelValues("expired").Inc()
	}
}

// endDetached ends the session if it is waiting for a resumption; it
// reports whether it did.
func (b *binding) endDetached() bool {
	b.mu.Lock()
	detached := b.w == nil && !b.ended
	if detached {
		b.noResume = true // no resumption may slip in before end runs
	}
	b.mu.Unlock()
	if detached {
		b.end()
	}
	return detached
}

// end closes the session for good and hands the core every stanza the
// client did not acknowledge. Stanzas still held for an inactive client
// (presence updates, chat states) are dropped: the next presence or
// archive query supersedes them. It is idempotent.
func (b *binding) end() {
	b.mu.Lock()
	if b.ended {
		b.mu.Unlock()
		return
	}
	b.ended = true
	if b.w == nil && b.resumeID != "" {
		metrics.SMDetached.Dec()
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	undelivered := b.unacked
	b.unacked = nil
	if n := len(b.held); n > 0 {
		metrics.Dropped.WithLabelValues("csi_held_at_close").Add(float64(n))
		b.held = nil
	}
	id := b.resumeID
	b.mu.Unlock()
	if id != "" {
		b.srv.forget(id, b)
	}
	b.sess.Close(undelivered)
}
