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
	// sendTimeout bounds one attempt to send a batch. A batch that timed
	// out is sent again with the same sequence number: the peer applies
	// each batch once (Cluster.apply), so a slow peer that was still
	// applying the first copy does not apply it twice.
	sendTimeout = 30 * time.Second
)

// peer is another core of the region: a link client that dials only it,
// and an ordered queue of what goes to it.
type peer struct {
	c      *Cluster
	name   string
	a      atomic.Pointer[string]
	client *linkquic.Client
	ctx    context.Context // ends when the peer is closed
	cancel context.CancelFunc

	mu       sync.Mutex
	queue    []item
	inflight []item // the batch being sent; nil between batches
	seq      uint64 // of the last batch taken
	wake     chan struct{}
	done     chan struct{}
	shut     bool
	wg       sync.WaitGroup
}

func newPeer(c *Cluster, name, addr string) *peer {
	p := &peer{c: c, name: name, wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.a.Store(&addr)
	p.client = c.newClient(p)
	p.wg.Add(1)
	go p.run()
	return p
}

func (p *peer) addr() string     { return *p.a.Load() }
func (p *peer) setAddr(a string) { p.a.Store(&a) }

// enqueue queues an item; false when the peer is closed or its queue is
// full (the caller parks a stanza).
func (p *peer) enqueue(it item) bool {
	p.mu.Lock()
	if p.shut || (it.kind == itemStanza && len(p.queue) >= p.c.o.MaxQueue) {
		p.mu.Unlock()
		return false
	}
	p.queue = append(p.queue, it)
	p.mu.Unlock()
	if it.kind == itemStanza {
		metrics.ClusterQueued.Inc()
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true
}

// take moves the next batch from the queue to inflight and numbers it.
func (p *peer) take() ([]item, uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shut || len(p.queue) == 0 {
		return nil, 0
	}
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
	p.inflight = batch
	p.seq++
	return batch, p.seq
}

// sent ends the in-flight batch.
func (p *peer) sent() {
	p.mu.Lock()
	p.inflight = nil
	p.mu.Unlock()
}

// run sends the queue in batches, one at a time so that the peer applies
// them in order; a batch that fails is sent again, with its sequence
// number, until it goes through or the peer is closed (close parks what
// is left, in-flight batch first).
func (p *peer) run() {
	defer p.wg.Done()
	for {
		batch, seq := p.take()
		if len(batch) == 0 {
			select {
			case <-p.wake:
				continue
			case <-p.done:
				return
			}
		}
		req := encodeBatch(p.c.epoch, seq, batch)
		for attempt := 1; ; attempt++ {
			ctx, cancel := context.WithTimeout(p.ctx, sendTimeout)
			_, err := p.client.Cluster(ctx, req)
			cancel()
			if err == nil {
				metrics.ClusterSent.Add(float64(countStanzas(batch)))
				p.sent()
				break
			}
			if p.ctx.Err() != nil {
				return // closed: close parks the in-flight batch
			}
			metrics.ClusterErrors.WithLabelValues("send").Inc()
			if p.c.logged.First("send " + p.name) {
				p.c.log.Warn("cluster: cannot reach a core; retrying while it is a member", "peer", p.name, "err", err)
			}
			select {
			case <-p.done:
				return
			case <-time.After(min(time.Duration(attempt)*100*time.Millisecond, time.Second)):
			}
		}
	}
}

// detach closes the peer to new items and returns, in order, what it
// never got to send: the in-flight batch, then the queue. The caller
// parks them while holding the cluster's lock, so that no stanza parked
// later overtakes them.
func (p *peer) detach() []item {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shut = true
	rest := append(p.inflight, p.queue...)
	p.inflight, p.queue = nil, nil
	return rest
}

// close stops the peer's goroutine and link client. Call detach first.
func (p *peer) close() {
	p.cancel()
	close(p.done)
	p.wg.Wait()
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
