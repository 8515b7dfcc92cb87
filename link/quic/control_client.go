package quic

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	quicgo "github.com/quic-go/quic-go"

	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/link/wire"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/sasl"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// cconn is the edge's connection to one core.
type cconn struct {
	c        *Client
	qc       *quicgo.Conn
	core     string
	ctrl     *quicgo.Stream
	readDone chan struct{}
	w        *connWriter // session streams

	wmu sync.Mutex

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan []byte
	dead    bool
}

// handshake opens the control stream: Hello, then Welcome.
func handshake(ctx context.Context, qc *quicgo.Conn, c *Client) (*cconn, error) {
	str, err := qc.OpenStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := str.Write(wire.AppendHello(nil, wire.Hello, c.o.Name)); err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		str.SetReadDeadline(dl)
	}
	r := wire.NewReader(str, c.o.MaxFrame)
	t, p, err := r.Next()
	if err != nil {
		return nil, err
	}
	str.SetReadDeadline(time.Time{})
	if t != wire.Welcome {
		return nil, fmt.Errorf("link: core answered Hello with %s", t)
	}
	v, name, err := wire.DecodeHello(p)
	if err != nil {
		return nil, err
	}
	if v != wire.Version {
		return nil, fmt.Errorf("link: core speaks version %d", v)
	}
	cc := &cconn{c: c, qc: qc, core: name, ctrl: str, readDone: make(chan struct{}), w: newConnWriter(), pending: map[uint64]chan []byte{}}
	go cc.w.run(qc.Context().Done())
	go cc.readControl(r)
	return cc, nil
}

// readControl hands responses to their callers; when the stream ends,
// every waiting caller learns the connection is gone.
func (cc *cconn) readControl(r *wire.Reader) {
	defer close(cc.readDone)
	defer func() {
		cc.mu.Lock()
		cc.dead = true
		for id, ch := range cc.pending {
			close(ch)
			delete(cc.pending, id)
		}
		cc.mu.Unlock()
	}()
	for {
		t, p, err := r.Next()
		if err != nil {
			if isFraming(err) {
				cc.c.protocolError(cc, "framing", err)
			}
			cc.qc.CloseWithError(codeNoError, "control stream ended")
			return
		}
		if t != wire.Response {
			cc.c.protocolError(cc, "unexpected_frame", fmt.Errorf("link: %s on the control stream", t))
			return
		}
		d := wire.NewDec(p)
		id := d.Uvarint()
		if d.Err() != nil {
			cc.c.protocolError(cc, "bad_payload", d.Err())
			return
		}
		cc.mu.Lock()
		ch := cc.pending[id]
		delete(cc.pending, id)
		cc.mu.Unlock()
		if ch != nil {
			ch <- d.Rest()
		}
	}
}

// call sends a request and waits for its response (the payload after the
// id); errConnLost when the connection ends first.
func (cc *cconn) call(ctx context.Context, method byte, args []byte) (*wire.Dec, error) {
	ch := make(chan []byte, 1)
	cc.mu.Lock()
	if cc.dead {
		cc.mu.Unlock()
		return nil, errConnLost
	}
	cc.nextID++
	id := cc.nextID
	cc.pending[id] = ch
	cc.mu.Unlock()
	buf, start := wire.Begin(make([]byte, 0, 16+len(args)), wire.Request)
	buf = wire.AppendUvarint(buf, id)
	buf = append(buf, method)
	buf = wire.Finish(append(buf, args...), start)
	cc.wmu.Lock()
	_, err := cc.ctrl.Write(buf)
	cc.wmu.Unlock()
	if err != nil {
		return nil, errConnLost
	}
	select {
	case p, ok := <-ch:
		if !ok {
			return nil, errConnLost
		}
		return wire.NewDec(p), nil
	case <-ctx.Done():
		cc.mu.Lock()
		delete(cc.pending, id)
		cc.mu.Unlock()
		return nil, ctx.Err()
	}
}

// call runs a request on the current connection; a request cut by a lost
// connection is sent again on the next (retry) or fails.
func (c *Client) call(ctx context.Context, method byte, args []byte, retry bool) (*wire.Dec, error) {
	for {
		cc, err := c.waitConn(ctx)
		if err != nil {
			return nil, err
		}
		d, err := cc.call(ctx, method, args)
		if errors.Is(err, errConnLost) && retry {
			continue
		}
		return d, err
	}
}

// status reads a response's status and turns failures into errors.
func status(d *wire.Dec) error {
	switch d.Byte() {
	case statusOK:
		return d.Err()
	case statusUnknownUser:
		return sasl.ErrUnknownUser
	case statusError:
		return fmt.Errorf("link: core: %s", d.String())
	}
	if d.Err() != nil {
		return d.Err()
	}
	return errors.New("link: unknown response status")
}

