package pep

import (
	"context"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Node is one node of a user's PEP service.
type Node struct {
	Name   string
	Config NodeConfig
}

// Item is one published item.
type Item struct {
	ID string
	// Payload is the payload element as XML, its namespace declared; nil
	// for an item published without one.
	Payload   []byte
	Published time.Time
}

// Store keeps the nodes and items of every user's PEP service. owner is
// always a bare JID. A node's items are ordered by publication: an item
// published again with the same ID replaces the old one and becomes the
// newest. Reading a node that does not exist is not an error: it has no
// items.
type Store interface {
	// Nodes lists the owner's nodes in name order.
	Nodes(ctx context.Context, owner jid.JID) ([]Node, error)
	// Node returns one node; ok is false when there is none.
	Node(ctx context.Context, owner jid.JID, name string) (n Node, ok bool, err error)
	// PutNode creates a node or replaces its configuration, keeping its
	// items.
	PutNode(ctx context.Context, owner jid.JID, n Node) error
	// DeleteNode removes a node and its items; ok reports whether it
	// existed.
	DeleteNode(ctx context.Context, owner jid.JID, name string) (ok bool, err error)
	// Publish stores n (creating the node or replacing its
	// configuration) and it in one step, then removes the oldest items
	// past max (when max > 0) and returns their IDs, oldest first.
	Publish(ctx context.Context, owner jid.JID, n Node, it Item, max int) (removed []string, err error)
	// Items returns the newest max items of a node (all when max <= 0),
	// oldest first.
	Items(ctx context.Context, owner jid.JID, node string, max int) ([]Item, error)
	// Item returns one item; ok is false when there is none.
	Item(ctx context.Context, owner jid.JID, node, id string) (it Item, ok bool, err error)
	// DeleteItem removes one item; ok reports whether it existed.
	DeleteItem(ctx context.Context, owner jid.JID, node, id string) (ok bool, err error)
	// Trim removes the oldest items past max (max > 0) and returns their
	// IDs, oldest first.
	Trim(ctx context.Context, owner jid.JID, node string, max int) (removed []string, err error)
	// Purge removes every item of a node and keeps the node.
	Purge(ctx context.Context, owner jid.JID, node string) error
	// DeleteUser removes every node and item of owner.
	DeleteUser(ctx context.Context, owner jid.JID) error
}
