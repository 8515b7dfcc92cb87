package node

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/core/admin"
	"github.com/meridian-xmpp/meridian/edge/c2s"
	"github.com/meridian-xmpp/meridian/mesh"
)

// drainState is a node's lame-duck drain (Drain): it stops taking clients,
// moves the ones it has to other edges, then reports Drained; the process
// then exits (cmd/meridian).
type drainState struct {
	drainMu  sync.Mutex
	drainSt  *admin.DrainState // nil until Drain
	drainedC chan struct{}     // closed once drained (drainedChLocked)
}

// ErrNotEdge is Drain's answer on a node without the edge role: it holds
// no client connection to move.
var ErrNotEdge = errors.New("this node has no edge role: it holds no client connection to drain")

// Drain starts a lame-duck drain: the client listeners close (new c2s,
// WebSocket and BOSH streams are refused), /readyz answers 503, every
// open stream is ended with <see-other-host/> naming one of redirect in
// turn (or <system-shutdown/> when redirect is empty), in batches spread
// over period; once no stream remains, or timeout passes (the rest then
// get <system-shutdown/>), Drained is closed. It returns at once. A second
// call changes nothing and returns the drain already under way.
func (n *Node) Drain(timeout, period time.Duration, redirect []string) (admin.DrainState, error) {
	if n.c2s == nil {
		return admin.DrainState{}, ErrNotEdge
	}
	n.drainMu.Lock()
	defer n.drainMu.Unlock()
	if n.drainSt != nil {
		return n.drainStateLocked(), nil
	}
	period = min(period, timeout)
	if len(redirect) == 0 {
		redirect = n.otherEdges()
	}
	if n.mesh != nil {
		if err := n.mesh.SetDraining(); err != nil {
			n.log.Warn("mesh: cannot announce the drain", "err", err)
		}
	}
	now := time.Now().UTC()
	n.drainSt = &admin.DrainState{Draining: true, Since: now, Deadline: now.Add(timeout), Period: period.String(), Redirect: redirect}
	if n.drainSt.Redirect == nil {
		n.drainSt.Redirect = []string{}
	}
	drained := n.drainedChLocked()
	n.c2s.StopAccepting() // before the answer: a client that connects next is refused
	n.log.Warn("node draining", "timeout", timeout, "period", period, "redirect", redirect, "streams", n.c2s.Count())
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		err := n.c2s.Drain(ctx, c2s.DrainOptions{Period: period, Redirect: redirect})
		if errors.Is(err, context.DeadlineExceeded) {
			// Out of time: the rest get <system-shutdown/>, briefly.
			n.log.Warn("drain timed out: ending the remaining streams", "streams", n.c2s.Count())
			grace, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			n.c2s.Shutdown(grace)
			cancel()
		}
		n.drainMu.Lock()
		n.drainSt.Drained = true
		close(drained)
		n.drainMu.Unlock()
		n.log.Warn("node drained")
	}()
	return n.drainStateLocked(), nil
}

// otherEdges are the client addresses of the region's other edges that
// are not draining, least loaded first: where a drain sends clients when
// the operator names none.
func (n *Node) otherEdges() []string {
	if n.mesh == nil {
		return nil
	}
	es := n.mesh.Edges(n.cfg.Mesh.Region)
	slices.SortStableFunc(es, func(a, b mesh.Member) int { return cmp.Compare(a.Tags.Load, b.Tags.Load) })
	var out []string
	for _, e := range es {
		if e.Name != n.cfg.Node.Name && e.Tags.C2S != "" {
			out = append(out, dialAddr(e.Tags.C2S, e.Addr))
		}
	}
	return out
}

// drainStateLocked is the drain's state with the current stream count.
func (n *Node) drainStateLocked() admin.DrainState {
	if n.drainSt == nil {
		return admin.DrainState{Redirect: []string{}}
	}
	s := *n.drainSt
	s.Streams = n.streams()
	return s
}

// DrainState returns the drain's state (Draining false before Drain).
func (n *Node) DrainState() admin.DrainState {
	n.drainMu.Lock()
	defer n.drainMu.Unlock()
	return n.drainStateLocked()
}

// Draining reports whether Drain has been called.
func (n *Node) Draining() bool {
	n.drainMu.Lock()
	defer n.drainMu.Unlock()
	return n.drainSt != nil
}

// Drained is closed once a drain is over (the node may then shut down and
// the process exit). It is the same channel before and after Drain.
func (n *Node) Drained() <-chan struct{} {
	n.drainMu.Lock()
	defer n.drainMu.Unlock()
	return n.drainedChLocked()
}

func (n *Node) drainedChLocked() chan struct{} {
	if n.drainedC == nil {
		n.drainedC = make(chan struct{})
	}
	return n.drainedC
}

// adminDrain adapts Drain for the admin API.
func (n *Node) adminDrain(timeout, period time.Duration, redirect []string) (admin.DrainState, error) {
	st, err := n.Drain(timeout, period, redirect)
	if errors.Is(err, ErrNotEdge) {
		return st, admin.ErrCannotDrain{Reason: err.Error()}
	}
	return st, err
}
