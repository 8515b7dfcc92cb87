package offline

import (
	"context"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Store keeps messages for users with no available resource, in arrival
// order. user is a bare JID.
type Store interface {
	// Push appends a message unless the user already has limit messages
	// stored (limit <= 0: no limit); stored reports whether it was kept.
	Push(ctx context.Context, user jid.JID, msg []byte, limit int) (stored bool, err error)
	// Pop returns every stored message, oldest first, and removes them.
	Pop(ctx context.Context, user jid.JID) ([][]byte, error)
	// Count returns how many messages are stored.
	Count(ctx context.Context, user jid.JID) (int, error)
	// DeleteUser removes every stored message.
	DeleteUser(ctx context.Context, user jid.JID) error
}
