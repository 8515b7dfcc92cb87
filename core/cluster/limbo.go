package cluster

import (
	"context"
	"time"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// maxLimbo bounds the parked stanzas; past it a stanza is handled here.
const maxLimbo = 100000

// parked is a stanza whose recipient's session is on a core that is not
// a peer: one that failed or left (its edges are moving the session to
// another core), one this core has not seen join yet, or any while the
// registry cannot be read. full is set for a stanza meant for one session
// as it is (Deliver).
type parked struct {
	id    uint64
	key   jid.JID // the recipient's bare JID: order is kept per key
	full  jid.JID
	st    *stanza.Stanza
	until time.Time
}

func recipient(full jid.JID, st *stanza.Stanza) jid.JID {
	if !full.IsZero() {
		return full.Bare()
	}
	return st.To.Bare()
}

// park adds a stanza to limbo (or, once Close began or limbo is full,
// handles it here).
func (c *Cluster) park(full jid.JID, st *stanza.Stanza) {
	if c.closing.Load() {
		c.handleHere(context.Background(), full, st)
		return
	}
	key := recipient(full, st)
	c.lmu.Lock()
	if len(c.limbo) >= maxLimbo {
		c.lmu.Unlock()
		metrics.ClusterErrors.WithLabelValues("limbo_full").Inc()
		c.handleHere(context.Background(), full, st)
		return
	}
	c.lseq++
	c.limbo = append(c.limbo, parked{id: c.lseq, key: key, full: full, st: st, until: time.Now().Add(c.o.Grace)})
	if c.waitingN == nil {
		c.waitingN = map[jid.JID]int{}
	}
	c.waitingN[key]++
	c.nparked.Store(int64(len(c.limbo)))
	c.lmu.Unlock()
	metrics.ClusterParked.Inc()
	c.kick()
}

// waiting reports whether stanzas to the recipient are parked: later ones
// queue behind them.
func (c *Cluster) waiting(key jid.JID) bool {
	if c.nparked.Load() == 0 { // every forward asks: no lock when nothing waits
		return false
	}
	c.lmu.Lock()
	defer c.lmu.Unlock()
	return c.waitingN[key] > 0
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
	c.limbo, c.waitingN = nil, nil
	c.nparked.Store(0)
	return l
}

// limboLoop resolves parked stanzas every 100 ms and when woken.
func (c *Cluster) limboLoop() {
	defer c.wg.Done()
	c.every(100*time.Millisecond, c.lwake, c.resolve)
}

// resolve goes through limbo in order: each stanza goes to the live core
// that holds its recipient's session now, or is handled here when the
// recipient has no session left (stored offline, bounced) or its wait is
// over. A stanza that must wait holds up the later ones to the same
// recipient only, so that they keep their order.
func (c *Cluster) resolve() {
	c.lmu.Lock()
	todo := append([]parked(nil), c.limbo...)
	c.lmu.Unlock()
	if len(todo) == 0 {
		return
	}
	ctx := context.Background()
	blocked := map[jid.JID]bool{}
	done := map[uint64]bool{}
	now := time.Now()
	for _, pk := range todo {
		if blocked[pk.key] {
			continue
		}
		to := pk.st.To
		if !pk.full.IsZero() {
			to = pk.full
		}
		// Here first: a session bound here may not be registered yet.
		node := c.o.Node
		if !c.o.Core.HasSession(to) {
			node = c.Locate(ctx, to)
		}
		switch {
		case node == c.o.Node || node == "":
			c.handleHere(ctx, pk.full, pk.st)
		case c.live(node):
			it := item{kind: itemStanza, st: pk.st}
			if !pk.full.IsZero() {
				it = item{kind: itemDeliver, st: pk.st, full: pk.full}
			}
			p := c.peer(node)
			if p == nil || !p.enqueue(it) {
				blocked[pk.key] = true
				continue
			}
		case now.After(pk.until):
			c.handleHere(ctx, pk.full, pk.st)
		default:
			if node != registryDown {
				c.forget(node)
			}
			blocked[pk.key] = true
			continue
		}
		done[pk.id] = true
	}
	if len(done) == 0 {
		return
	}
	c.lmu.Lock()
	kept := c.limbo[:0]
	for _, pk := range c.limbo {
		if done[pk.id] {
			if c.waitingN[pk.key]--; c.waitingN[pk.key] <= 0 {
				delete(c.waitingN, pk.key)
			}
			continue
		}
		kept = append(kept, pk)
	}
	clear(c.limbo[len(kept):])
	c.limbo = kept
	c.nparked.Store(int64(len(kept)))
	c.lmu.Unlock()
}

// forget starts the grace period of a core that holds registry entries
// but is not a peer and never left while this core watched (stale entries
// of a core that is gone, seen after this core started): its entries are
// dropped when the period ends, unless it joins meanwhile.
func (c *Cluster) forget(node string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done || c.peers[node] != nil || c.drops[node] != nil {
		return
	}
	c.dropLater(node)
}
