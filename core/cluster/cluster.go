// Package cluster joins the cores of a region (DESIGN "Where sessions
// live"): it keeps the region's session registry (core/registry, in
// memory replicated across the cores, or Redis) up to date with the
// sessions its core binds, finds the core that holds a recipient's
// sessions, and carries stanzas, registry updates and session relays
// between cores over the QUIC link (link/quic), whose cluster CA
// authenticates both ends.
//
// A user's sessions live on one core, its home: a session that an edge
// opens on a core while the user is bound on another live core is relayed
// there (the core acts as an edge of the home). A stanza to a local user
// who has no session on the routing core goes to the home, whose router
// runs the recipient's side (core.RouteInbound). So everything a core
// keeps per user — presence of its resources, carbons, roster interest —
// stays in one process, and modules need not know about the cluster.
//
// The peers are the region's other cores as the mesh sees them (SetPeers).
// The package never blocks the router on a peer: forwarded stanzas queue
// per peer and go in order, in batches, each acknowledged; when a peer
// leaves the mesh what it never acknowledged is routed again here.
package cluster

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridian-xmpp/meridian/core"
	"github.com/meridian-xmpp/meridian/core/registry"
	"github.com/meridian-xmpp/meridian/internal/logonce"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	linkquic "github.com/meridian-xmpp/meridian/link/quic"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// Options configure a Cluster.
type Options struct {
	Node    string        // this core's node name (its certificate's)
	Core    *core.Core    // this core
	TLS     *tls.Config   // link client config (ca.Node.ClientConfig)
	Refresh time.Duration // how often bound sessions are refreshed in the registry
	// Self returns this core's own link address ("" when unknown): where
	// a session relayed from here goes when its user's core is lost.
	Self   func() string
	Logger *slog.Logger
	// MaxQueue bounds the stanzas queued for one peer; past it a stanza is
	// handled here (stored or bounced). 0: 65536.
	MaxQueue int
	// Grace is how long the sessions of a core that left stay in the
	// registry, so that their edges can reopen them on other cores before
	// stanzas to them are stored offline; stanzas to them wait meanwhile.
	// 0: 15 s (more than the edge link's 10 s idle timeout).
	Grace time.Duration
}

// Cluster is one core's view of its region. Build it with New, give it a
// registry with Attach, then SetCluster it on the core before the core
// serves sessions.
type Cluster struct {
	o      Options
	log    *slog.Logger
	logged logonce.Set
	reg    registry.Registry
	mem    *registry.Memory // reg when it is the in-memory backend

	epoch uint64 // this process's batches (handler.go)

	mu    sync.RWMutex
	peers map[string]*peer
	done  bool
	drops map[string]*time.Timer // cores that left, whose entries go after Grace
	// relays are the link clients of sessions relayed to a user's core,
	// by that core's name (relay.go); retired ones lost their core and
	// carry the sessions they moved elsewhere until those end.
	relays  map[string]*linkquic.Client
	retired []*linkquic.Client

	closing atomic.Bool // Close began: nothing is parked any more
	// completeUntil: until then (unix ns) a miss in the registry is
	// taken to mean "not bound anywhere" without asking (miss).
	completeUntil atomic.Int64

	inMu sync.Mutex
	in   map[string]*inbound // other cores' batches applied here

	lmu      sync.Mutex
	limbo    []parked        // stanzas for sessions whose core is gone, in order
	lseq     uint64          // ids of parked stanzas
	waitingN map[jid.JID]int // parked stanzas per recipient
	nparked  atomic.Int64    // len(limbo), read without the lock
	lwake    chan struct{}

	stop chan struct{}
	wg   sync.WaitGroup
}

var _ core.Cluster = (*Cluster)(nil)
var _ registry.Peers = (*Cluster)(nil)

// New returns a cluster with no peers.
func New(o Options) *Cluster {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 65536
	}
	if o.Refresh <= 0 {
		o.Refresh = 30 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 15 * time.Second
	}
	var e [8]byte
	rand.Read(e[:])
	return &Cluster{
		o: o, log: o.Logger.With("component", "cluster"),
		epoch: binary.BigEndian.Uint64(e[:]),
		peers: map[string]*peer{}, drops: map[string]*time.Timer{}, relays: map[string]*linkquic.Client{},
		in:   map[string]*inbound{},
		stop: make(chan struct{}), lwake: make(chan struct{}, 1),
	}
}

