package websocket

import (
	"errors"
	"github.com/meridian-xmpp/meridian/edge/framing"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/gorilla/websocket"

	"github.com/meridian-xmpp/meridian/internal/metrics"
)

// conn presents one WebSocket connection to the client stream as the byte
// stream of RFC 6120 (net.Conn): reads return the translation of the
// client's messages, writes are cut into elements and sent one per
// message. The stream's reader goroutine is the only reader; writes come
// from one goroutine at a time (negotiation, then the stream's writer)
// and are serialised anyway. Control frames (ping, close) may be written
// from any goroutine, as gorilla/websocket allows.
//
// It starts no goroutine: pings come from a timer that runs only when it
// fires, and an idle connection holds no message buffer.
type conn struct {
	ws *ws.Conn
	h  *Handler

	// Read side: the stream's reader goroutine only.
	msg    []byte  // what the stream reads next
	pos    int     // read position in msg
	pooled *[]byte // the message buffer msg may point into
	// expectOpen: the stream waits for a header; set by the write side
	// after SASL success.
	expectOpen atomic.Bool
	// idle is the read deadline span the stream last asked for once
	// bound, so that a pong can push it as whitespace would on TCP.
	idle atomic.Int64

	wmu   sync.Mutex
	split framing.Splitter

	lastRead atomic.Int64 // unix ns of the last frame from the client
	pingAt   atomic.Int64 // unix ns of the last ping sent
	timer    *time.Timer
	closed   atomic.Bool // Close ran: the ping timer must not re-arm

	closing   atomic.Bool // our <close/> went out: no more deadline pushes
	closeSent atomic.Bool // a close frame went out (or must not be sent)
	closeOnce sync.Once
}

var errBinary = errors.New("websocket: binary message (RFC 7395 §3.2 allows text only)")

var msgPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooled: buffers that grew past this for a large message are not kept.
const maxPooled = 64 << 10

func newConn(c *ws.Conn, h *Handler) *conn {
	cn := &conn{ws: c, h: h}
	cn.expectOpen.Store(true)
	cn.lastRead.Store(time.Now().UnixNano())
	c.SetReadLimit(int64(h.opts.MaxMessageSize))
	c.SetPingHandler(cn.onPing)
	c.SetPongHandler(cn.onPong)
	c.SetCloseHandler(cn.onClose)
	if h.opts.PingInterval > 0 {
		// Armed by Reset after the field is set: Reset orders the
		// assignment before tick reads it.
		cn.timer = time.AfterFunc(time.Duration(math.MaxInt64), cn.tick)
		cn.timer.Reset(h.opts.PingInterval)
	}
	return cn
}

func (c *conn) Read(p []byte) (int, error) {
	for c.pos >= len(c.msg) {
		c.release()
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.msg[c.pos:])
	c.pos += n
	if c.pos >= len(c.msg) {
		c.release()
	}
	return n, nil
}

// release gives the message buffer back once the stream has read it all.
func (c *conn) release() {
	c.msg, c.pos = nil, 0
	if c.pooled != nil {
		if cap(*c.pooled) <= maxPooled {
			*c.pooled = (*c.pooled)[:0]
			msgPool.Put(c.pooled)
		}
		c.pooled = nil
	}
}

// next reads the client's next message and translates it.
func (c *conn) next() error {
	typ, r, err := c.ws.NextReader()
	if err != nil {
		return c.readError(err)
	}
	c.seen()
	if typ != ws.TextMessage {
		c.closeWith(ws.CloseUnsupportedData, "binary")
		return errBinary
	}
	c.pooled = msgPool.Get().(*[]byte)
	buf, err := readAll(*c.pooled, r)
	*c.pooled = buf
	if err != nil {
		return c.readError(err)
	}
	out, open, se := fromClient(buf, c.expectOpen.Load())
	if se != nil {
		// The stream answers with the stream error and closes (RFC 7395
		// §3.6.1); its reader keeps reading for our <close/> to be
		// answered.
		return se
	}
	if open {
		c.expectOpen.Store(false)
	}
	c.msg = out
	return nil
}

