package quic

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/meridian-xmpp/meridian/internal/logonce"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// ClientOptions configures the edge end of the link.
type ClientOptions struct {
	// Addrs returns the link addresses of the cores to use, in order of
	// preference; it is asked again before every dial (the mesh changes
	// it).
	Addrs  func() []string
	TLS    *tls.Config // from ca.Node.ClientConfig
	Name   string      // this edge's node name, sent in Hello
	Logger *slog.Logger
	// Window bounds a session's unacknowledged stanzas to the core; past
	// it Handle waits. 0: DefaultWindow.
	Window      int
	MaxFrame    int           // 0: wire.DefaultMaxFrame
	IdleTimeout time.Duration // 0: 10 s
	DialTimeout time.Duration // 0: 3 s
	// RequestTimeout bounds StreamFeatures, which has no context. 0: 5 s.
	RequestTimeout time.Duration
	// FeaturesTTL is how long stream features are cached. 0: 10 s.
	FeaturesTTL time.Duration
}

// Client is the edge end of the link: a link.Core whose calls go to a
// core over QUIC. It keeps one connection, to the first core of Addrs
// that answers, and on losing it moves every session to the next.
type Client struct {
	o      ClientOptions
	log    *slog.Logger
	logged logonce.Set
	ctx    context.Context // ends at Close
	cancel context.CancelFunc

	mu       sync.Mutex
	cc       *cconn
	changed  chan struct{} // closed when cc changes
	sessions map[*csession]struct{}
	next     int
	wg       sync.WaitGroup

	ack acker

	fmu  sync.Mutex
	feat map[featKey]featEntry
}

type featKey struct {
	domain string
	pre    bool
}

type featEntry struct {
	els []string
	at  time.Time
}

var _ link.Core = (*Client)(nil)

// NewClient starts connecting; calls wait for a connection.
func NewClient(o ClientOptions) *Client {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 3 * time.Second
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.FeaturesTTL <= 0 {
		o.FeaturesTTL = 10 * time.Second
	}
	c := &Client{
		o: o, log: o.Logger.With("component", "link", "role", "edge"),
		changed: make(chan struct{}), sessions: map[*csession]struct{}{},
		feat: map[featKey]featEntry{},
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(1)
	go c.run()
	return c
}

// Close ends the link: the connection closes, waiting calls fail, and the
// sessions end (what they had not delivered to a core is counted lost).
// It is idempotent.
func (c *Client) Close() error {
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	ss := make([]*csession, 0, len(c.sessions))
	for s := range c.sessions {
		ss = append(ss, s)
	}
	c.mu.Unlock()
	for _, s := range ss {
		s.fail("shutdown", &stanza.StreamError{Condition: stanza.SystemShutdown})
	}
	return nil
}

// Connected returns the name of the core the edge is connected to, or "".
func (c *Client) Connected() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cc == nil {
		return ""
	}
	return c.cc.core
}

// Abandon drops the connection when it is to the named core (the mesh
// says that core failed or left): the sessions move to the next core at
// once instead of after the idle timeout. It reports whether it did.
func (c *Client) Abandon(core string) bool {
	c.mu.Lock()
	cc := c.cc
	c.mu.Unlock()
	if cc == nil || cc.core != core {
		return false
	}
	c.log.Warn("core left the mesh; moving sessions", "core", core)
	cc.qc.CloseWithError(codeShutdown, "core left the mesh")
	return true
}

// run keeps a connection: it dials the cores in turn and, when the
// connection it has ends, starts with the next one.
func (c *Client) run() {
	defer c.wg.Done()
	backoff := 50 * time.Millisecond
	failed := 0
	for c.ctx.Err() == nil {
		addrs := c.o.Addrs()
		if len(addrs) == 0 {
			c.sleep(backoff)
			continue
		}
		addr := addrs[c.next%len(addrs)]
		c.next++
		cc, err := c.dial(addr)
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			metrics.LinkDials.WithLabelValues("failed").Inc()
			if c.logged.First("dial " + addr) {
				c.log.Warn("cannot reach core", "addr", addr, "err", err)
			}
			if failed++; failed >= len(addrs) {
				c.sleep(backoff)
				backoff = min(2*backoff, 2*time.Second)
				failed = 0
			}
			continue
		}
		metrics.LinkDials.WithLabelValues("ok").Inc()
		failed, backoff = 0, 50*time.Millisecond
		c.log.Info("connected to core", "addr", addr, "core", cc.core)
		metrics.LinkConnections.WithLabelValues("edge").Inc()
		c.setConn(cc)
		select {
		case <-cc.qc.Context().Done():
		case <-c.ctx.Done():
			cc.qc.CloseWithError(codeShutdown, "shutting down")
		}
		<-cc.readDone
		metrics.LinkConnections.WithLabelValues("edge").Dec()
		c.setConn(nil)
		if c.ctx.Err() == nil {
			metrics.LinkFailovers.Inc()
			c.log.Warn("connection to core lost; moving sessions", "core", cc.core, "cause", context.Cause(cc.qc.Context()))
		}
	}
}

func (c *Client) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.ctx.Done():
	}
}

func (c *Client) dial(addr string) (*cconn, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.o.DialTimeout)
	defer cancel()
	qc, err := quicgo.DialAddr(ctx, addr, c.o.TLS, quicConfig(c.o.IdleTimeout))
	if err != nil {
		return nil, fmt.Errorf("link: dial %s: %w", addr, err)
	}
	cc, err := handshake(ctx, qc, c)
	if err != nil {
		qc.CloseWithError(codeProtocol, "handshake")
		return nil, fmt.Errorf("link: %s: %w", addr, err)
	}
	return cc, nil
}

// setConn makes cc the connection (nil: none) and moves every session
// onto it.
func (c *Client) setConn(cc *cconn) {
	c.mu.Lock()
	c.cc = cc
	close(c.changed)
	c.changed = make(chan struct{})
	var ss []*csession
	if cc != nil {
		for s := range c.sessions {
			ss = append(ss, s)
		}
	}
	c.mu.Unlock()
	c.fmu.Lock()
	clear(c.feat) // another core may have other modules
	c.fmu.Unlock()
	for _, s := range ss {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			s.reattach(cc)
		}()
	}
}

func (c *Client) current() *cconn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cc
}

// waitConn returns the connection, waiting for one.
func (c *Client) waitConn(ctx context.Context) (*cconn, error) {
	for {
		c.mu.Lock()
		cc, ch := c.cc, c.changed
		c.mu.Unlock()
		if cc != nil && cc.qc.Context().Err() == nil {
			return cc, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.ctx.Done():
			return nil, errClosed
		}
	}
}

// Idle reports whether the client has no session.
func (c *Client) Idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sessions) == 0
}

func (c *Client) forget(s *csession) {
	c.mu.Lock()
	if _, ok := c.sessions[s]; ok {
		delete(c.sessions, s)
		metrics.LinkSessions.WithLabelValues("edge").Dec()
	}
	c.mu.Unlock()
}

// protocolError closes a connection whose core broke the framing.
func (c *Client) protocolError(cc *cconn, reason string, err error) {
	metrics.LinkProtocolErrors.WithLabelValues("edge", reason).Inc()
	if c.logged.First(cc.core + " " + reason) {
		c.log.Warn("core broke the link protocol; connection closed", "core", cc.core, "reason", reason, "err", err)
	}
	cc.qc.CloseWithError(codeProtocol, reason)
}
