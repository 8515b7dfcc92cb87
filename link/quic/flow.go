package quic

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-xmpp/meridian/link/wire"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// flow is one direction-pair of a session stream: the sequenced frames
// this end sent and the far end has not acknowledged, the bytes waiting
// for the writer, and how far this end has handed on what it received.
// Both ends use it; the edge keeps unacknowledged frames across
// connections (replay), the core hands them back to its router.
type flow struct {
	mu       sync.Mutex
	space    sync.Cond // broadcast when unacked shrinks or the flow ends
	unacked  []sent
	next     uint64 // seq of the next sequenced frame
	pend     []byte // encoded frames for the writer, in order
	spare    []byte
	attached bool // a writer runs; pend is only filled while attached
	cw       *connWriter
	o        *out   // the stream written to while attached
	slowOn   *out   // a blocking write to it is under way (flow control)
	recv     uint64 // highest seq received and handed on (this attachment)
	ackSent  uint64
	ackNow   bool // acknowledge without waiting (a Close was handed on)
	ackAsked bool // the acker will set ackNow
	acker    *acker
	ended    bool
	// queuedOn is the writer whose ready list holds the flow, if any;
	// changed under that writer's mu. It names the writer (rather than
	// being a flag) because a flow moves between connections: a flag
	// left set by the writer of a dead connection would keep the new
	// writer from ever taking the flow.
	queuedOn atomic.Pointer[connWriter]
}

// sent is a sequenced frame kept until acknowledged: a stanza (Stanza or
// Undelivered) or the edge's Close. It is encoded again on replay rather
// than kept encoded twice.
type sent struct {
	seq uint64
	t   wire.Type
	st  *stanza.Stanza
	// carry marks a stanza the edge made up on a reopen to carry the
	// session's state (see csession.carryLocked): it is not the client's,
	// and a later reopen builds it afresh instead of replaying it.
	carry bool
}

func (f *flow) init() {
	f.space.L = &f.mu
	f.next = 1
}

// signal asks the connection's writer to look at the flow.
func (f *flow) signal() {
	f.mu.Lock()
	f.signalLocked()
	f.mu.Unlock()
}

// signalLocked is signal with f.mu held: f.cw changes when the flow
// moves to another connection.
func (f *flow) signalLocked() {
	if cw := f.cw; cw != nil {
		cw.ready(f)
	}
}

// pushLocked appends a sequenced frame; f.mu is held.
func (f *flow) pushLocked(t wire.Type, st *stanza.Stanza) {
	s := sent{seq: f.next, t: t, st: st}
	f.next++
	f.unacked = append(f.unacked, s)
	if f.attached {
		f.pend = appendSent(f.pend, s)
		f.signalLocked()
	}
}

func appendSent(b []byte, s sent) []byte {
	if s.t == wire.Close {
		return wire.AppendSeq(b, wire.Close, s.seq)
	}
	return wire.AppendStanza(b, s.t, s.seq, s.st)
}

// control queues an unsequenced frame (Opened, End) behind what is queued.
func (f *flow) control(b []byte) {
	f.mu.Lock()
	if f.attached {
		f.pend = append(f.pend, b...)
		f.signalLocked()
	}
	f.mu.Unlock()
}

// attach starts a new stream: everything unacknowledged is queued again,
// in order, and the receive side starts over (the far end numbers anew).
// It returns how many frames it replays.
func (f *flow) attach(cw *connWriter, o *out) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attached = true
	f.cw, f.o = cw, o
	f.recv, f.ackSent = 0, 0
	f.pend = f.pend[:0]
	for _, s := range f.unacked {
		f.pend = appendSent(f.pend, s)
	}
	f.signalLocked()
	return len(f.unacked)
}

func (f *flow) detach() {
	f.mu.Lock()
	f.attached = false
	f.o = nil
	f.pend = f.pend[:0]
	f.mu.Unlock()
}

// detachFrom detaches the flow if it is still attached to o.
func (f *flow) detachFrom(o *out) {
	f.mu.Lock()
	if f.o == o {
		f.attached = false
		f.o = nil
		f.pend = f.pend[:0]
	}
	f.mu.Unlock()
}