// Attach gives the cluster its registry and starts refreshing the core's
// sessions in it. mem is the registry when it is the in-memory backend
// (whose replicas talk through this cluster), nil for Redis.
func (c *Cluster) Attach(reg registry.Registry, mem *registry.Memory) {
	c.reg, c.mem = reg, mem
	c.wg.Add(2)
	go c.refreshLoop()
	go c.limboLoop()
}

// Places returns the registry places of the core's bound sessions: what
// the Redis backend records again after an outage.
func (c *Cluster) Places() []registry.Place {
	bs := c.o.Core.Bound()
	out := make([]registry.Place, 0, len(bs))
	for _, b := range bs {
		out = append(out, c.place(b))
	}
	return out
}

func (c *Cluster) place(b core.BoundSession) registry.Place {
	edge := b.Edge
	if edge == "" {
		edge = c.o.Node
	}
	return registry.Place{JID: b.JID, Core: c.o.Node, Edge: edge, Stream: b.Stream, Priority: b.Priority, Available: b.Available, BoundAt: b.BoundAt}
}

// Close stops the peers (what they hold is routed here) and the refresh.
// It does not close the registry.
func (c *Cluster) Close() {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return
	}
	c.done = true
	c.closing.Store(true)
	ps := c.peers
	c.peers = map[string]*peer{}
	for _, t := range c.drops {
		t.Stop()
	}
	var rest []item
	for _, p := range ps {
		rest = append(rest, p.detach()...)
	}
	c.mu.Unlock()
	close(c.stop)
	for _, p := range ps {
		p.close()
	}
	c.closeRelays()
	c.wg.Wait()
	// What waits for a session to reappear, or never went out, is handled
	// here.
	ctx := context.Background()
	for _, pk := range c.takeLimbo() {
		c.handleHere(ctx, pk.full, pk.st)
	}
	for _, it := range rest {
		if it.kind == itemStanza || it.kind == itemDeliver {
			c.handleHere(ctx, it.full, it.st)
		}
	}
}

// handleHere delivers a stanza on this core: to the session of full when
// it is given and bound here, else by the recipient's side of routing.
func (c *Cluster) handleHere(ctx context.Context, full jid.JID, st *stanza.Stanza) {
	metrics.ClusterKept.Inc()
	c.deliverHere(ctx, full, st)
}

// deliverHere hands a stanza to this core's session of full as it is
// (the receiving end of Deliver), or, with no such session or no full,
// runs the recipient's side of routing here.
func (c *Cluster) deliverHere(ctx context.Context, full jid.JID, st *stanza.Stanza) {
	if !full.IsZero() && c.o.Core.DeliverTo(full, st) {
		return
	}
	c.o.Core.RouteInbound(ctx, st)
}

// SetPeers sets the region's other cores: node name → link address. A new
// core is dialed (and, with the in-memory registry, asked for its
// sessions); a core that is gone has its queue routed here again and its
// registry entries dropped.
func (c *Cluster) SetPeers(addrs map[string]string) {
	c.mu.Lock()
	if c.done {
		c.mu.Unlock()
		return
	}
	var added, gone []*peer
	for name, addr := range addrs {
		if name == c.o.Node || addr == "" {
			continue
		}
		if p := c.peers[name]; p != nil {
			p.setAddr(addr)
			continue
		}
		if t := c.drops[name]; t != nil {
			t.Stop() // back within the grace period: its sessions stay
			delete(c.drops, name)
		}
		delete(c.in, name) // (under c.mu: a restarted core starts a new epoch anyway)
		p := newPeer(c, name, addr)
		c.peers[name] = p
		added = append(added, p)
	}
	for name, p := range c.peers {
		if _, ok := addrs[name]; !ok {
			delete(c.peers, name)
			gone = append(gone, p)
			c.dropLater(name)
			// What it never took is parked now, before any stanza that
			// is parked once it is no longer a peer.
			for _, it := range p.detach() {
				if it.kind == itemStanza || it.kind == itemDeliver {
					metrics.ClusterReturned.Inc()
					c.park(it.full, it.st)
				}
			}
		}
	}
	c.mu.Unlock()
	for _, p := range gone {
		c.relayLost(p.name)
	}
	for _, p := range added {
		c.log.Info("cluster: core joined", "peer", p.name, "addr", p.addr())
		if c.mem != nil {
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				c.snapshot(p)
			}()
		}
	}
	for _, p := range gone {
		c.log.Warn("cluster: core left; its sessions are dropped after the grace period unless their edges move them", "peer", p.name, "grace", c.o.Grace)
		p.close()
	}
}

