package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/core"
	"github.com/meridian-xmpp/meridian/core/registry"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/link/wire"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// Requests between cores (the payload of the link's cluster method).
const (
	reqBatch    = 'B' // items, applied in order; the answer is empty
	reqSnapshot = 'S' // the places this core holds (registry.Memory.Own)
)

// Items of a batch.
const (
	itemStanza  = 'F' // route to this core's sessions (core.RouteInbound)
	itemUpdate  = 'U' // a registry.Update for the in-memory replica
	itemEnd     = 'E' // end the session of a full JID: another core bound it
	itemDeliver = 'D' // hand a stanza to one session as it is (core.DeliverTo)
)

// encodeBatch: the sender's epoch (random per process) and the batch's
// sequence number, then the items. The receiver applies each sequence
// number once per epoch.
func encodeBatch(epoch, seq uint64, batch []item) []byte {
	b := []byte{reqBatch}
	b = wire.AppendUvarint(b, epoch)
	b = wire.AppendUvarint(b, seq)
	for _, it := range batch {
		b = append(b, it.kind)
		switch it.kind {
		case itemStanza:
			b = wire.AppendStanzaValue(b, it.st)
		case itemUpdate:
			b = wire.AppendBytes(b, it.b)
		case itemEnd:
			b = wire.AppendString(b, it.full.String())
			b = wire.AppendString(b, it.stream)
		case itemDeliver:
			b = wire.AppendString(b, it.full.String())
			b = wire.AppendStanzaValue(b, it.st)
		}
	}
	return b
}

// inbound is what a core remembers of another's batches: the last
// sequence number it applied in the sender's current epoch.
type inbound struct {
	mu    sync.Mutex
	epoch uint64
	last  uint64
}

func (c *Cluster) inboundOf(from string) *inbound {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	in := c.in[from]
	if in == nil {
		in = &inbound{}
		c.in[from] = in
	}
	return in
}

// Cluster implements link.ClusterHandler: a request from another core.
// Only the current peers (cores of this region in the mesh) are served;
// the link already checked the caller's certificate.
func (c *Cluster) Cluster(ctx context.Context, from string, req []byte) ([]byte, error) {
	if !c.live(from) && !c.leaving(from) {
		metrics.ClusterErrors.WithLabelValues("not_peer").Inc()
		if c.logged.First("not peer " + from) {
			c.log.Warn("cluster: request from a node that is not a core of this region (logged once per node)", "from", from)
		}
		return nil, errNotPeer
	}
	if len(req) == 0 {
		return nil, errors.New("cluster: empty request")
	}
	switch req[0] {
	case reqSnapshot:
		if c.mem == nil {
			return nil, errors.New("cluster: no in-memory registry here")
		}
		return encodePlaces(c.mem.Own())
	case reqBatch:
		d := wire.NewDec(req[1:])
		epoch, seq := d.Uvarint(), d.Uvarint()
		if d.Err() != nil {
			return nil, c.malformed(from, "batch", d.Err())
		}
		in := c.inboundOf(from)
		in.mu.Lock()
		defer in.mu.Unlock()
		if in.epoch == epoch && seq <= in.last {
			metrics.ClusterErrors.WithLabelValues("duplicate_batch").Inc()
			return nil, nil // a copy sent again after a timeout: applied already
		}
		in.epoch, in.last = epoch, seq
		return nil, c.apply(ctx, from, d)
	}
	return nil, fmt.Errorf("cluster: unknown request %q", req[0])
}

