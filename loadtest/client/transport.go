package client

import (
	"io"
	"time"
)

// transport carries one XML stream. The decoder reads from it; elements
// are written one at a time (WebSocket frames each one) into a buffer
// that flush sends. Writes are serialised by the Conn.
type transport interface {
	io.Reader
	writeElement(b []byte) error
	flush() error
	// header and footer open and close a stream.
	header(domain string) string
	footer() string
	setDeadline(t time.Time) error
	close() error
}

// flushThreshold is the send buffer size past which writeElement sends
// without waiting for flush.
const flushThreshold = 64 << 10