// snapshot fetches a new peer's sessions into the in-memory registry,
// retrying while the peer is a member (it may still be starting).
func (c *Cluster) snapshot(p *peer) {
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.mem.PeerJoined(ctx, p.name)
		cancel()
		if err == nil {
			return
		}
		if c.logged.First("snapshot " + p.name) {
			c.log.Warn("cluster: cannot fetch a core's sessions yet; retrying", "peer", p.name, "err", err)
		}
		select {
		case <-p.done:
			return
		case <-time.After(delay):
		}
	}
}

// dropNode removes the registry entries of a core that left, when its
// grace period (timer t) ends and it has not come back, and ends for the
// region the sessions that were still on it (see lost).
func (c *Cluster) dropNode(name string, t *time.Timer) {
	c.mu.Lock()
	if c.done || c.drops[name] != t || c.peers[name] != nil {
		c.mu.Unlock()
		return
	}
	delete(c.drops, name)
	c.mu.Unlock()
	defer c.kick()
	if c.mem != nil {
		// Every core drops its own replica's copy; the first core by
		// name among the live ones speaks for the lost sessions.
		dropped := c.mem.PeerLeft(name)
		if c.first() {
			c.lost(name, dropped)
		}
		return
	}
	if c.reg == nil {
		return
	}
	// Of the cores dropping at once, Redis gives each entry to one.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	dropped, err := c.reg.DropNode(ctx, name)
	cancel()
	if err != nil {
		c.logErr("drop_node", err)
	}
	c.lost(name, dropped)
}

// dropLater starts the grace period of a core that left; c.mu is held.
func (c *Cluster) dropLater(name string) {
	var t *time.Timer
	t = time.AfterFunc(c.o.Grace, func() {
		// t was written under c.mu: read it under c.mu too.
		c.mu.RLock()
		mine := t
		c.mu.RUnlock()
		c.dropNode(name, mine)
	})
	c.drops[name] = t
}

// first reports whether this core's name comes before every live peer's.
func (c *Cluster) first() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for name := range c.peers {
		if name < c.o.Node {
			return false
		}
	}
	return true
}

// lost ends the sessions dropped with a core that left: those it held
// itself (a session held by a live core through a lost edge is ended by
// that core) and that were available, as nobody moved them within the
// grace period. Their contacts would otherwise see them online until
// they log in again.
func (c *Cluster) lost(node string, dropped []registry.Place) {
	n := 0
	now := time.Now()
	for _, p := range dropped {
		// An entry that lapsed is a session that ended long ago, not one
		// lost now.
		if p.Core != node || !p.Available || (!p.Expires.IsZero() && p.Expires.Before(now)) {
			continue
		}
		// Each session its own time: a slow store must not leave the
		// ones after it unannounced.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		last := true
		if c.reg != nil {
			others, err := c.reg.Sessions(ctx, p.JID.Bare())
			last = err == nil && len(others) == 0
		}
		c.o.Core.SessionLost(ctx, p.JID, last)
		cancel()
		metrics.ClusterLostSessions.Inc()
		n++
	}
	if len(dropped) > 0 {
		c.log.Info("cluster: dropped the sessions of a core that left; its available ones ended for their contacts", "peer", node, "sessions", len(dropped), "ended", n)
	}
}

func (c *Cluster) peer(name string) *peer {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.peers[name]
}

// Peers lists the current peers' names, sorted.
func (c *Cluster) Peers() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, 0, len(c.peers))
	for n := range c.peers {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (c *Cluster) live(name string) bool {
	return name != "" && name != c.o.Node && c.peer(name) != nil
}

func (c *Cluster) hasPeers() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.peers) > 0
}

// leaving reports whether a core left the mesh within its grace period:
// it may still be sending what it held (it is shutting down).
func (c *Cluster) leaving(name string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.drops[name]
	return ok
}

// logErr counts a registry failure and logs it once per operation.
func (c *Cluster) logErr(op string, err error) {
	metrics.ClusterErrors.WithLabelValues(op).Inc()
	if c.logged.First("registry " + op) {
		c.log.Warn("cluster: registry operation failed (logged once per operation)", "op", op, "err", err)
	}
}

