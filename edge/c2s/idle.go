package c2s

import (
	"net"
	"time"
)

// idleReader is the stream's byte source. Once the session is bound it
// pushes the read deadline forward whenever a read brings only whitespace:
// whitespace keepalives (RFC 6120 §4.6.1) keep an idle stream alive, while
// a stanza must still complete within the idle timeout of its start, so a
// client trickling bytes is cut off.
type idleReader struct {
	conn net.Conn
	idle time.Duration // 0 until the session is bound
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.conn.Read(p)
	if n > 0 && r.idle > 0 && onlySpace(p[:n]) {
		r.conn.SetReadDeadline(time.Now().Add(r.idle))
	}
	return n, err
}

func onlySpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}
