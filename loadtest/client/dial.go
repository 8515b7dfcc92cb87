package client

import (
	"context"
	"fmt"
	"time"
)

// Dial connects, secures the stream, authenticates and binds a resource.
// Errors are *Error values.
func Dial(ctx context.Context, o Options) (*Conn, error) {
	c, err := connect(ctx, &o)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := c.auth(); err != nil {
		c.tr.close()
		return nil, err
	}
	c.Timings.Auth = time.Since(start)
	start = time.Now()
	if err := c.bind(); err != nil {
		c.tr.close()
		return nil, err
	}
	c.Timings.Bind = time.Since(start)
	c.tr.setDeadline(time.Time{})
	return c, nil
}

// connect opens a secured stream and reads its features.
func connect(ctx context.Context, o *Options) (*Conn, error) {
	switch o.Transport {
	case "", StartTLS, DirectTLS:
		return connectTCP(ctx, o)
	case WebSocket:
		return connectWebSocket(ctx, o)
	case QUIC:
		return nil, failDetail(KindConnect, "no-quic", ErrNoQUIC)
	}
	return nil, failDetail(KindConnect, "transport", fmt.Errorf("unknown transport %q (want one of %v)", o.Transport, Transports))
}
