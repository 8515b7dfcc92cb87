// Package quic carries the link interface (link.Core, link.Session,
// link.Sink) between an edge and a core over QUIC with mutual TLS from the
// cluster CA: Client is the edge end (a link.Core that dials cores and
// fails over between them), Server the core end (it accepts edges and
// calls a real link.Core). The framing is package wire; the protocol and
// its guarantees are described in docs/architecture.md ("Edge link"). It
// must not know what a core does with a stanza, nor how an edge talks to
// its clients.
package quic

import (
	"errors"
	"time"

	quicgo "github.com/quic-go/quic-go"
)

// Application error codes of a link connection (QUIC CONNECTION_CLOSE)
// and of its streams (RESET_STREAM, STOP_SENDING).
const (
	codeNoError  quicgo.ApplicationErrorCode = 0x0
	codeProtocol quicgo.ApplicationErrorCode = 0x1 // the peer broke the framing
	codeShutdown quicgo.ApplicationErrorCode = 0x2 // this end is going away
	codeVersion  quicgo.ApplicationErrorCode = 0x3 // unsupported protocol version

	codeStreamDone quicgo.StreamErrorCode = 0x10 // the session ended
)

// Control request methods.
const (
	methodCredentials    = 1
	methodVerifyPassword = 2
	methodPreAuth        = 3
	methodStreamFeatures = 4
	methodCluster        = 5 // core to core: an opaque request for link.ClusterHandler
)

func methodName(m byte) string {
	switch m {
	case methodCredentials:
		return "credentials"
	case methodVerifyPassword:
		return "verify_password"
	case methodPreAuth:
		return "pre_auth"
	case methodStreamFeatures:
		return "stream_features"
	case methodCluster:
		return "cluster"
	}
	return "unknown"
}

// Response statuses.
const (
	statusOK          = 0
	statusUnknownUser = 1 // sasl.ErrUnknownUser
	statusError       = 2 // an error message follows
)

// Defaults.
const (
	// DefaultWindow is how many stanzas one session may have in flight
	// unacknowledged in one direction. An edge's Handle waits for room
	// (the client's reader stops, so TCP pushes back on the client); a
	// core's Deliver returns false (the slow-consumer policy).
	DefaultWindow = 1024
	// maxRequests bounds the control requests a core serves at once for
	// one edge; past it the control stream is not read.
	maxRequests = 256
	// MaxSessionsPerConn bounds concurrent session streams per connection.
	MaxSessionsPerConn = 1 << 20
)

var (
	errConnLost = errors.New("link: connection to the core lost")
	errClosed   = errors.New("link: closed")
)

func quicConfig(idle time.Duration) *quicgo.Config {
	if idle <= 0 {
		idle = 10 * time.Second
	}
	return &quicgo.Config{
		MaxIdleTimeout:        idle,
		KeepAlivePeriod:       idle / 3,
		MaxIncomingStreams:    MaxSessionsPerConn,
		MaxIncomingUniStreams: -1, // the link uses no unidirectional streams
		HandshakeIdleTimeout:  5 * time.Second,
	}
}