// Credentials implements link.Core.
func (c *Client) Credentials(ctx context.Context, domain, username, hash string) (sasl.Credentials, error) {
	args := wire.AppendString(nil, domain)
	args = wire.AppendString(args, username)
	args = wire.AppendString(args, hash)
	d, err := c.call(ctx, methodCredentials, args, true)
	if err != nil {
		return sasl.Credentials{}, err
	}
	if err := status(d); err != nil {
		return sasl.Credentials{}, err
	}
	cr := sasl.Credentials{Salt: clone(d.Bytes()), Iterations: int(d.Uvarint()), StoredKey: clone(d.Bytes()), ServerKey: clone(d.Bytes())}
	return cr, d.Err()
}

// Cluster sends an opaque request to the core's link.ClusterHandler (the
// cores of a region use the link among themselves) and returns its
// answer. A request cut by a lost connection is not sent again: the
// caller decides.
func (c *Client) Cluster(ctx context.Context, req []byte) ([]byte, error) {
	d, err := c.call(ctx, methodCluster, wire.AppendBytes(nil, req), false)
	if err != nil {
		return nil, err
	}
	if err := status(d); err != nil {
		return nil, err
	}
	res := clone(d.Bytes())
	return res, d.Err()
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

// VerifyPassword implements link.Core.
func (c *Client) VerifyPassword(ctx context.Context, domain, username, password string) (bool, error) {
	args := wire.AppendString(nil, domain)
	args = wire.AppendString(args, username)
	args = wire.AppendString(args, password)
	d, err := c.call(ctx, methodVerifyPassword, args, true)
	if err != nil {
		return false, err
	}
	if err := status(d); err != nil {
		return false, err
	}
	ok := d.Byte() == 1
	return ok, d.Err()
}

// PreAuth implements link.Core. It is not retried on another core (an
// in-band registration is not idempotent): a lost connection answers
// <service-unavailable/>.
func (c *Client) PreAuth(ctx context.Context, pc link.PreAuthClient, iq *stanza.Stanza) *stanza.Stanza {
	args := wire.AppendString(nil, pc.Domain)
	args = wire.AppendString(args, pc.RemoteAddr)
	args = append(args, b2i(pc.Secure))
	args = wire.AppendStanzaValue(args, iq)
	d, err := c.call(ctx, methodPreAuth, args, false)
	if err == nil {
		err = status(d)
	}
	var reply *stanza.Stanza
	if err == nil {
		reply, err = wire.DecodeStanzaValue(d)
	}
	if err != nil {
		from, _ := jid.Parse(pc.Domain)
		return stanza.ErrorReply(iq, stanza.ErrServiceUnavailable, from)
	}
	return reply
}

// StreamFeatures implements link.Core. Answers are cached for
// FeaturesTTL per domain (and cleared when the edge changes core): they
// are asked for on every stream and change only with configuration.
func (c *Client) StreamFeatures(domain string, preAuth bool) []*xmltok.Element {
	k := featKey{domain, preAuth}
	c.fmu.Lock()
	e, ok := c.feat[k]
	c.fmu.Unlock()
	if !ok || time.Since(e.at) > c.o.FeaturesTTL {
		ctx, cancel := context.WithTimeout(c.ctx, c.o.RequestTimeout)
		els, err := c.fetchFeatures(ctx, domain, preAuth)
		cancel()
		if err != nil {
			if c.logged.First("features " + err.Error()) {
				c.log.Warn("stream features unavailable", "domain", domain, "err", err)
			}
			if !ok {
				return nil
			}
		} else {
			e = featEntry{els: els, at: time.Now()}
			c.fmu.Lock()
			c.feat[k] = e
			c.fmu.Unlock()
		}
	}
	out := make([]*xmltok.Element, 0, len(e.els))
	for _, s := range e.els {
		if el, err := xmltok.Parse([]byte(s), "", nil); err == nil {
			out = append(out, el)
		}
	}
	return out
}

func (c *Client) fetchFeatures(ctx context.Context, domain string, preAuth bool) ([]string, error) {
	args := wire.AppendString(nil, domain)
	args = append(args, b2i(preAuth))
	d, err := c.call(ctx, methodStreamFeatures, args, true)
	if err != nil {
		return nil, err
	}
	if err := status(d); err != nil {
		return nil, err
	}
	n := d.Uvarint()
	var els []string
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		els = append(els, d.String())
	}
	return els, d.Err()
}
