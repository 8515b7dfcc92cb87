// Package registry is the cluster layer of the session locator (DESIGN
// "Where sessions live"): it records, for every bound full JID of a region,
// the place that holds the session — core node, edge node, stream — with the
// priority and availability the router needs to pick resources of a bare
// JID. Entries expire unless refreshed, so the sessions of a node that dies
// disappear on their own.
//
// Two backends implement Registry: Memory, replicated across the cores of a
// region over a Peers transport, and Redis. Both pass the conformance suite
// in registrytest. The package only stores places; it must not route
// stanzas, end sessions or know about connections.
package registry

import (
	"context"
	"errors"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Place is where one full JID's session lives.
type Place struct {
	JID    jid.JID // full JID, the key
	Core   string  // core node that holds the session
	Edge   string  // edge node that holds the client's connection
	Stream string  // the session's id on that edge

	Priority  int  // of the last available presence (RFC 6121 §4.7.2.3)
	Available bool // the session sent available presence and is not unavailable since

	BoundAt time.Time // when the resource was bound
	// Expires is when the entry lapses unless refreshed. The registry sets
	// it; a value passed in is ignored.
	Expires time.Time
}

// Same reports whether p and q name the same session: the same full JID
// on the same core, edge and stream. Presence and times may differ.
func (p Place) Same(q Place) bool {
	return p.JID == q.JID && p.Core == q.Core && p.Edge == q.Edge && p.Stream == q.Stream
}

// Registry is a region's table of sessions. Every method is safe for
// concurrent use; errors are wrapped with the backend's name.
type Registry interface {
	// Register records p, replacing whatever place the full JID had, and
	// returns the live place it replaced (zero JID when none), so that the
	// caller can end that session (RFC 6120 §7.7.2.2).
	Register(ctx context.Context, p Place) (prev Place, err error)
	// Refresh extends the expiry of live sessions. A place that lapsed is
	// recorded again; a place whose full JID another live session holds now
	// is left alone and returned in lost, so that its core can end it.
	Refresh(ctx context.Context, places []Place) (lost []Place, err error)
	// Unregister removes p's entry only if the entry is still p's session
	// (Place.Same): a stale core cannot remove a newer session.
	Unregister(ctx context.Context, p Place) (bool, error)
	// SetPresence records p.Priority and p.Available, only if the entry is
	// still p's session; it does not change the expiry.
	SetPresence(ctx context.Context, p Place) (bool, error)
	// Lookup returns the live place of a full JID.
	Lookup(ctx context.Context, full jid.JID) (Place, bool, error)
	// Sessions returns the live places of every resource of a bare JID,
	// in no particular order.
	Sessions(ctx context.Context, bare jid.JID) ([]Place, error)
	// DropNode removes every entry held by the named node, as core or as
	// edge, and returns the entries it removed. Of cores calling it for
	// the same node at once, each entry goes to one (Redis); a replica
	// (memory) returns what it held itself.
	DropNode(ctx context.Context, node string) ([]Place, error)
	// Complete reports whether the registry holds the sessions of every
	// named node: false while some of them have not recorded theirs again
	// since the backend lost its entries (Redis restarted empty). A lookup
	// that finds nothing then means "not known yet", not "offline".
	Complete(ctx context.Context, nodes []string) (bool, error)
	// Close stops the registry's background work. It is idempotent.
	Close() error
}

// Errors the backends wrap.
var (
	// ErrUnavailable: the backend cannot be reached (Redis down); the
	// operation did nothing and may be retried.
	ErrUnavailable = errors.New("registry unavailable")
	// ErrInvalid: the place cannot be stored (not a full JID, a node name
	// or stream id with control characters, a missing core).
	ErrInvalid = errors.New("invalid place")
	// ErrClosed: the registry was closed.
	ErrClosed = errors.New("registry closed")
)
