package cluster

import (
	"context"
	"time"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// parked is a stanza whose recipient's session is on a core that is not
// a peer: one that failed (its edges are moving the session to another
// core) or one this core has not seen join yet.
type parked struct {
	st    *stanza.Stanza
	until time.Time
}

func (c *Cluster) park(st *stanza.Stanza) {
	metrics.ClusterForwards.WithLabelValues("parked").Inc()
	c.lmu.Lock()
	c.limbo = append(c.limbo, parked{st: st, until: time.Now().Add(c.o.Grace)})
	c.lmu.Unlock()
	c.kick()
}

func (c *Cluster) parkedAny() bool {
	c.lmu.Lock()
	defer c.lmu.Unlock()
	return len(c.limbo) > 0
}

func (c *Cluster) kick() {
	select {
	case c.lwake <- struct{}{}:
	default:
	}
}

func (c *Cluster) takeLimbo() []parked {
	c.lmu.Lock()
	defer c.lmu.Unlock()
	l := c.limbo
	c.limbo = nil
	return l
}

// limboLoop resolves parked stanzas in order: each goes to the live core
// that holds its recipient's session now, or is handled here when the
// recipient has no session left (stored offline, bounced) or its wait is
// over. The first that cannot go yet holds up the rest, so that stanzas
// to one recipient keep their order.
func (c *Cluster) limboLoop() {
	defer c.wg.Done()
	c.every(100*time.Millisecond, c.lwake, func() {
		for c.resolveHead() {
		}
	})
}

// resolveHead moves the first parked stanza on; false when there is none
// or it must wait.
func (c *Cluster) resolveHead() bool {
	c.lmu.Lock()
	if len(c.limbo) == 0 {
		c.lmu.Unlock()
		return false
	}
	pk := c.limbo[0]
	c.lmu.Unlock()
	ctx := context.Background()
	node := c.Locate(ctx, pk.st.To)
	if node == "" && c.o.Core.HasSession(pk.st.To) {
		node = c.o.Node
	}
	switch {
	case node == c.o.Node || node == "":
		c.pop()
		metrics.ClusterForwards.WithLabelValues("kept").Inc()
		c.o.Core.RouteInbound(ctx, pk.st)
	case c.live(node):
		p := c.peer(node)
		if p == nil || !p.enqueue(item{kind: itemStanza, st: pk.st}) {
			return false
		}
		c.pop()
	case time.Now().After(pk.until):
		c.pop()
		metrics.ClusterForwards.WithLabelValues("kept").Inc()
		c.o.Core.RouteInbound(ctx, pk.st)
	default:
		return false
	}
	return true
}

func (c *Cluster) pop() {
	c.lmu.Lock()
	c.limbo = c.limbo[1:]
	if len(c.limbo) == 0 {
		c.limbo = nil
	}
	c.lmu.Unlock()
}