// registryDown is what Locate answers while the registry cannot be
// read: no core has that name, so Forward parks the stanza until the
// registry answers again (or the grace period ends).
const registryDown = "\x00registry-unavailable"

// Locate implements core.Cluster. It may name a core that is not a peer
// (gone, or not seen yet): Forward parks the stanza.
func (c *Cluster) Locate(ctx context.Context, to jid.JID) string {
	if c.reg == nil {
		return ""
	}
	if !to.IsBare() {
		p, ok, err := c.reg.Lookup(ctx, to)
		if err != nil {
			c.logErr("lookup", err)
			return registryDown
		}
		if ok && p.Core != c.o.Node {
			return p.Core
		}
		if !ok {
			return c.miss(ctx, to)
		}
		return ""
	}
	places, err := c.reg.Sessions(ctx, to)
	if err != nil {
		c.logErr("sessions", err)
		return registryDown
	}
	if len(places) == 0 {
		return c.miss(ctx, to)
	}
	live, gone := c.home(places)
	if live.Core != "" {
		return live.Core
	}
	return gone
}

// miss is Locate's answer when the registry has nothing for to: "" (not
// bound anywhere: handled here) once every live core has its sessions
// recorded; before that — Redis just restarted empty and some core has
// not registered its sessions again — registryDown, so that the stanza
// waits for them instead of going to offline storage here.
func (c *Cluster) miss(ctx context.Context, to jid.JID) string {
	if until := c.completeUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		return ""
	}
	nodes := append(c.Peers(), c.o.Node)
	ok, err := c.reg.Complete(ctx, nodes)
	if err != nil {
		c.logErr("complete", err)
		return registryDown
	}
	if !ok {
		return registryDown
	}
	// A complete registry stays so until Redis restarts, which the
	// cores notice within their health check: trusting it for a moment
	// saves a round trip per stanza to an offline user.
	c.completeUntil.Store(time.Now().Add(completeFor).UnixNano())
	return ""
}

// completeFor is how long a registry found complete is taken to be.
const completeFor = 250 * time.Millisecond

// home picks, among a user's places, the one on the live core other than
// this one that holds the user's sessions: the available session of
// highest priority, else any (zero Place when none); gone names a core
// that is not a peer (any more, or not yet) holding some, for when no live
// core does. Both are zero when the user has a session here.
func (c *Cluster) home(places []registry.Place) (live registry.Place, gone string) {
	for _, p := range places {
		if p.Core == c.o.Node {
			return registry.Place{}, ""
		}
		if !c.live(p.Core) {
			gone = p.Core
			continue
		}
		better := live.Core == "" ||
			(p.Available && !live.Available) ||
			(p.Available == live.Available && p.Priority > live.Priority) ||
			(p.Available == live.Available && p.Priority == live.Priority && p.Core < live.Core)
		if better {
			live = p
		}
	}
	return live, gone
}

// Forward implements core.Cluster. A stanza for a core that is not a
// peer, or while others wait, is parked (limbo.go).
func (c *Cluster) Forward(node string, st *stanza.Stanza) {
	c.send(node, jid.JID{}, st)
}

// Deliver implements core.Cluster.
func (c *Cluster) Deliver(node string, full jid.JID, st *stanza.Stanza) {
	c.send(node, full, st)
}

// AvailableElsewhere implements core.Cluster: the session home picks,
// when it is available with a priority of at least 0.
func (c *Cluster) AvailableElsewhere(ctx context.Context, bare jid.JID) (jid.JID, string, bool) {
	if c.reg == nil {
		return jid.JID{}, "", false
	}
	places, err := c.reg.Sessions(ctx, bare)
	if err != nil {
		c.logErr("sessions", err)
		return jid.JID{}, "", false
	}
	best, _ := c.home(places)
	return best.JID, best.Core, best.Core != "" && best.Available && best.Priority >= 0
}

// send queues a stanza for a peer (with full: for that session as it
// is), or parks it when the peer is gone, full, or stanzas to the same
// recipient wait already.
func (c *Cluster) send(node string, full jid.JID, st *stanza.Stanza) {
	if !c.waiting(recipient(full, st)) {
		it := item{kind: itemStanza, st: st}
		if !full.IsZero() {
			it = item{kind: itemDeliver, st: st, full: full}
		}
		if p := c.peer(node); p != nil && p.enqueue(it) {
			return
		}
	}
	c.park(full, st)
}

