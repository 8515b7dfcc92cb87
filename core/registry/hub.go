package registry

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Hub connects Memory replicas inside one process: the Peers of cores
// that share a process, and of the tests. Updates pass through their
// binary form, as they would over a network, and each replica receives
// them in order from one goroutine of its own, so a slow replica never
// blocks a sender.
type Hub struct {
	mu    sync.Mutex
	nodes map[string]*hubNode
}

type hubNode struct {
	name string
	r    *Memory

	mu     sync.Mutex
	inbox  []hubMsg
	wake   chan struct{}
	closed bool
	done   chan struct{}
}

type hubMsg struct {
	from string
	b    []byte
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{nodes: map[string]*hubNode{}} }

// Peers returns the Peers of the named core; give it to NewMemory, then
// Attach the replica.
func (h *Hub) Peers(node string) Peers { return hubPeers{h: h, self: node} }

// Attach starts delivering updates to r, named node, and lets the other
// replicas reach it.
func (h *Hub) Attach(node string, r *Memory) {
	n := &hubNode{name: node, r: r, wake: make(chan struct{}, 1), done: make(chan struct{})}
	h.mu.Lock()
	h.nodes[node] = n
	h.mu.Unlock()
	go n.run()
}

// Leave removes a core as the mesh does when it sees the core fail or
// leave: the others drop its entries at once.
func (h *Hub) Leave(node string) {
	if !h.Cut(node) {
		return
	}
	for _, n := range h.members("") {
		n.r.PeerLeft(node)
	}
}

// Cut removes a core without telling the others, as when a core dies
// unnoticed: its entries stay until they expire. It reports whether the
// core was attached.
func (h *Hub) Cut(node string) bool {
	h.mu.Lock()
	n := h.nodes[node]
	delete(h.nodes, node)
	h.mu.Unlock()
	if n == nil {
		return false
	}
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
	<-n.done
	return true
}

// members returns the attached nodes except one, by name.
func (h *Hub) members(except string) []*hubNode {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*hubNode, 0, len(h.nodes))
	for name, n := range h.nodes {
		if name != except {
			out = append(out, n)
		}
	}
	return out
}

func (n *hubNode) run() {
	defer close(n.done)
	for {
		n.mu.Lock()
		batch, closed := n.inbox, n.closed
		n.inbox = nil
		n.mu.Unlock()
		if closed {
			return
		}
		for _, m := range batch {
			var u Update
			if err := u.UnmarshalBinary(m.b); err != nil {
				n.r.Apply(m.from, Update{}) // counted as malformed
				continue
			}
			n.r.Apply(m.from, u)
		}
		if len(batch) == 0 {
			<-n.wake
		}
	}
}

func (n *hubNode) push(m hubMsg) {
	n.mu.Lock()
	if !n.closed {
		n.inbox = append(n.inbox, m)
	}
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Send delivers raw bytes to a node as if from another: tests use it to
// feed a replica garbage.
func (h *Hub) Send(from, to string, b []byte) {
	for _, n := range h.members("") {
		if n.name == to {
			n.push(hubMsg{from: from, b: slices.Clone(b)})
		}
	}
}

type hubPeers struct {
	h    *Hub
	self string
}

func (p hubPeers) Broadcast(u Update) {
	b, err := u.MarshalBinary()
	if err != nil {
		return // the replica checked the place before changing anything
	}
	for _, n := range p.h.members(p.self) {
		n.push(hubMsg{from: p.self, b: b})
	}
}

func (p hubPeers) Snapshot(ctx context.Context, node string) ([]Place, error) {
	for _, n := range p.h.members(p.self) {
		if n.name != node {
			continue
		}
		var out []Place
		for _, pl := range n.r.Own() {
			b, err := Update{Op: OpSet, Place: pl}.MarshalBinary()
			if err != nil {
				return nil, err
			}
			var u Update
			if err := u.UnmarshalBinary(b); err != nil {
				return nil, err
			}
			out = append(out, u.Place)
		}
		return out, ctx.Err()
	}
	return nil, fmt.Errorf("hub: no core %q", node)
}

func (p hubPeers) Members() []string {
	var out []string
	for _, n := range p.h.members(p.self) {
		out = append(out, n.name)
	}
	return out
}
