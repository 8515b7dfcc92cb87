// Package auth owns accounts: their salted SCRAM credentials, creation,
// removal and password changes, and the lookups SASL needs. It never stores
// or logs a password.
package auth

import (
	"context"
	"errors"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/sasl"
)

// Store errors.
var (
	ErrNotFound = errors.New("auth: account not found")
	ErrExists   = errors.New("auth: account exists")
)

// Account is one user account of one virtual host.
type Account struct {
	Domain   string // prepared domainpart
	Username string // prepared localpart
	SHA1     sasl.Credentials
	SHA256   sasl.Credentials
	Created  time.Time
}

// Store keeps accounts persistently. Implementations are safe for
// concurrent use.
type Store interface {
	// CreateAccount stores a new account; ErrExists if the name is taken.
	CreateAccount(ctx context.Context, a Account) error
	// GetAccount returns the account or ErrNotFound.
	GetAccount(ctx context.Context, domain, username string) (Account, error)
	// SetCredentials replaces the credentials; ErrNotFound if no account.
	SetCredentials(ctx context.Context, domain, username string, sha1, sha256 sasl.Credentials) error
	// DeleteAccount removes the account; ErrNotFound if no account.
	DeleteAccount(ctx context.Context, domain, username string) error
	// ListAccounts returns the usernames of a domain in ascending order.
	ListAccounts(ctx context.Context, domain string) ([]string, error)
}
