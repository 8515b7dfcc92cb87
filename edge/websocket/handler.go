// Package websocket serves XMPP over WebSocket (RFC 7395): it upgrades
// HTTP requests that offer the "xmpp" subprotocol and hands each
// connection to the client stream (edge/c2s) as a net.Conn that speaks
// the RFC 6120 byte stream, translating the one-element-per-message
// framing (<open/>, <close/>, namespaces declared on every element) in
// both directions. It owns the WebSocket handshake, framing, pings and
// close codes; it must not negotiate streams or route stanzas.
package websocket

import (
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	ws "github.com/gorilla/websocket"

	"github.com/meridian-xmpp/meridian/edge/c2s"
)

// Subprotocol is the WebSocket subprotocol of RFC 7395 §3.1.
const Subprotocol = "xmpp"

// Streams runs client streams; *c2s.Server is one.
type Streams interface {
	ServeTransport(conn net.Conn, t c2s.Transport)
}

var _ Streams = (*c2s.Server)(nil)

// Options configure a Handler.
type Options struct {
	Streams Streams
	// CheckOrigin says whether a browser page from the request's Origin
	// may connect; nil allows every origin.
	CheckOrigin func(*http.Request) bool
	// PingInterval: a ping goes out after this long without a frame from
	// the client, and the connection is dropped when another interval
	// brings nothing. 0 sends no pings.
	PingInterval time.Duration
	// MaxMessageSize bounds one message (c2s.max_stanza_size); a larger
	// one closes the connection with 1009.
	MaxMessageSize int
	// WriteTimeout bounds control frame writes.
	WriteTimeout time.Duration
	Logger       *slog.Logger
}

// Handler is the WebSocket endpoint.
type Handler struct {
	opts     Options
	log      *slog.Logger
	upgrader ws.Upgrader
}

// writeBuffers: a connection holds a write buffer only while it writes a
// message.
var writeBuffers = &sync.Pool{}

// New returns a Handler.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = 256 << 10
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	h := &Handler{opts: opts, log: opts.Logger.With("component", "websocket")}
	h.upgrader = ws.Upgrader{
		// The read buffer lives as long as the connection: keep it small
		// (gorilla's minimum is a control frame, 125 bytes); messages are
		// read through it into a pooled buffer.
		ReadBufferSize:  512,
		WriteBufferSize: 4096,
		WriteBufferPool: writeBuffers,
		Subprotocols:    []string{Subprotocol},
		// Checked in ServeHTTP, before the upgrade.
		CheckOrigin: func(*http.Request) bool { return true },
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			http.Error(w, reason.Error(), status)
		},
	}
	return h
}

// ServeHTTP upgrades the request and starts a client stream on it.
//
// A request that does not offer the xmpp subprotocol is refused with 400
// before any upgrade. RFC 7395 §3.1 requires the subprotocol in both
// handshake messages and leaves a server that will not speak it free to
// refuse the handshake (RFC 6455 §4.2.2 allows an HTTP error there);
// upgrading only to close with 1002 would call a negotiation failure a
// framing error and cost a connection for nothing.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !ws.IsWebSocketUpgrade(r) {
		http.Error(w, "expected a WebSocket upgrade (RFC 7395)", http.StatusBadRequest)
		return
	}
	if !slices.Contains(ws.Subprotocols(r), Subprotocol) {
		http.Error(w, "the xmpp WebSocket subprotocol is required (RFC 7395 §3.1)", http.StatusBadRequest)
		return
	}
	if h.opts.CheckOrigin != nil && !h.opts.CheckOrigin(r) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	c, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		h.log.Debug("upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	h.opts.Streams.ServeTransport(newConn(c, h), c2s.Transport{Name: "websocket", Secure: r.TLS != nil, TLS: r.TLS})
}
