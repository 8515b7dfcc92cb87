package embedded

import (
	"errors"
	"sync"

	"go.etcd.io/bbolt"
)

// maxGroup bounds the writes one group commit takes, so that one
// transaction stays small.
const maxGroup = 512

// errClosed is returned by writes queued after Close.
var errClosed = errors.New("store closed")

// groupCommit runs small writes from many goroutines in shared
// transactions: a writer queues its function and waits; one goroutine
// takes everything queued, runs it in one transaction with one fsync and
// reports back to every writer. While a commit is syncing, the next
// writers queue up and go together in the next one. A lone writer waits
// for one commit and no longer (bbolt's Batch waits MaxBatchDelay, 10 ms
// by default, for company first). Nothing is acknowledged before it is on
// disk. See docs/benchmarks.md, "Message archive", for the measurements
// behind this choice.
type groupCommit struct {
	bolt *bbolt.DB

	mu     sync.RWMutex // held for reading while queueing, for writing by close
	closed bool
	queue  chan *groupOp
	done   chan struct{}
}

type groupOp struct {
	fn  func(*bbolt.Tx) error
	err chan error
}

func newGroupCommit(b *bbolt.DB) *groupCommit {
	g := &groupCommit{bolt: b, queue: make(chan *groupOp, maxGroup), done: make(chan struct{})}
	go g.run()
	return g
}

// do runs fn in a write transaction shared with other writers and
// returns once that transaction is durable. fn may run more than once (a
// failed group is retried one by one), each time in a fresh transaction,
// and must not have effects outside it.
func (g *groupCommit) do(fn func(*bbolt.Tx) error) error {
	op := &groupOp{fn: fn, err: make(chan error, 1)}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return errClosed
	}
	g.queue <- op
	g.mu.RUnlock()
	return <-op.err
}

func (g *groupCommit) run() {
	defer close(g.done)
	group := make([]*groupOp, 0, maxGroup)
	for op := range g.queue {
		group = append(group[:0], op)
	more:
		for len(group) < maxGroup {
			select {
			case op, ok := <-g.queue:
				if !ok {
					break more
				}
				group = append(group, op)
			default:
				break more
			}
		}
		g.commit(group)
	}
}

func (g *groupCommit) commit(group []*groupOp) {
	err := g.bolt.Update(func(tx *bbolt.Tx) error {
		for _, op := range group {
			if err := op.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(group) == 1 {
		for _, op := range group {
			op.err <- err
		}
		return
	}
	// One write failed and took the others down with it: give each its
	// own transaction, so that only the failing one fails.
	for _, op := range group {
		op.err <- g.bolt.Update(op.fn)
	}
}

// close lets the queued writes finish, then refuses new ones. It is
// idempotent.
func (g *groupCommit) close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.queue)
	}
	g.mu.Unlock()
	<-g.done
}
