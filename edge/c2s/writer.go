package c2s

import (
	"bufio"
	"net"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// writer owns the socket's write side once a session is bound (DESIGN
// principle 3): a bounded queue, batched writes, a flush when the queue is
// empty, write deadlines, whitespace keepalives. A full queue means a slow
// consumer: the stream is closed with <policy-violation/> and the stanza
// counted.
type writer struct {
	conn      net.Conn
	bw        *bufio.Writer
	q         chan []byte
	timeout   time.Duration
	keepalive time.Duration

	once    sync.Once
	stop    chan *stanza.StreamError // nil error: plain close
	stopped chan struct{}            // closed when the loop has exited
}

const maxBatch = 64

func newWriter(conn net.Conn, bw *bufio.Writer, queue int, timeout, keepalive time.Duration) *writer {
	return &writer{
		conn:      conn,
		bw:        bw,
		q:         make(chan []byte, queue),
		timeout:   timeout,
		keepalive: keepalive,
		stop:      make(chan *stanza.StreamError, 1),
		stopped:   make(chan struct{}),
	}
}

// enqueue queues bytes; false when the stream is closing or the queue is
// full (then the stream is ended as a slow consumer).
func (w *writer) enqueue(b []byte) bool {
	select {
	case <-w.stopped:
		return false
	default:
	}
	select {
	case w.q <- b:
		return true
	default:
		metrics.Dropped.WithLabelValues("slow_consumer").Inc()
		w.close(&stanza.StreamError{Condition: stanza.PolicyViolation, Text: "slow consumer: send queue full"})
		return false
	}
}

// close asks the loop to write the stream error (if any) and the closing
// tag, then close the connection. Only the first call counts.
func (w *writer) close(e *stanza.StreamError) {
	w.once.Do(func() { w.stop <- e })
}

func (w *writer) run() {
	defer close(w.stopped)
	var tick <-chan time.Time
	var ticker *time.Ticker
	if w.keepalive > 0 {
		ticker = time.NewTicker(w.keepalive)
		defer ticker.Stop()
		tick = ticker.C
	}
	wrote := false
	for {
		select {
		case b := <-w.q:
			if !w.batch(b) {
				w.conn.Close()
				return
			}
			wrote = true
		case <-tick:
			// RFC 6120 §4.6.1: whitespace keepalive after write silence.
			if !wrote {
				w.bw.WriteByte(' ')
				if !w.flush() {
					w.conn.Close()
					return
				}
			}
			wrote = false
		case e := <-w.stop:
			// Deliver what is queued before the goodbye.
			for len(w.q) > 0 {
				w.bw.Write(<-w.q)
			}
			if e != nil {
				metrics.StreamErrors.WithLabelValues(e.Condition).Inc()
				w.bw.Write(e.Append(nil))
			}
			w.bw.WriteString("</stream:stream>")
			w.flush()
			w.conn.Close()
			return
		}
	}
}

func (w *writer) batch(first []byte) bool {
	w.bw.Write(first)
loop:
	for i := 0; i < maxBatch; i++ {
		select {
		case b := <-w.q:
			w.bw.Write(b)
		default:
			break loop
		}
	}
	return w.flush()
}

func (w *writer) flush() bool {
	if w.bw.Buffered() == 0 {
		return true
	}
	w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.bw.Flush() == nil
}
