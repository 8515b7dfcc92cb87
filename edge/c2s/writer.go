package c2s

import (
	"bufio"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// writer owns the socket's write side once a session is bound (DESIGN
// principle 3): a bounded queue, batched writes, a flush when the queue is
// empty, write deadlines. A full queue means a slow consumer: the stream
// is closed with <policy-violation/> and the stanza counted.
//
// An idle session costs as little as possible: the queue is a slice that
// is dropped once drained, the flushing goroutine runs only while there is
// something to write, and its buffered writer comes from a pool. Whitespace
// keepalives come from the Server's sweeper, not a timer per stream.
type writer struct {
	conn    net.Conn
	max     int
	timeout time.Duration

	mu      sync.Mutex
	q       [][]byte
	running bool                // a flush goroutine is active
	closing *stanza.StreamError // set by close; plainClose for no error
	ending  bool                // close was requested
	closed  bool                // the connection is closed

	lastWrite atomic.Int64  // unix nanoseconds of the last flush
	flushed   chan struct{} // closed once the closing tag is written
	done      chan struct{} // closed once the connection is closed
}

// closeGrace is how long the server waits, after its closing tag, for the
// client's own before it closes the connection (RFC 6120 §4.4).
const closeGrace = 2 * time.Second

var bufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}

func newWriter(conn net.Conn, queue int, timeout time.Duration) *writer {
	w := &writer{conn: conn, max: queue, timeout: timeout, flushed: make(chan struct{}), done: make(chan struct{})}
	w.lastWrite.Store(time.Now().UnixNano())
	return w
}

// enqueue queues bytes; false when the stream is closing or the queue is
// full (then the stream is ended as a slow consumer).
func (w *writer) enqueue(b []byte) bool {
	w.mu.Lock()
	if w.ending || w.closed {
		w.mu.Unlock()
		return false
	}
	if len(w.q) >= w.max {
		w.mu.Unlock()
		metrics.Dropped.WithLabelValues("slow_consumer").Inc()
		w.close(&stanza.StreamError{Condition: stanza.PolicyViolation, Text: "slow consumer: send queue full"})
		return false
	}
	w.q = append(w.q, b)
	w.kick()
	w.mu.Unlock()
	return true
}

// kick starts the flush goroutine if none runs. w.mu is held.
func (w *writer) kick() {
	if !w.running {
		w.running = true
		go w.flush()
	}
}

// close asks for the stream error (if any) and the closing tag to be
// written after what is queued, then the connection closed. Only the
// first call counts.
func (w *writer) close(e *stanza.StreamError) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ending || w.closed {
		return
	}
	w.ending = true
	w.closing = e
	w.kick()
}

// flush drains the queue in batches until it is empty, then exits.
func (w *writer) flush() {
	bw := bufPool.Get().(*bufio.Writer)
	bw.Reset(w.conn)
	defer func() {
		bw.Reset(nil)
		bufPool.Put(bw)
	}()
	for {
		w.mu.Lock()
		batch := w.q
		w.q = nil
		ending, e := w.ending, w.closing
		if len(batch) == 0 && !ending {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		for _, b := range batch {
			bw.Write(b)
		}
		if ending {
			if e != nil {
				metrics.StreamErrors.WithLabelValues(e.Condition).Inc()
				bw.Write(e.Append(nil))
			}
			bw.WriteString("</stream:stream>")
			w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
			if bw.Flush() != nil {
				w.shut()
				return
			}
			// The client may still send its closing tag (RFC 6120 §4.4):
			// the reader waits for it; if the reader is busy elsewhere,
			// the connection closes after the grace period anyway.
			close(w.flushed)
			time.AfterFunc(closeGrace, w.shut)
			return
		}
		w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
		if err := bw.Flush(); err != nil {
			w.shut()
			return
		}
		w.lastWrite.Store(time.Now().UnixNano())
	}
}

// shut closes the connection once.
func (w *writer) shut() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	w.running = false
	w.q = nil
	w.conn.Close()
	close(w.done)
}

// keepalive sends a whitespace keepalive (RFC 6120 §4.6.1) when nothing
// was written for the interval.
func (w *writer) keepalive(now time.Time, interval time.Duration) {
	if now.UnixNano()-w.lastWrite.Load() < int64(interval) {
		return
	}
	w.lastWrite.Store(now.UnixNano())
	w.enqueue(space)
}

var space = []byte(" ")