// Bound implements core.Cluster.
func (c *Cluster) Bound(ctx context.Context, b core.BoundSession) {
	if c.reg == nil {
		return
	}
	p := c.place(b)
	prev, err := c.reg.Register(ctx, p)
	if err != nil {
		c.logErr("register", err)
		return
	}
	if !prev.JID.IsZero() && prev.Core != c.o.Node && !prev.Same(p) {
		// RFC 6120 §7.7.2.2 across cores: the older session of the same
		// full JID ends (on a reopen it is the same client's, already gone
		// from its edge, and its core stays quiet about it: see Unbound).
		if q := c.peer(prev.Core); q != nil {
			q.enqueue(item{kind: itemEnd, full: prev.JID, stream: prev.Stream})
		}
	}
}

// Presence implements core.Cluster.
func (c *Cluster) Presence(ctx context.Context, b core.BoundSession) {
	if c.reg == nil {
		return
	}
	if _, err := c.reg.SetPresence(ctx, c.place(b)); err != nil {
		c.logErr("set_presence", err)
	}
}

// Unbound implements core.Cluster.
func (c *Cluster) Unbound(ctx context.Context, b core.BoundSession, handoff bool) bool {
	if c.reg == nil {
		return false
	}
	// Its edge reopens it on another core, whose Register replaces this
	// entry: leave it, so stanzas wait for the new place. A session relayed
	// here by another core (its "edge") is moved by that core's relay
	// client, to that core itself if need be (relay.go).
	if handoff && b.Edge != "" && c.hasPeers() {
		return true
	}
	ok, err := c.reg.Unregister(ctx, c.place(b))
	if err != nil {
		c.logErr("unregister", err)
		return false
	}
	if ok {
		return false
	}
	p, found, err := c.reg.Lookup(ctx, b.JID)
	if err != nil {
		c.logErr("lookup", err)
		return false
	}
	return found && p.Core != c.o.Node
}

// refreshLoop extends the core's sessions in the registry; a session that
// another core took over meanwhile is ended here.
func (c *Cluster) refreshLoop() {
	defer c.wg.Done()
	c.every(c.o.Refresh, nil, c.refresh)
}

func (c *Cluster) refresh() {
	c.closeIdleRelays()
	places := c.Places()
	if len(places) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	lost, err := c.reg.Refresh(ctx, places)
	cancel()
	if err != nil {
		c.logErr("refresh", err)
		return
	}
	for _, p := range lost {
		c.o.Core.EndSession(p.JID, p.Stream, &stanza.StreamError{Condition: stanza.Conflict, Text: "the resource is bound on another core"})
	}
}

// every runs fn every d, and whenever wake fires, until Close.
func (c *Cluster) every(d time.Duration, wake <-chan struct{}, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		case <-wake:
		}
		fn()
	}
}

// Broadcast implements registry.Peers.
func (c *Cluster) Broadcast(u registry.Update) {
	b, err := u.MarshalBinary()
	if err != nil {
		c.logErr("broadcast", err)
		return
	}
	c.mu.RLock()
	ps := make([]*peer, 0, len(c.peers))
	for _, p := range c.peers {
		ps = append(ps, p)
	}
	c.mu.RUnlock()
	for _, p := range ps {
		p.enqueue(item{kind: itemUpdate, b: b})
	}
}

// Snapshot implements registry.Peers.
func (c *Cluster) Snapshot(ctx context.Context, node string) ([]registry.Place, error) {
	p := c.peer(node)
	if p == nil {
		return nil, fmt.Errorf("cluster: %s is not a peer", node)
	}
	res, err := p.client.Cluster(ctx, []byte{reqSnapshot})
	if err != nil {
		return nil, err
	}
	return decodePlaces(res)
}

// Members implements registry.Peers.
func (c *Cluster) Members() []string { return c.Peers() }

var errNotPeer = errors.New("cluster: not a core of this region")

// newClient is the link client to one peer: it only ever dials that peer.
func (c *Cluster) newClient(p *peer) *linkquic.Client {
	return linkquic.NewClient(linkquic.ClientOptions{
		Addrs:  func() []string { return []string{p.addr()} },
		TLS:    c.o.TLS,
		Name:   c.o.Node,
		Logger: c.o.Logger.With("peer", p.name),
	})
}