// ack drops what the far end acknowledged (cumulative).
func (f *flow) ack(seq uint64) {
	f.mu.Lock()
	f.ackLocked(seq, nil)
	f.mu.Unlock()
}

// keepUnacked is the most frames' room an idle flow keeps.
const keepUnacked = 64

// ackLocked drops what the far end acknowledged, calling each (when not
// nil) for every dropped frame in order; f.mu is held.
func (f *flow) ackLocked(seq uint64, each func(sent)) {
	i := 0
	for i < len(f.unacked) && f.unacked[i].seq <= seq {
		if each != nil {
			each(f.unacked[i])
		}
		i++
	}
	if i > 0 {
		// Moved down rather than sliced off the front, so the array is
		// reused (a session's next stanza allocates nothing) unless it
		// grew large in a burst.
		n := copy(f.unacked, f.unacked[i:])
		clear(f.unacked[n:])
		f.unacked = f.unacked[:n]
		if n == 0 && cap(f.unacked) > keepUnacked {
			f.unacked = nil
		}
		f.space.Broadcast()
	}
}

// Acknowledgements are delayed: one rides along with the next frame the
// writer sends anyway, or goes once ackEvery frames wait for one, or when
// the connection's acker flushes (ackDelay after the first waiting one).
// The acker flushes every waiting session of a connection at once, so
// their acknowledgements share packets: an acknowledgement alone would
// cost a packet, delaying it costs only memory at the sender.
const (
	ackDelay = time.Millisecond
	ackEvery = 64
)

// acker schedules the delayed acknowledgements of one connection.
type acker struct {
	mu      sync.Mutex
	pending []*flow
	armed   bool
	timer   *time.Timer
}

func (a *acker) want(f *flow) {
	a.mu.Lock()
	a.pending = append(a.pending, f)
	if !a.armed {
		a.armed = true
		if a.timer == nil {
			a.timer = time.AfterFunc(ackDelay, a.flush)
		} else {
			a.timer.Reset(ackDelay)
		}
	}
	a.mu.Unlock()
}

func (a *acker) flush() {
	a.mu.Lock()
	fs := a.pending
	a.pending, a.armed = nil, false
	a.mu.Unlock()
	for _, f := range fs {
		f.mu.Lock()
		f.ackNow, f.ackAsked = true, false
		f.signalLocked()
		f.mu.Unlock()
	}
}

// received records that the frame seq was handed on; wake tells the
// writer (when nothing more is read ahead, so that acknowledgements cover
// batches); urgent acknowledges without delay.
func (f *flow) received(seq uint64, wake, urgent bool) {
	f.mu.Lock()
	if seq > f.recv {
		f.recv = seq
	}
	if urgent {
		f.ackNow = true
	}
	if wake || urgent {
		f.signalLocked()
	}
	f.mu.Unlock()
}

// end stops the flow and returns the stanzas never acknowledged.
func (f *flow) end() []*stanza.Stanza {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = true
	f.attached = false
	f.o = nil
	var out []*stanza.Stanza
	for _, s := range f.unacked {
		if s.st != nil {
			out = append(out, s.st)
		}
	}
	f.unacked = nil
	f.space.Broadcast()
	f.signalLocked()
	return out
}

// take returns what the writer should send now, and where: the waiting
// acknowledgement (unless it is delayed) followed by the queued frames.
func (f *flow) take() ([]byte, *out) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.o
	if f.ended || o == nil || f.slowOn == o {
		return nil, nil
	}
	buf := f.spare[:0]
	f.spare = nil
	if f.recv > f.ackSent {
		if len(f.pend) > 0 || f.ackNow || f.acker == nil || f.recv-f.ackSent >= ackEvery {
			buf = wire.AppendSeq(buf, wire.Ack, f.recv)
			f.ackSent = f.recv
			f.ackNow = false
		} else if !f.ackAsked {
			f.ackAsked = true
			f.acker.want(f)
		}
	}
	buf = append(buf, f.pend...)
	f.pend = f.pend[:0]
	return buf, o
}

// recycle keeps a written buffer for the next take.
func (f *flow) recycle(buf []byte) {
	if cap(buf) > 256<<10 {
		return
	}
	f.mu.Lock()
	if f.spare == nil {
		f.spare = buf[:0]
	}
	f.mu.Unlock()
}
