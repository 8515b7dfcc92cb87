package mam

import (
	"context"
	"errors"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Message is one archived message.
type Message struct {
	// ID is the archive UID; ID.Time is when the message was archived.
	ID ID
	// With is the other party as the stanza named it: the to of an
	// outgoing message, the from of an incoming one; bare or full.
	With jid.JID
	// Stanza is the message as sent or received, its top element
	// declaring xmlns='jabber:client' so that it can be embedded as it
	// is (XEP-0297).
	Stanza []byte
}

// Entry is a message for one archive.
type Entry struct {
	// User is the archive's owner, a bare JID.
	User jid.JID
	Message
}

// Query selects messages of one archive. The filters (With, Start, End,
// AfterID, BeforeID, IDs) define the result set; After, Before, Last and
// Max cut one page out of it (XEP-0059).
type Query struct {
	// With: the zero JID matches every message; a bare JID every message
	// whose With has that bare JID; a full JID only that exact JID.
	With jid.JID
	// Start and End bound ID.Time, inclusive; zero means unbounded.
	Start, End time.Time
	// AfterID and BeforeID are exclusive bounds; the zero ID means none.
	// A non-zero one must be in the archive, else ErrUnknownID.
	AfterID, BeforeID ID
	// IDs, when not nil, restricts the set to these messages; every one
	// must be in the archive, else ErrUnknownID.
	IDs []ID

	// After and Before are the exclusive RSM paging bounds; the zero ID
	// means none, a non-zero one must be in the archive (not necessarily
	// in the result set), else ErrUnknownID.
	After, Before ID
	// Last pages from the end of the set backwards (RSM <before/>): the
	// page holds the newest matching messages before Before.
	Last bool
	// Max is the page size; 0 returns no messages, only Count.
	Max int
}

// Page is the result of a Query.
type Page struct {
	// Messages are the page, oldest first.
	Messages []Message
	// Complete is true when no matching message lies beyond the page in
	// the paging direction: after it, or before it when Last.
	Complete bool
	// Count is the size of the result set (the filters only, not the
	// paging), or -1 when the backend cannot tell cheaply.
	Count int
	// Index is the position of Messages[0] in the result set, or -1 when
	// unknown or when the page is empty.
	Index int
}

// Default archiving policies (XEP-0441 §2.1.1).
const (
	Always = "always"
	Never  = "never"
	Roster = "roster"
)

// Prefs are a user's archiving preferences (XEP-0441).
type Prefs struct {
	Default       string // Always, Never or Roster
	Always, Never []jid.JID
}

// ErrUnknownID is returned by Query when an ID it must find is not in the
// archive.
var ErrUnknownID = errors.New("mam: no such message in the archive")

// Store keeps message archives and archiving preferences. user is
// always a bare JID.
type Store interface {
	// Append adds messages to archives, which are kept in ID order; each
	// ID is new (messages handled concurrently may arrive out of ID
	// order). The entries are stored together or not at all, and are
	// durable when Append returns nil.
	Append(ctx context.Context, entries ...Entry) error
	// Query returns one page of user's archive.
	Query(ctx context.Context, user jid.JID, q Query) (Page, error)
	// Bounds returns the IDs of the oldest and newest messages; ok is
	// false for an empty archive.
	Bounds(ctx context.Context, user jid.JID) (first, last ID, ok bool, err error)
	// Prefs returns the preferences; ok is false when none were set.
	Prefs(ctx context.Context, user jid.JID) (p Prefs, ok bool, err error)
	// SetPrefs stores the preferences, replacing any.
	SetPrefs(ctx context.Context, user jid.JID, p Prefs) error
	// DeleteUser removes the archive and the preferences.
	DeleteUser(ctx context.Context, user jid.JID) error
}
