package last

import (
	"context"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Store keeps when each user was last seen online and their last status
// (XEP-0012). user is a bare JID.
type Store interface {
	// SetLast records the logout time and the status text of the last
	// unavailable presence.
	SetLast(ctx context.Context, user jid.JID, at time.Time, status string) error
	// GetLast returns the record; ok is false when the user never logged out.
	GetLast(ctx context.Context, user jid.JID) (at time.Time, status string, ok bool, err error)
	// DeleteUser removes the record.
	DeleteUser(ctx context.Context, user jid.JID) error
}
