package client

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// Transports.
const (
	StartTLS  = "starttls"  // TCP, then STARTTLS (RFC 6120 §5)
	DirectTLS = "tls"       // TLS from the first byte (XEP-0368)
	WebSocket = "websocket" // RFC 7395, subprotocol "xmpp"
	QUIC      = "quic"      // not offered by any server yet
)

// Transports lists the transport names Dial knows.
var Transports = []string{StartTLS, DirectTLS, WebSocket, QUIC}

// Options describe one connection.
type Options struct {
	Addr      string // host:port of the server (TCP transports)
	Domain    string // the XMPP domain (stream 'to', TLS server name)
	Transport string // StartTLS (default), DirectTLS, WebSocket, QUIC
	// WSURL is the WebSocket endpoint (ws:// or wss://); by default
	// ws://Addr/xmpp-websocket.
	WSURL     string
	LocalIP   net.IP // source address; nil lets the kernel choose
	User      string // localpart
	Password  string
	Mechanism string // PLAIN (default), SCRAM-SHA-1, SCRAM-SHA-256
	Resource  string // default "load"
	Timeout   time.Duration
	// Dial opens the TCP connection; by default a net.Dialer bound to
	// LocalIP. Tests use it to inject delays on the connect path.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLS is the client TLS configuration; by default certificates are
	// not verified (load targets use self-signed ones) and the server
	// name is Domain.
	TLS *tls.Config
}

const defaultTimeout = 30 * time.Second

// writeTimeout bounds one flush: a server that stops reading for this
// long is treated as gone.
const writeTimeout = 10 * time.Second

func (o *Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return defaultTimeout
}

func (o *Options) dial(ctx context.Context, addr string) (net.Conn, error) {
	if o.Dial != nil {
		return o.Dial(ctx, "tcp", addr)
	}
	d := net.Dialer{Timeout: o.timeout()}
	if o.LocalIP != nil {
		d.LocalAddr = &net.TCPAddr{IP: o.LocalIP}
	}
	return d.DialContext(ctx, "tcp", addr)
}

func (o *Options) tlsConfig(alpn ...string) *tls.Config {
	if o.TLS != nil {
		c := o.TLS.Clone()
		if len(alpn) > 0 && len(c.NextProtos) == 0 {
			c.NextProtos = alpn
		}
		return c
	}
	// No session cache: every load client pays for a full handshake,
	// as a fresh client would.
	return &tls.Config{ServerName: o.Domain, InsecureSkipVerify: true, NextProtos: alpn}
}

// Timings are the durations of a login's steps.
type Timings struct {
	// Connect: the TCP connection (and, for WebSocket, the HTTP upgrade).
	Connect time.Duration
	// TLS: STARTTLS request and proceed plus the TLS handshake, or the
	// handshake alone for direct TLS and wss://.
	TLS time.Duration
	// Auth: the SASL exchange through the restarted stream's features.
	Auth time.Duration
	// Bind: resource binding, and the session IQ when required.
	Bind time.Duration
}
