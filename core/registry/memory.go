package registry

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Peers is how a Memory replica reaches the other cores of its region. The
// transport between cores implements it; ChannelPeers does in one process.
type Peers interface {
	// Broadcast queues u for every other core. It must not block on a slow
	// or dead peer, and must deliver one sender's updates to each receiver
	// in the order they were sent.
	Broadcast(u Update)
	// Snapshot asks the named core for the places it holds (Memory.Own).
	Snapshot(ctx context.Context, node string) ([]Place, error)
	// Members lists the other cores currently reachable.
	Members() []string
}

// MemoryOptions configures a Memory replica.
type MemoryOptions struct {
	Node  string        // this core's name: the owner of the places it registers
	TTL   time.Duration // how long an entry lives unless refreshed
	Peers Peers         // the other cores; nil for a single core
	Log   *slog.Logger  // nil discards
}

// Memory is the in-memory backend, replicated: every core holds every
// entry of its region, so Lookup and Sessions — asked for nearly every
// stanza — never leave the process. Each core writes only the places it
// owns (Place.Core) and broadcasts the change; replicas apply a change
// when it names the session they hold or a newer one (later BoundAt, then
// core, edge and stream in byte order), so they converge whatever the
// order of updates from different cores. Each replica times expiry on its
// own clock, so clocks need not agree. docs/architecture.md says why
// replicated rather than partitioned.
type Memory struct {
	node  string
	ttl   time.Duration
	peers Peers
	log   *slog.Logger
	m     *counters
	now   func() time.Time // tests move time

	mu     sync.RWMutex
	users  map[jid.JID]map[jid.JID]Place // bare → full → place
	n      int
	closed bool

	stop chan struct{}
	wg   sync.WaitGroup
}

var _ Registry = (*Memory)(nil)

