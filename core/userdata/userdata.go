// Package userdata is the per-user keyed blob store that small per-user
// modules share (vcard, private, blocking): each keeps its documents
// under its own keys of a user, and a storage backend provides one Store
// for all of them. It owns the interface and the rules on keys; what a
// value means belongs to the module that wrote it, and the backend treats
// values as opaque bytes. It also offers the striped per-user lock those
// modules serialise their read-modify-write cycles with.
package userdata

import (
	"context"
	"errors"
	"strings"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Store keeps opaque values per (user, key). user is a bare JID (a full
// JID is reduced to its bare JID); key is a module-chosen name such as
// "vcard" (see CheckKey). A Store is safe for concurrent use; each call
// is atomic on its own, and a module that reads, changes and writes back
// a value serialises that itself.
type Store interface {
	// Get returns the value stored under key; ok is false when there is
	// none. The returned slice belongs to the caller.
	Get(ctx context.Context, user jid.JID, key string) (value []byte, ok bool, err error)
	// Put stores value under key, replacing any value there. An empty
	// value is stored (Get then reports ok with an empty value). Put does
	// not keep value after it returns.
	Put(ctx context.Context, user jid.JID, key string, value []byte) error
	// Delete removes key; removing a key that is not there is not an
	// error.
	Delete(ctx context.Context, user jid.JID, key string) error
	// RemoveUser removes every key of user (the account is being
	// deleted); a user with nothing stored is not an error.
	RemoveUser(ctx context.Context, user jid.JID) error
}

// MaxKeyLen bounds a key, so that every backend can index it.
const MaxKeyLen = 255

// ErrBadKey is returned (wrapped) for a key CheckKey refuses.
var ErrBadKey = errors.New("userdata: invalid key")

// CheckKey reports whether key may be used: 1 to MaxKeyLen bytes, no NUL
// (backends use it as a separator).
func CheckKey(key string) error {
	if key == "" || len(key) > MaxKeyLen || strings.IndexByte(key, 0) >= 0 {
		return ErrBadKey
	}
	return nil
}
