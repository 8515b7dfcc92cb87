package bosh

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// conn is the net.Conn the c2s stream runs on. Its read side yields what
// the session pushes (a synthesized stream header, the payloads of each
// <body/> in rid order, the closing tag); its write side hands the
// stream's output to the session. Writes never block: the session queues
// them for the next response. No goroutine of its own.
type conn struct {
	s      *session
	local  net.Addr
	remote net.Addr

	mu     sync.Mutex
	in     []byte
	end    error         // returned once in is drained: io.EOF, errGone
	ready  chan struct{} // cap 1: in grew or end was set
	closed chan struct{}
	once   sync.Once
	rdl    deadline
}

// errGone is what the stream reads when the BOSH session ended without a
// closing tag (inactivity, a binding error, shutdown): a lost connection,
// so a session with XEP-0198 enabled stays resumable.
var errGone = errors.New("bosh: session ended")

func newConn(s *session, local, remote net.Addr) *conn {
	return &conn{s: s, local: local, remote: remote, ready: make(chan struct{}, 1), closed: make(chan struct{}), rdl: newDeadline()}
}

// push queues bytes for the stream to read.
func (c *conn) push(b ...[]byte) {
	c.mu.Lock()
	if c.end == nil {
		for _, p := range b {
			c.in = append(c.in, p...)
		}
	}
	c.mu.Unlock()
	c.signal()
}

// buffered returns how many bytes wait for the stream to read them.
func (c *conn) buffered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.in)
}

// finish makes reads return err once what is queued is read.
func (c *conn) finish(err error) {
	c.mu.Lock()
	if c.end == nil {
		c.end = err
	}
	c.mu.Unlock()
	c.signal()
}

func (c *conn) signal() {
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

func (c *conn) Read(p []byte) (int, error) {
	for {
		c.mu.Lock()
		if len(c.in) > 0 {
			n := copy(p, c.in)
			c.in = c.in[n:]
			if len(c.in) == 0 {
				c.in = nil // an idle session keeps no buffer
			}
			c.mu.Unlock()
			return n, nil
		}
		end := c.end
		c.mu.Unlock()
		if end != nil {
			return 0, end
		}
		select {
		case <-c.ready:
		case <-c.closed:
			return 0, net.ErrClosed
		case <-c.rdl.wait():
			return 0, os.ErrDeadlineExceeded
		}
	}
}

func (c *conn) Write(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	if err := c.s.output(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close is called by the stream when it is done.
func (c *conn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.rdl.set(time.Time{})
		c.s.streamClosed()
	})
	return nil
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }

func (c *conn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	return nil
}

func (c *conn) SetReadDeadline(t time.Time) error {
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline does nothing: writes never block.
func (c *conn) SetWriteDeadline(time.Time) error { return nil }

var _ net.Conn = (*conn)(nil)
var _ io.Reader = (*conn)(nil)

// deadline is a read deadline as a channel that is closed when it passes.
type deadline struct {
	mu    sync.Mutex
	timer *time.Timer
	ch    chan struct{}
}

func newDeadline() deadline { return deadline{ch: make(chan struct{})} }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		if !d.timer.Stop() {
			d.ch = make(chan struct{}) // the fired timer closes the old one
		}
		d.timer = nil
	} else {
		select {
		case <-d.ch:
			d.ch = make(chan struct{}) // an earlier deadline passed
		default:
		}
	}
	if t.IsZero() {
		return
	}
	dur := time.Until(t)
	if dur <= 0 {
		close(d.ch)
		return
	}
	ch := d.ch
	d.timer = time.AfterFunc(dur, func() { close(ch) })
}

func (d *deadline) wait() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}

// addr names the BOSH session as the stream's remote address.
type addr string

func (a addr) Network() string { return "bosh" }
func (a addr) String() string  { return string(a) }