// NewMemory returns a replica and starts its expiry sweep. Call Join once
// its Peers can deliver, to fetch what the other cores hold.
func NewMemory(o MemoryOptions) (*Memory, error) {
	if o.Node == "" || o.TTL <= 0 {
		return nil, fmt.Errorf("registry: memory: node name and a positive ttl are required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	r := &Memory{
		node: o.Node, ttl: o.TTL, peers: o.Peers, log: o.Log,
		m: newCounters("memory"), now: time.Now,
		users: map[jid.JID]map[jid.JID]Place{},
		stop:  make(chan struct{}),
	}
	r.wg.Add(1)
	go r.sweepLoop()
	return r, nil
}

// Join fetches the places every other core holds; a core that starts
// late (or after a partition) learns the region's sessions this way.
// A peer that does not answer is skipped: its entries arrive with its
// next refresh.
func (r *Memory) Join(ctx context.Context) error {
	if r.peers == nil {
		return nil
	}
	var firstErr error
	for _, node := range r.peers.Members() {
		if err := r.PeerJoined(ctx, node); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// PeerJoined fetches the places a core holds. The transport calls it when
// a core (re)appears.
func (r *Memory) PeerJoined(ctx context.Context, node string) error {
	places, err := r.peers.Snapshot(ctx, node)
	if err != nil {
		return fmt.Errorf("registry: memory: snapshot of %s: %w", node, err)
	}
	for _, p := range places {
		r.Apply(node, Update{Op: OpSet, Place: p})
	}
	r.m.resyncs.Inc()
	return nil
}

// PeerLeft drops every entry of a core the transport saw fail or leave,
// and returns them.
func (r *Memory) PeerLeft(node string) []Place { return r.drop(node) }

// Own returns the live places this core holds: its answer to a Snapshot.
func (r *Memory) Own() []Place {
	now := r.now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Place
	for _, u := range r.users {
		for _, p := range u {
			if p.Core == r.node && now.Before(p.Expires) {
				out = append(out, p)
			}
		}
	}
	return out
}

// Apply applies an update another core sent. Updates about places that
// core does not hold are refused and counted: a core speaks only for its
// own sessions.
func (r *Memory) Apply(from string, u Update) {
	switch u.Op {
	case OpSet, OpDel:
		if check(u.Place) != nil {
			metrics.RegistryRejected.WithLabelValues("malformed").Inc()
			return
		}
		if u.Place.Core != from {
			metrics.RegistryRejected.WithLabelValues("not_owner").Inc()
			r.log.Debug("registry: update about another core's session refused", "from", from, "jid", u.Place.JID.String(), "core", u.Place.Core)
			return
		}
		if u.Op == OpSet {
			r.mu.Lock()
			if old, ok := r.get(u.Place.JID); !ok || r.wins(u.Place, old) {
				r.put(u.Place)
			}
			r.mu.Unlock()
		} else {
			r.del(u.Place)
		}
	case OpDrop:
		if u.Node == "" {
			metrics.RegistryRejected.WithLabelValues("malformed").Inc()
			return
		}
		r.drop(u.Node)
	default:
		metrics.RegistryRejected.WithLabelValues("malformed").Inc()
	}
}

// wins reports whether p should replace old in this replica.
func (r *Memory) wins(p, old Place) bool {
	if p.Same(old) || !r.now().Before(old.Expires) {
		return true
	}
	if !p.BoundAt.Equal(old.BoundAt) {
		return p.BoundAt.After(old.BoundAt)
	}
	if p.Core != old.Core {
		return p.Core > old.Core
	}
	if p.Edge != old.Edge {
		return p.Edge > old.Edge
	}
	return p.Stream > old.Stream
}

// get returns the entry of a full JID, live or not. r.mu is held.
func (r *Memory) get(full jid.JID) (Place, bool) {
	p, ok := r.users[full.Bare()][full]
	return p, ok
}

// put records p with a fresh expiry. r.mu is held for writing.
func (r *Memory) put(p Place) Place {
	p.Expires = r.now().Add(r.ttl)
	bare := p.JID.Bare()
	u := r.users[bare]
	if u == nil {
		u = map[jid.JID]Place{}
		r.users[bare] = u
	}
	if _, ok := u[p.JID]; !ok {
		r.n++
		metrics.RegistryEntries.Inc()
	}
	u[p.JID] = p
	return p
}

// remove deletes a full JID's entry. r.mu is held for writing.
func (r *Memory) remove(full jid.JID) {
	bare := full.Bare()
	u := r.users[bare]
	if _, ok := u[full]; !ok {
		return
	}
	delete(u, full)
	if len(u) == 0 {
		delete(r.users, bare)
	}
	r.n--
	metrics.RegistryEntries.Dec()
}

func (r *Memory) del(p Place) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.get(p.JID); ok && old.Same(p) {
		r.remove(p.JID)
		return true
	}
	return false
}

func (r *Memory) drop(node string) []Place {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Place
	for _, u := range r.users {
		for full, p := range u {
			if p.Core == node || p.Edge == node {
				r.remove(full)
				out = append(out, p)
			}
		}
	}
	return out
}

func (r *Memory) broadcast(u Update) {
	if r.peers != nil {
		r.peers.Broadcast(u)
	}
}

func (r *Memory) usable(p *Place) error {
	if err := check(*p); err != nil {
		return fmt.Errorf("registry: memory: %w", err)
	}
	if p.Core != r.node {
		return fmt.Errorf("registry: memory: %w: %s is held by %s, not this core (%s)", ErrInvalid, p.JID, p.Core, r.node)
	}
	r.mu.RLock()
	closed := r.closed
	r.mu.RUnlock()
	if closed {
		return fmt.Errorf("registry: memory: %w", ErrClosed)
	}
	return nil
}

// Register implements Registry. The new place is stamped later than the
// one it replaces, so that every replica prefers it even if the two
// cores' clocks disagree.
func (r *Memory) Register(_ context.Context, p Place) (Place, error) {
	if err := r.usable(&p); err != nil {
		return Place{}, r.m.done(opRegister, err)
	}
	if p.BoundAt.IsZero() {
		p.BoundAt = r.now()
	}
	r.mu.Lock()
	var prev Place
	if old, ok := r.get(p.JID); ok && r.now().Before(old.Expires) && !old.Same(p) {
		prev = old
		if !p.BoundAt.After(old.BoundAt) {
			p.BoundAt = old.BoundAt.Add(time.Nanosecond)
		}
	}
	p = r.put(p)
	r.mu.Unlock()
	r.broadcast(Update{Op: OpSet, Place: p})
	return prev, r.m.done(opRegister, nil)
}

// Refresh implements Registry.
func (r *Memory) Refresh(_ context.Context, places []Place) ([]Place, error) {
	var lost []Place
	for _, p := range places {
		if err := r.usable(&p); err != nil {
			return lost, r.m.done(opRefresh, err)
		}
		r.mu.Lock()
		old, ok := r.get(p.JID)
		if ok && r.now().Before(old.Expires) && !old.Same(p) {
			r.mu.Unlock()
			lost = append(lost, p)
			continue
		}
		if ok && old.Same(p) {
			// Keep the presence recorded by SetPresence.
			p.Priority, p.Available, p.BoundAt = old.Priority, old.Available, old.BoundAt
		}
		p = r.put(p)
		r.mu.Unlock()
		r.broadcast(Update{Op: OpSet, Place: p})
	}
	return lost, r.m.done(opRefresh, nil)
}

// Unregister implements Registry.
func (r *Memory) Unregister(_ context.Context, p Place) (bool, error) {
	if err := r.usable(&p); err != nil {
		return false, r.m.done(opUnregister, err)
	}
	ok := r.del(p)
	if ok {
		r.broadcast(Update{Op: OpDel, Place: p})
	}
	return ok, r.m.done(opUnregister, nil)
}

// SetPresence implements Registry.
func (r *Memory) SetPresence(_ context.Context, p Place) (bool, error) {
	if err := r.usable(&p); err != nil {
		return false, r.m.done(opSetPresence, err)
	}
	r.mu.Lock()
	old, ok := r.get(p.JID)
	if !ok || !old.Same(p) || !r.now().Before(old.Expires) {
		r.mu.Unlock()
		return false, r.m.done(opSetPresence, nil)
	}
	old.Priority, old.Available = p.Priority, p.Available
	r.users[p.JID.Bare()][p.JID] = old
	r.mu.Unlock()
	r.broadcast(Update{Op: OpSet, Place: old})
	return true, r.m.done(opSetPresence, nil)
}

// Lookup implements Registry.
func (r *Memory) Lookup(_ context.Context, full jid.JID) (Place, bool, error) {
	r.mu.RLock()
	p, ok := r.get(full)
	r.mu.RUnlock()
	r.m.ok[opLookup].Inc()
	if !ok || !r.now().Before(p.Expires) {
		return Place{}, false, nil
	}
	return p, true, nil
}

// Sessions implements Registry.
func (r *Memory) Sessions(_ context.Context, bare jid.JID) ([]Place, error) {
	now := r.now()
	r.mu.RLock()
	u := r.users[bare.Bare()]
	out := make([]Place, 0, len(u))
	for _, p := range u {
		if now.Before(p.Expires) {
			out = append(out, p)
		}
	}
	r.mu.RUnlock()
	r.m.ok[opSessions].Inc()
	return out, nil
}

// DropNode implements Registry: the replica drops the node's entries and
// tells the other cores to do the same (each also does when its transport
// sees the node fail).
func (r *Memory) DropNode(_ context.Context, node string) ([]Place, error) {
	if node == "" {
		return nil, r.m.done(opDropNode, fmt.Errorf("registry: memory: %w: empty node name", ErrInvalid))
	}
	dropped := r.drop(node)
	r.broadcast(Update{Op: OpDrop, Node: node})
	return dropped, r.m.done(opDropNode, nil)
}

// Complete implements Registry: a replica never loses its entries on its
// own (a core that joins fetches the others' first).
func (r *Memory) Complete(context.Context, []string) (bool, error) { return true, nil }

// Len returns the number of entries the replica holds, live or lapsed
// but not yet swept.
func (r *Memory) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.n
}

// Close implements Registry: it stops the sweep and empties the replica.
func (r *Memory) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	metrics.RegistryEntries.Sub(float64(r.n))
	r.users, r.n = map[jid.JID]map[jid.JID]Place{}, 0
	r.mu.Unlock()
	close(r.stop)
	r.wg.Wait()
	return nil
}

// sweepLoop removes lapsed entries, so that memory does not grow with
// sessions nobody refreshes (Lookup already ignores them).
func (r *Memory) sweepLoop() {
	defer r.wg.Done()
	every := max(r.ttl/4, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.sweep()
		}
	}
}

func (r *Memory) sweep() {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range r.users {
		for full, p := range u {
			if !now.Before(p.Expires) {
				r.remove(full)
				r.m.expired.Inc()
			}
		}
	}
}
