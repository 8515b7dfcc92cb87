package quic

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/meridian-xmpp/meridian/internal/logonce"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/link/wire"
)

// ServerOptions configures the core end of the link.
type ServerOptions struct {
	Core   link.Core
	TLS    *tls.Config // from ca.Node.ServerConfig
	Name   string      // this core's node name, sent in Welcome
	Logger *slog.Logger
	// Window bounds a session's unacknowledged deliveries; past it
	// Deliver returns false. 0: DefaultWindow.
	Window int
	// MaxFrame bounds a frame from an edge. 0: wire.DefaultMaxFrame.
	MaxFrame int
	// IdleTimeout ends a connection that hears nothing (keep-alives are
	// sent at a third of it). 0: 10 s.
	IdleTimeout time.Duration
}

// Server is the core end of the link: it accepts edge connections on a
// packet connection it is given and serves them with a link.Core.
type Server struct {
	o      ServerOptions
	log    *slog.Logger
	logged logonce.Set

	mu     sync.Mutex
	ln     *quicgo.Listener
	conns  map[*sconn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewServer returns a server; Serve starts it.
func NewServer(o ServerOptions) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	return &Server{o: o, log: o.Logger.With("component", "link", "role", "core"), conns: map[*sconn]struct{}{}}
}

// Serve accepts edges on pc until Close. It returns nil after Close.
func (s *Server) Serve(pc net.PacketConn) error {
	ln, err := quicgo.Listen(pc, s.o.TLS, quicConfig(s.o.IdleTimeout))
	if err != nil {
		return fmt.Errorf("link: listen: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.ln = ln
	s.mu.Unlock()
	for {
		qc, err := ln.Accept(context.Background())
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			return fmt.Errorf("link: accept: %w", err)
		}
		c := &sconn{s: s, qc: qc, peer: peerOf(qc), name: peerName(qc), sessions: map[*ssession]struct{}{}}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			qc.CloseWithError(codeShutdown, "shutting down")
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Close stops accepting, closes every edge connection (their sessions are
// ended here and the edges move them to another core) and waits for the
// connections' goroutines. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	ln := s.ln
	var cs []*sconn
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range cs {
		c.qc.CloseWithError(codeShutdown, "shutting down")
	}
	s.wg.Wait()
	return nil
}

// peerName is the peer's node name: its certificate's common name, which
// the cluster CA vouches for.
func peerName(qc *quicgo.Conn) string {
	if cs := qc.ConnectionState().TLS; len(cs.PeerCertificates) > 0 {
		return cs.PeerCertificates[0].Subject.CommonName
	}
	return ""
}

// peerOf names the peer for logs: name@address.
func peerOf(qc *quicgo.Conn) string {
	if n := peerName(qc); n != "" {
		return n + "@" + qc.RemoteAddr().String()
	}
	return qc.RemoteAddr().String()
}

// sconn is one edge's connection at the core.
type sconn struct {
	s    *Server
	qc   *quicgo.Conn
	peer string // name@address, for logs
	name string // node name from the peer's certificate

	wmu  sync.Mutex // control stream writes
	ctrl *quicgo.Stream

	mu       sync.Mutex
	sessions map[*ssession]struct{}
	wg       sync.WaitGroup
	ack      acker
	w        *connWriter // session streams
}

func (c *sconn) serve() {
	metrics.LinkConnections.WithLabelValues("core").Inc()
	defer metrics.LinkConnections.WithLabelValues("core").Dec()
	log := c.s.log.With("peer", c.peer)
	log.Info("edge connected")
	ctx := c.qc.Context()
	c.w = newConnWriter()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.w.run(ctx.Done())
	}()
	for {
		str, err := c.qc.AcceptStream(ctx)
		if err != nil {
			break
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.serveStream(str)
		}()
	}
	c.wg.Wait()
	log.Info("edge disconnected", "cause", context.Cause(ctx))
}

// protocolError closes the connection: a peer that breaks the framing is
// not trusted with any of its sessions. Counted; logged once per peer
// and reason.
func (c *sconn) protocolError(reason string, err error) {
	metrics.LinkProtocolErrors.WithLabelValues("core", reason).Inc()
	host := c.qc.RemoteAddr().String()
	if h, _, e := net.SplitHostPort(host); e == nil {
		host = h
	}
	if c.s.logged.First(host + " " + reason) {
		c.s.log.Warn("edge broke the link protocol; connection closed", "peer", c.peer, "reason", reason, "err", err)
	}
	c.qc.CloseWithError(codeProtocol, reason)
}

// serveStream reads the first frame of a stream, which says what it is.
func (c *sconn) serveStream(str *quicgo.Stream) {
	r := wire.NewReader(str, c.s.o.MaxFrame)
	t, p, err := r.Next()
	if err != nil {
		if isFraming(err) {
			c.protocolError("framing", err)
		}
		str.CancelRead(codeStreamDone)
		str.CancelWrite(codeStreamDone)
		return
	}
	switch t {
	case wire.Hello:
		c.serveControl(str, r, p)
	case wire.Open:
		c.serveSession(str, r, p)
	default:
		c.protocolError("unexpected_frame", fmt.Errorf("link: %s opens a stream", t))
	}
}

func isFraming(err error) bool {
	return errors.Is(err, wire.ErrTooLarge) || errors.Is(err, wire.ErrEmpty)
}
