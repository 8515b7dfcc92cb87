package roster

import (
	"context"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Subscription states of a roster item (RFC 6121 §2.1.2.5).
const (
	SubNone = "none"
	SubTo   = "to"
	SubFrom = "from"
	SubBoth = "both"
)

// Item is one roster item of a user (RFC 6121 §2.1).
type Item struct {
	JID          jid.JID // bare JID of the contact
	Name         string
	Subscription string // SubNone, SubTo, SubFrom or SubBoth
	Ask          bool   // outbound subscription request pending (ask='subscribe')
	PreApproved  bool   // inbound subscription pre-approved (RFC 6121 §3.4)
	Groups       []string
}

// Pending is an inbound subscription request the user has not answered
// (RFC 6121 §3.1.3): redelivered at every login until answered.
type Pending struct {
	From   jid.JID // bare JID of the requester
	Stanza []byte  // the subscribe presence as received
}

// Store keeps rosters persistently. user is always a bare JID. Every change
// to a user's roster items increments that user's roster version
// (XEP-0237), which is never reused, also across deletions.
type Store interface {
	// Items returns all roster items of user and the current version
	// (0 for a user who never had a roster).
	Items(ctx context.Context, user jid.JID) ([]Item, uint64, error)
	// Item returns one item; ok is false when there is none.
	Item(ctx context.Context, user, contact jid.JID) (it Item, ok bool, err error)
	// PutItem creates or replaces an item and returns the new version.
	PutItem(ctx context.Context, user jid.JID, it Item) (uint64, error)
	// DeleteItem removes an item (no error if absent) and returns the new version.
	DeleteItem(ctx context.Context, user, contact jid.JID) (uint64, error)
	// PendingIn lists unanswered inbound subscription requests.
	PendingIn(ctx context.Context, user jid.JID) ([]Pending, error)
	// PutPendingIn stores or replaces a request from p.From.
	PutPendingIn(ctx context.Context, user jid.JID, p Pending) error
	// DeletePendingIn removes a request (no error if absent).
	DeletePendingIn(ctx context.Context, user, from jid.JID) error
	// DeleteUser removes the user's roster, pending requests and version.
	DeleteUser(ctx context.Context, user jid.JID) error
}
