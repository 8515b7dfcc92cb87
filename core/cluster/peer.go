package cluster

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	linkquic "github.com/meridian-xmpp/meridian/link/quic"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// Batch limits: one request carries at most this many items or bytes.
const (
	maxBatchItems = 1024
	maxBatchBytes = 1 << 20
	// giveUp is how many failed attempts a batch gets while its peer is
	// still a member before its stanzas are handled here.
	giveUp = 20
)

// peer is another core of the region: a link client that dials only it,
// and an ordered queue of what goes to it.
type peer struct {
	c      *Cluster
	name   string
	a      atomic.Pointer[string]
	client *linkquic.Client

	mu    sync.Mutex
	queue []item
	wake  chan struct{}
	done  chan struct{}
	shut  bool
	wg    sync.WaitGroup
	fails int
}

func newPeer(c *Cluster, name, addr string) *peer {
	p := &peer{c: c, name: name, wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.a.Store(&addr)
	p.client = c.newClient(p)
	p.wg.Add(1)
	go p.run()
	return p
}

func (p *peer) addr() string     { return *p.a.Load() }
func (p *peer) setAddr(a string) { p.a.Store(&a) }

// enqueue queues an item; false when the peer is closed or its queue is
// full (the caller handles a stanza itself).
func (p *peer) enqueue(it item) bool {
	p.mu.Lock()
	if p.shut || (it.kind == itemStanza && len(p.queue) >= p.c.o.MaxQueue) {
		p.mu.Unlock()
		return false
	}
	p.queue = append(p.queue, it)
	p.mu.Unlock()
	if it.kind == itemStanza {
		metrics.ClusterForwards.WithLabelValues("queued").Inc()
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true
}

// take removes the next batch from the queue.
func (p *peer) take() []item {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, size := 0, 0
	for n < len(p.queue) && n < maxBatchItems && size < maxBatchBytes {
		size += p.queue[n].size()
		n++
	}
	batch := p.queue[:n:n]
	p.queue = p.queue[n:]
	if len(p.queue) == 0 {
		p.queue = nil
	}
	return batch
}

// run sends the queue in batches, one at a time so that the peer applies
// them in order; a batch that fails is sent again until it goes through,
// the peer leaves (its stanzas are routed here again), or giveUp.
func (p *peer) run() {
	defer p.wg.Done()
	for {
		batch := p.take()
		if len(batch) == 0 {
			select {
			case <-p.wake:
				continue
			case <-p.done:
				return
			}
		}
		req := encodeBatch(batch)
		for attempt := 1; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_, err := p.client.Cluster(ctx, req)
			cancel()
			if err == nil {
				metrics.ClusterForwards.WithLabelValues("sent").Add(float64(countStanzas(batch)))
				break
			}
			metrics.ClusterErrors.WithLabelValues("send").Inc()
			if p.c.logged.First("send " + p.name) {
				p.c.log.Warn("cluster: cannot reach a core; retrying while it is a member", "peer", p.name, "err", err)
			}
			select {
			case <-p.done:
				p.giveBack(batch)
				return
			case <-time.After(min(time.Duration(attempt)*100*time.Millisecond, time.Second)):
			}
			if attempt >= giveUp {
				p.giveBack(batch)
				break
			}
		}
	}
}

// giveBack parks the stanzas of a batch the peer never took: they go
// where their recipients' sessions are once the edges moved them, or are
// stored here if those sessions end (limbo.go).
func (p *peer) giveBack(batch []item) {
	for _, it := range batch {
		if it.kind != itemStanza {
			continue
		}
		metrics.ClusterForwards.WithLabelValues("returned").Inc()
		p.c.park(it.st)
	}
}

// close stops the peer: queued stanzas are routed again, relayed sessions
// end (their clients reconnect or resume).
func (p *peer) close() {
	p.mu.Lock()
	if p.shut {
		p.mu.Unlock()
		return
	}
	p.shut = true
	p.mu.Unlock()
	close(p.done)
	p.wg.Wait()
	p.giveBack(p.take())
	for rest := p.take(); len(rest) > 0; rest = p.take() {
		p.giveBack(rest)
	}
	p.client.Close()
}

// item is one thing queued for a peer.
type item struct {
	kind   byte
	st     *stanza.Stanza // itemStanza
	b      []byte         // itemUpdate: a registry.Update
	full   jid.JID        // itemEnd
	stream string         // itemEnd
}

func (it item) size() int {
	switch it.kind {
	case itemStanza:
		return len(it.st.Bytes) + 64
	case itemUpdate:
		return len(it.b) + 4
	}
	return 64
}

func countStanzas(batch []item) int {
	n := 0
	for _, it := range batch {
		if it.kind == itemStanza {
			n++
		}
	}
	return n
}