func readAll(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// readError maps a gorilla read error: the client's close frame ends the
// stream like a closed TCP connection; a message over the size limit was
// already answered with 1009 by gorilla.
func (c *conn) readError(err error) error {
	var ce *ws.CloseError
	switch {
	case errors.As(err, &ce):
		return io.EOF
	case errors.Is(err, ws.ErrReadLimit):
		if c.closeSent.CompareAndSwap(false, true) {
			countClose("message_too_big")
		}
	}
	return err
}

// seen records traffic from the client, for the ping timer.
func (c *conn) seen() { c.lastRead.Store(time.Now().UnixNano()) }

// pushDeadline moves the stream's read deadline on when a control frame
// shows the client alive, as whitespace does on TCP (edge/c2s idleReader).
func (c *conn) pushDeadline() {
	if d := c.idle.Load(); d > 0 && !c.closing.Load() {
		c.ws.SetReadDeadline(time.Now().Add(time.Duration(d)))
	}
}

func (c *conn) onPong(string) error {
	c.seen()
	c.pushDeadline()
	return nil
}

func (c *conn) onPing(data string) error {
	c.seen()
	c.pushDeadline()
	err := c.ws.WriteControl(ws.PongMessage, []byte(data), time.Now().Add(c.h.opts.WriteTimeout))
	var ne net.Error
	if err == ws.ErrCloseSent || errors.As(err, &ne) {
		return nil
	}
	return err
}

// onClose answers the client's close frame (RFC 6455 §5.5.1); the read
// then fails and the stream ends as on a closed TCP connection, so a
// stream-managed session may be resumed.
func (c *conn) onClose(code int, _ string) error {
	c.seen()
	if c.closeSent.CompareAndSwap(false, true) {
		countClose("peer")
		c.ws.WriteControl(ws.CloseMessage, ws.FormatCloseMessage(ws.CloseNormalClosure, ""), time.Now().Add(c.h.opts.WriteTimeout))
	}
	return nil
}

// tick runs from the ping timer: after PingInterval without a frame from
// the client it sends a ping; if nothing arrives for another interval the
// connection is closed, and the stream treats it as lost (XEP-0198 may
// resume it).
func (c *conn) tick() {
	if c.closed.Load() {
		return // Close stopped the timer while this tick ran: no re-arm
	}
	iv := int64(c.h.opts.PingInterval)
	now := time.Now().UnixNano()
	last := c.lastRead.Load()
	if p := c.pingAt.Load(); p != 0 && last < p {
		if now-p >= iv {
			if c.closeSent.CompareAndSwap(false, true) {
				countClose("ping_timeout")
			}
			c.ws.NetConn().Close()
			return
		}
		c.timer.Reset(time.Duration(p + iv - now))
		return
	}
	if now-last >= iv {
		c.pingAt.Store(now)
		c.ws.WriteControl(ws.PingMessage, nil, time.Now().Add(c.h.opts.WriteTimeout))
		c.timer.Reset(time.Duration(iv))
		return
	}
	c.timer.Reset(time.Duration(last + iv - now))
}

// closeWith sends a close frame with code and closes the connection.
func (c *conn) closeWith(code int, reason string) {
	if c.closeSent.CompareAndSwap(false, true) {
		countClose(closeReasons[code])
		c.ws.WriteControl(ws.CloseMessage, ws.FormatCloseMessage(code, reason), time.Now().Add(c.h.opts.WriteTimeout))
	}
	c.Close()
}

var closeReasons = map[int]string{
	ws.CloseNormalClosure:   "normal",
	ws.CloseUnsupportedData: "unsupported_data",
}

func (c *conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.split.Feed(p, c.send); err != nil {
		return 0, err
	}
	return len(p), nil
}

// send writes one item of the stream's output as one text message.
func (c *conn) send(kind framing.Kind, item []byte) error {
	switch {
	case kind == framing.End:
		c.closing.Store(true)
	case kind == framing.Element && isSASLSuccess(item):
		c.expectOpen.Store(true)
	}
	w, err := c.ws.NextWriter(ws.TextMessage)
	if err != nil {
		return err
	}
	if err := toClient(w, kind, item); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// Close ends the WebSocket connection: a close frame 1000 unless one
// was already sent (the stream's <close/> went before it), then the TCP
// connection is closed, by the server first as RFC 6455 §7.1.1 advises.
func (c *conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		if c.timer != nil {
			c.timer.Stop()
		}
		if c.closeSent.CompareAndSwap(false, true) {
			countClose("normal")
			c.ws.WriteControl(ws.CloseMessage, ws.FormatCloseMessage(ws.CloseNormalClosure, ""), time.Now().Add(min(c.h.opts.WriteTimeout, time.Second)))
		}
		err = c.ws.Close()
	})
	return err
}

func (c *conn) LocalAddr() net.Addr  { return c.ws.LocalAddr() }
func (c *conn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

func (c *conn) SetDeadline(t time.Time) error {
	c.idle.Store(0)
	c.ws.SetWriteDeadline(t)
	return c.ws.SetReadDeadline(t)
}

func (c *conn) SetReadDeadline(t time.Time) error {
	var d int64
	if !t.IsZero() {
		d = int64(time.Until(t))
	}
	c.idle.Store(max(d, 0))
	return c.ws.SetReadDeadline(t)
}

func (c *conn) SetWriteDeadline(t time.Time) error { return c.ws.SetWriteDeadline(t) }

func countClose(reason string) {
	metrics.WebSocketCloses.WithLabelValues(reason).Inc()
}
