package client

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// tcpTransport is a TCP stream, plain until STARTTLS or TLS from the start.
type tcpTransport struct {
	nc  net.Conn
	out []byte
}

func (t *tcpTransport) Read(p []byte) (int, error) { return t.nc.Read(p) }

func (t *tcpTransport) writeElement(b []byte) error {
	t.out = append(t.out, b...)
	if len(t.out) >= flushThreshold {
		return t.flush()
	}
	return nil
}

func (t *tcpTransport) flush() error {
	if len(t.out) == 0 {
		return nil
	}
	t.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := t.nc.Write(t.out)
	if cap(t.out) > 4*flushThreshold {
		t.out = nil // a burst grew it: give the memory back
	} else {
		t.out = t.out[:0]
	}
	return err
}

func (t *tcpTransport) header(domain string) string {
	return "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" + domain + "' version='1.0'>"
}

func (t *tcpTransport) footer() string { return "</stream:stream>" }

func (t *tcpTransport) setDeadline(d time.Time) error { return t.nc.SetDeadline(d) }
func (t *tcpTransport) close() error                  { return t.nc.Close() }

// handshake secures the connection and returns how long the TLS
// handshake took.
func (t *tcpTransport) handshake(ctx context.Context, cfg *tls.Config) (time.Duration, error) {
	start := time.Now()
	tc := tls.Client(t.nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return 0, err
	}
	t.nc = tc
	return time.Since(start), nil
}

// connectTCP opens the stream over TCP: direct TLS or STARTTLS.
func connectTCP(ctx context.Context, o *Options) (*Conn, error) {
	start := time.Now()
	nc, err := o.dial(ctx, o.Addr)
	if err != nil {
		return nil, fail(KindConnect, err)
	}
	c := newConn(o, &tcpTransport{nc: nc})
	c.Timings.Connect = time.Since(start)
	c.tr.setDeadline(time.Now().Add(o.timeout()))
	tr := c.tr.(*tcpTransport)
	if o.Transport == DirectTLS {
		d, err := tr.handshake(ctx, o.tlsConfig("xmpp-client"))
		if err != nil {
			nc.Close()
			return nil, fail(KindTLS, err)
		}
		c.Timings.TLS = d
		c.dec.Reset(tr)
		if err := c.open(); err != nil {
			c.tr.close()
			return nil, err
		}
		return c, nil
	}
	if err := c.open(); err != nil {
		nc.Close()
		return nil, err
	}
	if c.Features.Child(nsTLS, "starttls") == nil {
		nc.Close()
		return nil, failDetail(KindTLS, "not-offered", errors.New("the server offers no STARTTLS"))
	}
	// RFC 6120 §5.4.2: request, proceed, handshake.
	start = time.Now()
	if err := c.sendNow("<starttls xmlns='" + nsTLS + "'/>"); err != nil {
		nc.Close()
		return nil, fail(KindTLS, err)
	}
	el, err := c.nextElement()
	if err != nil {
		nc.Close()
		return nil, fail(KindTLS, err)
	}
	if el.Local != "proceed" {
		nc.Close()
		return nil, failDetail(KindTLS, "refused", errors.New("STARTTLS answered with <"+el.Local+"/>"))
	}
	if _, err := tr.handshake(ctx, o.tlsConfig()); err != nil {
		nc.Close()
		return nil, fail(KindTLS, err)
	}
	c.Timings.TLS = time.Since(start)
	c.dec.Reset(tr)
	if err := c.open(); err != nil {
		c.tr.close()
		return nil, err
	}
	return c, nil
}
