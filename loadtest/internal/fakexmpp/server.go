// Package fakexmpp is a minimal XMPP server for the load harness's own
// tests and benchmarks: over direct TLS or WebSocket (RFC 7395) it
// accepts any SASL PLAIN login, binds the requested resource, answers
// every IQ with an empty result and forwards messages to the addressed
// user's session byte for byte, batching writes. It does as little as
// possible so that it keeps up with the harness. Tests only.
package fakexmpp

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/meridian-xmpp/meridian/internal/certs"
)

// Server routes messages between the sessions of its users.
type Server struct {
	// RequireSession advertises the legacy session feature without
	// <optional/> (RFC 3921 §3), as some Prosody and ejabberd
	// configurations do; Sessions counts the session IQs answered.
	RequireSession bool
	Sessions       atomic.Int64
	// Forwarded and Dropped count messages.
	Forwarded, Dropped atomic.Int64

	tls *tls.Config

	mu     sync.Mutex
	routes map[string]*session // bare JID → session
}

// New returns a server with a fresh self-signed certificate.
func New() (*Server, error) {
	certPEM, keyPEM, err := certs.Generate([]string{"localhost"})
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &Server{
		tls:    &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"xmpp-client"}},
		routes: map[string]*session{},
	}, nil
}

// ServeTLS accepts direct TLS (XEP-0368) connections until ln closes.
func (s *Server) ServeTLS(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go s.serve(newTCPStream(tls.Server(c, s.tls)))
	}
}

// WebSocket returns the RFC 7395 endpoint handler.
func (s *Server) WebSocket() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := upgrade(w, r)
		if err != nil {
			return
		}
		s.serve(st)
	})
}

func (s *Server) route(bare string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.routes[bare]
}

func (s *Server) add(bare string, ss *session) {
	s.mu.Lock()
	s.routes[bare] = ss
	s.mu.Unlock()
}

func (s *Server) remove(bare string, ss *session) {
	s.mu.Lock()
	if s.routes[bare] == ss {
		delete(s.routes, bare)
	}
	s.mu.Unlock()
}

func bareJID(j string) string {
	if i := strings.IndexByte(j, '/'); i >= 0 {
		return j[:i]
	}
	return j
}
