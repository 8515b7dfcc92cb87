package quic

import (
	"errors"
	"fmt"

	quicgo "github.com/quic-go/quic-go"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/link/wire"
	"github.com/meridian-xmpp/meridian/xmpp/sasl"
)

// serveControl answers Hello, then serves requests, each in its own
// goroutine (a password check must not hold up a features lookup), at
// most maxRequests at once.
func (c *sconn) serveControl(str *quicgo.Stream, r *wire.Reader, hello []byte) {
	c.mu.Lock()
	dup := c.ctrl != nil
	c.ctrl = str
	c.mu.Unlock()
	if dup {
		c.protocolError("second_control_stream", errors.New("link: a second Hello"))
		return
	}
	v, _, err := wire.DecodeHello(hello)
	if err != nil {
		c.protocolError("bad_payload", err)
		return
	}
	if v != wire.Version {
		metrics.LinkProtocolErrors.WithLabelValues("core", "version").Inc()
		c.qc.CloseWithError(codeVersion, fmt.Sprintf("version %d, want %d", v, wire.Version))
		return
	}
	c.write(wire.AppendHello(nil, wire.Welcome, c.s.o.Name))
	sem := make(chan struct{}, maxRequests)
	for {
		t, p, err := r.Next()
		if err != nil {
			if isFraming(err) {
				c.protocolError("framing", err)
			}
			return
		}
		if t != wire.Request {
			c.protocolError("unexpected_frame", fmt.Errorf("link: %s on the control stream", t))
			return
		}
		d := wire.NewDec(p)
		id := d.Uvarint()
		m := d.Byte()
		if d.Err() != nil {
			c.protocolError("bad_payload", d.Err())
			return
		}
		sem <- struct{}{}
		c.wg.Add(1)
		go func() {
			defer func() { <-sem; c.wg.Done() }()
			out, err := c.request(id, m, d)
			if err != nil {
				c.protocolError("bad_payload", err)
				return
			}
			c.write(out)
		}()
	}
}

func (c *sconn) write(b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ctrl.Write(b) // a failed write means the connection is going; its context ends the rest
}

// request runs one method and encodes the Response frame. An error is a
// malformed request.
func (c *sconn) request(id uint64, m byte, d *wire.Dec) ([]byte, error) {
	ctx := c.qc.Context()
	core := c.s.o.Core
	buf, start := wire.Begin(nil, wire.Response)
	buf = wire.AppendUvarint(buf, id)
	result := "ok"
	fail := func(err error) {
		result = "error"
		if errors.Is(err, sasl.ErrUnknownUser) {
			buf = append(buf, statusUnknownUser)
			return
		}
		buf = append(buf, statusError)
		buf = wire.AppendString(buf, err.Error())
	}
	switch m {
	case methodCredentials:
		domain, user, hash := d.String(), d.String(), d.String()
		if d.Err() != nil {
			return nil, d.Err()
		}
		cr, err := core.Credentials(ctx, domain, user, hash)
		if err != nil {
			fail(err)
			break
		}
		buf = append(buf, statusOK)
		buf = wire.AppendBytes(buf, cr.Salt)
		buf = wire.AppendUvarint(buf, uint64(cr.Iterations))
		buf = wire.AppendBytes(buf, cr.StoredKey)
		buf = wire.AppendBytes(buf, cr.ServerKey)
	case methodVerifyPassword:
		domain, user, pass := d.String(), d.String(), d.String()
		if d.Err() != nil {
			return nil, d.Err()
		}
		ok, err := core.VerifyPassword(ctx, domain, user, pass)
		if err != nil {
			fail(err)
			break
		}
		buf = append(buf, statusOK, b2i(ok))
	case methodPreAuth:
		pc := link.PreAuthClient{Domain: d.String(), RemoteAddr: d.String(), Secure: d.Byte() == 1}
		iq, err := wire.DecodeStanzaValue(d)
		if err != nil {
			return nil, err
		}
		if iq == nil {
			return nil, errors.New("link: PreAuth without a stanza")
		}
		reply := core.PreAuth(ctx, pc, iq)
		buf = append(buf, statusOK)
		buf = wire.AppendStanzaValue(buf, reply)
	case methodStreamFeatures:
		domain, pre := d.String(), d.Byte() == 1
		if d.Err() != nil {
			return nil, d.Err()
		}
		els := core.StreamFeatures(domain, pre)
		buf = append(buf, statusOK)
		buf = wire.AppendUvarint(buf, uint64(len(els)))
		for _, el := range els {
			buf = wire.AppendString(buf, el.String())
		}
	case methodCluster:
		req := d.Bytes()
		if d.Err() != nil {
			return nil, d.Err()
		}
		h, ok := core.(link.ClusterHandler)
		if !ok {
			fail(errors.New("not a cluster core"))
			break
		}
		res, err := h.Cluster(ctx, c.name, req)
		if err != nil {
			fail(err)
			break
		}
		buf = append(buf, statusOK)
		buf = wire.AppendBytes(buf, res)
	default:
		return nil, fmt.Errorf("link: unknown method %d", m)
	}
	metrics.LinkRequests.WithLabelValues(methodName(m), result).Inc()
	return wire.Finish(buf, start), nil
}

func b2i(b bool) byte {
	if b {
		return 1
	}
	return 0
}