// apply applies a batch in order. A malformed item stops it: the rest is
// not trusted (the sender logs the error and retries, then gives up).
func (c *Cluster) apply(ctx context.Context, from string, d *wire.Dec) error {
	for d.Len() > 0 {
		kind := d.Byte()
		switch kind {
		case itemStanza:
			st, err := wire.DecodeStanzaValue(d)
			if err != nil || st == nil {
				return c.malformed(from, "stanza", err)
			}
			metrics.ClusterReceived.Inc()
			c.o.Core.RouteInbound(ctx, st)
		case itemUpdate:
			b := d.Bytes()
			var u registry.Update
			if err := d.Err(); err != nil {
				return c.malformed(from, "update", err)
			}
			if err := u.UnmarshalBinary(b); err != nil {
				return c.malformed(from, "update", err)
			}
			if c.mem != nil {
				c.mem.Apply(from, u)
			}
		case itemEnd:
			full, stream := d.String(), d.String()
			if err := d.Err(); err != nil {
				return c.malformed(from, "end", err)
			}
			j, err := jid.Parse(full)
			if err != nil {
				return c.malformed(from, "end", err)
			}
			// Another core bound the full JID again: this session ends,
			// unless it is a newer one than the core saw.
			c.o.Core.EndSession(j, stream, &stanza.StreamError{Condition: stanza.Conflict, Text: "replaced by a new session"})
		case itemDeliver:
			full := d.String()
			st, err := wire.DecodeStanzaValue(d)
			if err != nil || st == nil {
				return c.malformed(from, "deliver", err)
			}
			j, err := jid.Parse(full)
			if err != nil {
				return c.malformed(from, "deliver", err)
			}
			metrics.ClusterReceived.Inc()
			c.deliverHere(ctx, j, st)
		default:
			return c.malformed(from, "kind", fmt.Errorf("unknown item %q", kind))
		}
	}
	return nil
}

func (c *Cluster) malformed(from, what string, err error) error {
	metrics.ClusterErrors.WithLabelValues("malformed").Inc()
	if c.logged.First("malformed " + from) {
		c.log.Warn("cluster: malformed request from a core (logged once per core)", "from", from, "item", what, "err", err)
	}
	return fmt.Errorf("cluster: malformed %s: %w", what, err)
}

func encodePlaces(places []registry.Place) ([]byte, error) {
	b := wire.AppendUvarint(nil, uint64(len(places)))
	for _, p := range places {
		u, err := registry.Update{Op: registry.OpSet, Place: p}.MarshalBinary()
		if err != nil {
			return nil, err
		}
		b = wire.AppendBytes(b, u)
	}
	return b, nil
}

func decodePlaces(b []byte) ([]registry.Place, error) {
	d := wire.NewDec(b)
	n := d.Uvarint()
	if d.Err() != nil || n > uint64(len(b)) {
		return nil, errors.New("cluster: malformed snapshot")
	}
	out := make([]registry.Place, 0, n)
	for range n {
		var u registry.Update
		if err := u.UnmarshalBinary(d.Bytes()); err != nil || d.Err() != nil {
			return nil, errors.New("cluster: malformed snapshot")
		}
		out = append(out, u.Place)
	}
	return out, nil
}

// LinkCore is what the core's link server serves: the core, with
// sessions of users homed on another core relayed there, and the
// requests of the other cores.
func (c *Cluster) LinkCore() link.Core { return linkCore{Core: c.o.Core, c: c} }

type linkCore struct {
	*core.Core
	c *Cluster
}

var _ link.ClusterHandler = linkCore{}

func (l linkCore) Cluster(ctx context.Context, from string, req []byte) ([]byte, error) {
	return l.c.Cluster(ctx, from, req)
}

// Open binds the session here, or relays it to the user's home when the
// user is bound on another live core. A reopened session (its core
// failed) is bound here: the edge chose this core.
func (l linkCore) Open(ctx context.Context, req link.OpenRequest, sink link.Sink) (link.Session, error) {
	// A session a core opens here (a relay, or one its relay client moved
	// here or to itself) is bound here: relaying it again could send it in
	// a circle.
	fromCore := req.Edge != "" && (req.Edge == l.c.o.Node || l.c.live(req.Edge))
	if !req.Reopen && !fromCore && l.c.reg != nil {
		places, err := l.c.reg.Sessions(ctx, req.User.Bare())
		if err != nil {
			l.c.logErr("sessions", err)
		}
		// A relay client is nil only once the cluster closed: bound here.
		if live, _ := l.c.home(places); live.Core != "" {
			if r := l.c.relay(live.Core); r != nil {
				rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				s, err := r.Open(rctx, req, sink)
				cancel()
				var se *stanza.Error
				if err == nil || errors.As(err, &se) {
					if err == nil {
						metrics.ClusterRelays.Inc()
					}
					return s, err
				}
				metrics.ClusterErrors.WithLabelValues("relay").Inc()
				if l.c.logged.First("relay " + live.Core) {
					l.c.log.Warn("cluster: cannot relay a session to its user's core; binding it here", "peer", live.Core, "err", err)
				}
			}
		}
	}
	return l.Core.Open(ctx, req, sink)
}
