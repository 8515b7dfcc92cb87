package quic

import (
	"errors"
	"runtime"
	"sync"

	quicgo "github.com/quic-go/quic-go"
)

// connWriter is the one writer of a connection: it writes the queued
// frames of every session whose flow signalled since its last round,
// back to back, so the connection's packets carry the frames of many
// sessions and one goroutine wakes per round instead of one per session.
// It never waits for a session's QUIC flow control: a write that cannot
// be queued at once (the far end stopped reading that stream) moves to a
// goroutine of its own, and the session's later frames wait behind it, so
// one full stream does not hold up the others.
type connWriter struct {
	mu    sync.Mutex
	list  []*flow
	spare []*flow
	wake  chan struct{}
}

// out is the sending side of one session stream (one attachment).
type out struct {
	str *quicgo.Stream
	mu  sync.Mutex // held while writing and closing: quic-go's Close must not run beside a Write
}

func newConnWriter() *connWriter {
	return &connWriter{wake: make(chan struct{}, 1)}
}

// ready queues f for the next round. f.mu may be held (lock order:
// flow.mu before connWriter.mu).
func (w *connWriter) ready(f *flow) {
	w.mu.Lock()
	if f.queuedOn.Load() != w {
		f.queuedOn.Store(w)
		w.list = append(w.list, f)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run writes until done closes (the connection ended).
func (w *connWriter) run(done <-chan struct{}) {
	for {
		select {
		case <-w.wake:
		case <-done:
			return
		}
		// Let the goroutines that are ready run first (senders queueing
		// more frames, session readers handing stanzas on): the round
		// then takes all they queued, and quic-go packs it into fewer
		// packets. Without this yield the writer, woken first, writes
		// each frame alone: twice the packets, and each packet is a
		// system call at each end.
		runtime.Gosched()
		w.mu.Lock()
		fs := w.list
		w.list = w.spare[:0]
		for _, f := range fs {
			f.queuedOn.CompareAndSwap(w, nil)
		}
		w.mu.Unlock()
		for i, f := range fs {
			w.flush(f)
			fs[i] = nil
		}
		w.mu.Lock()
		w.spare = fs[:0]
		w.mu.Unlock()
	}
}

func (w *connWriter) flush(f *flow) {
	buf, o := f.take()
	if len(buf) == 0 {
		if o != nil {
			f.recycle(buf)
		}
		return
	}
	o.mu.Lock()
	err := o.str.TryWriteAll(buf)
	o.mu.Unlock()
	if errors.Is(err, quicgo.ErrWouldBlock) {
		f.mu.Lock()
		f.slowOn = o
		f.mu.Unlock()
		go w.slow(f, o, buf)
		return
	}
	if err != nil {
		o.failed()
		return
	}
	f.recycle(buf)
}

// slow writes buf waiting for flow control, then lets the flow's later
// frames go.
func (w *connWriter) slow(f *flow, o *out, buf []byte) {
	o.mu.Lock()
	_, err := o.str.Write(buf)
	o.mu.Unlock()
	f.mu.Lock()
	if f.slowOn == o {
		f.slowOn = nil
	}
	f.mu.Unlock()
	if err != nil {
		o.failed()
		return
	}
	f.signal()
}

// failed ends a stream whose write failed: its reader sees the end and
// the session's usual loss handling runs.
func (o *out) failed() { o.str.CancelRead(codeStreamDone) }

// close sends FIN after any write under way.
func (o *out) close() {
	o.mu.Lock()
	o.str.Close()
	o.mu.Unlock()
}
