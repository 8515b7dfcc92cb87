package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// ErrClosed is returned by Request when the stream ends first.
var ErrClosed = errors.New("client: stream closed")

// Request sends an IQ whose id is id and waits for its answer (a result
// or an error stanza: check its type). Serve must be running.
func (c *Conn) Request(ctx context.Context, id string, iq []byte) (*xmltok.Element, error) {
	ch := make(chan *xmltok.Element, 1)
	c.pmu.Lock()
	if c.served || c.closing.Load() {
		c.pmu.Unlock()
		return nil, ErrClosed
	}
	if c.pending == nil {
		c.pending = map[string]chan *xmltok.Element{}
	}
	c.pending[id] = ch
	c.pmu.Unlock()
	c.wmu.Lock()
	err := c.tr.writeElement(iq)
	if err == nil {
		err = c.tr.flush()
	}
	c.wmu.Unlock()
	if err != nil {
		c.forget(id)
		return nil, fmt.Errorf("client: request %s: %w", id, err)
	}
	select {
	case el, ok := <-ch:
		if !ok {
			return nil, ErrClosed
		}
		return el, nil
	case <-ctx.Done():
		c.forget(id)
		return nil, ctx.Err()
	}
}

func (c *Conn) forget(id string) {
	c.pmu.Lock()
	delete(c.pending, id)
	c.pmu.Unlock()
}

// Ping sends an XEP-0199 ping to the server and waits for the answer:
// every stanza the session sent before has then been processed.
func (c *Conn) Ping(ctx context.Context) error {
	id := c.NewID()
	el, err := c.Request(ctx, id, []byte("<iq xmlns='jabber:client' type='get' id='"+id+"'><ping xmlns='urn:xmpp:ping'/></iq>"))
	if err != nil {
		return err
	}
	// An error answer (a server without XEP-0199) still proves the order.
	_ = el
	return nil
}
