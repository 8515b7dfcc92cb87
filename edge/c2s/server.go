// Package c2s is the client-to-server edge: it accepts client connections
// (TCP with STARTTLS, direct TLS per XEP-0368, or any net.Conn a transport
// hands it), negotiates the stream (RFC 6120 §4–§7: TLS, SASL, resource
// binding), then relays stanzas between the client and a link.Core. It
// owns the connection's reader and writer; it must not route stanzas or
// know about modules and storage.
package c2s

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Options configure a Server.
type Options struct {
	Core   link.Core
	Logger *slog.Logger
	// TLS is the server TLS configuration (certificates by SNI). Required.
	TLS *tls.Config
	// Domains are the served domains; the first is the default for
	// streams without a to.
	Domains         []string
	RequireStartTLS bool
	// Mechanisms offered, in order of preference; -PLUS variants only
	// over TLS 1.3 and PLAIN only over TLS.
	Mechanisms        []string
	Limits            xmltok.Limits
	HandshakeTimeout  time.Duration
	IdleTimeout       time.Duration
	KeepaliveInterval time.Duration
	WriteTimeout      time.Duration
	SendQueue         int
	// MaxAuthFailures closes the stream after that many failed SASL
	// attempts (RFC 6120 §6.4.5); default 3.
	MaxAuthFailures int
	// ResumeTimeout is how long a stream-managed session whose connection
	// was lost waits to be resumed (XEP-0198); 0 offers no resumption.
	ResumeTimeout time.Duration
	// MaxUnacked bounds the stanzas a stream-managed session keeps
	// unacknowledged; past it the session ends and the core routes them
	// again. Default 5000.
	MaxUnacked int
}

// Server accepts client streams.
type Server struct {
	opts    Options
	log     *slog.Logger
	domains map[string]bool

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*stream]struct{}
	resumable map[string]*binding // stream-managed sessions by resumption id
	closing   bool
	draining  bool          // Drain began: no new streams (drain.go)
	stop      chan struct{} // closed by Shutdown: ends the keepalive sweeper
	wg        sync.WaitGroup
}

// New returns a Server.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SendQueue <= 0 {
		opts.SendQueue = 1024
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = 60 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	if opts.MaxAuthFailures <= 0 {
		opts.MaxAuthFailures = 3
	}
	if opts.MaxUnacked <= 0 {
		opts.MaxUnacked = 5000
	}
	if len(opts.Mechanisms) == 0 {
		opts.Mechanisms = []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}
	}
	s := &Server{
		opts:      opts,
		log:       opts.Logger.With("component", "c2s"),
		domains:   map[string]bool{},
		listeners: map[net.Listener]struct{}{},
		conns:     map[*stream]struct{}{},
		resumable: map[string]*binding{},
	}
	for _, d := range opts.Domains {
		s.domains[d] = true
	}
	s.stop = make(chan struct{})
	if opts.KeepaliveInterval > 0 {
		go s.keepalives(opts.KeepaliveInterval)
	}
	return s
}

// keepalives sends whitespace on every bound stream that wrote nothing for
// the interval: one sweeper for the node instead of a timer per stream.
func (s *Server) keepalives(interval time.Duration) {
	t := time.NewTicker(max(interval/4, 100*time.Millisecond))
	defer t.Stop()
	var ws []*writer
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			ws = ws[:0]
			s.mu.Lock()
			for c := range s.conns {
				if w := c.writer(); w != nil {
					ws = append(ws, w)
				}
			}
			s.mu.Unlock()
			for _, w := range ws {
				w.keepalive(now, interval)
			}
		}
	}
}

// Serve accepts connections on ln until it is closed. directTLS makes
// every connection start with a TLS handshake (XEP-0368).
func (s *Server) Serve(ln net.Listener, directTLS bool) error {
	s.mu.Lock()
	if s.closing || s.draining {
		s.mu.Unlock()
		ln.Close()
		return net.ErrClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// Out of file descriptors and the like: back off.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		s.ServeConn(conn, directTLS)
	}
}

// ServeConn runs one client stream on conn in its own goroutines. Any
// net.Conn works: a TCP connection, a net.Pipe end in tests.
func (s *Server) ServeConn(conn net.Conn, directTLS bool) {
	transport := "tcp"
	if directTLS {
		transport = "tls"
	}
	s.serve(newStream(s, conn, transport), directTLS)
}

// Transport describes a connection handed over by a transport that frames
// XMPP its own way (WebSocket, BOSH) and presents it to the stream as the
// plain byte stream of RFC 6120: it reads a stream header, stanzas and a
// closing tag, and writes what a TCP client would receive.
type Transport struct {
	// Name labels the connection in metrics and logs ("websocket", "bosh").
	Name string
	// Secure: the transport is encrypted below the stream (HTTPS). Such a
	// stream offers no STARTTLS either way, and PLAIN only when secure.
	Secure bool
	// TLS is the encrypted connection's state, for channel binding; nil
	// when there is none or it must not be bound to.
	TLS *tls.ConnectionState
}

// ServeTransport runs one client stream on a transport's connection; it
// returns at once, like ServeConn. The stream's closing tag reaches the
// transport as a write of "</stream:stream>" and the connection is closed
// after it.
func (s *Server) ServeTransport(conn net.Conn, t Transport) {
	st := newStream(s, conn, t.Name)
	st.framed, st.secure, st.tlsState = true, t.Secure, t.TLS
	s.serve(st, false)
}

func (s *Server) serve(st *stream, directTLS bool) {
	conn, transport := st.conn, st.transport
	s.mu.Lock()
	if s.closing || s.draining {
		s.mu.Unlock()
		conn.Close()
		return
	}
	s.conns[st] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	metrics.ConnectionsTotal.WithLabelValues(transport).Inc()
	metrics.Connections.WithLabelValues(transport).Inc()
	done := func() {
		s.mu.Lock()
		delete(s.conns, st)
		s.mu.Unlock()
		metrics.Connections.WithLabelValues(transport).Dec()
		s.wg.Done()
	}
	go func() {
		if !st.open(directTLS) {
			done()
			return
		}
		// The session is served on a fresh goroutine: the TLS handshake
		// and SASL grew this one's stack, and an idle session should hold
		// only what reading needs.
		go func() {
			defer done()
			defer st.finish()
			st.serve()
		}()
	}()
}

// Shutdown stops accepting, ends every stream with <system-shutdown/> and
// waits for them until ctx ends. It is idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closing {
		close(s.stop)
	}
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	conns := make([]*stream, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.shutdown()
	}
	// Sessions waiting for a resumption end now: what they hold goes to
	// the core while it still runs.
	s.mu.Lock()
	waiting := make([]*binding, 0, len(s.resumable))
	for _, b := range s.resumable {
		waiting = append(waiting, b)
	}
	s.mu.Unlock()
	for _, b := range waiting {
		b.endDetached()
	}
	if s.waitStreams(ctx) {
		return nil
	}
	s.mu.Lock()
	for c := range s.conns {
		c.conn.Close()
	}
	s.mu.Unlock()
	return ctx.Err()
}

// Count returns the number of open streams.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
