package auth

import (
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/sasl"
)

// MinIterations is the lowest PBKDF2 iteration count accepted (RFC 7677 §4).
const MinIterations = 4096

// NewAccount derives salted SCRAM-SHA-1 and SCRAM-SHA-256 credentials for a
// password; the password itself is not kept.
func NewAccount(domain, username, password string, iterations int) (Account, error) {
	a := Account{Domain: domain, Username: username, Created: time.Now().UTC()}
	var err error
	a.SHA1, a.SHA256, err = Credentials(password, iterations)
	return a, err
}

// Credentials derives both credential sets for a password.
func Credentials(password string, iterations int) (sha1, sha256 sasl.Credentials, err error) {
	if iterations < MinIterations {
		iterations = MinIterations
	}
	if password == "" {
		return sha1, sha256, fmt.Errorf("auth: empty password")
	}
	sha1, err = sasl.DeriveCredentials("SHA-1", password, sasl.NewSalt(), iterations)
	if err != nil {
		return sha1, sha256, fmt.Errorf("auth: %w", err)
	}
	sha256, err = sasl.DeriveCredentials("SHA-256", password, sasl.NewSalt(), iterations)
	if err != nil {
		return sha1, sha256, fmt.Errorf("auth: %w", err)
	}
	return sha1, sha256, nil
}

// Verify checks a password against stored SHA-256 credentials (SASL PLAIN).
func Verify(a Account, password string) bool {
	c := a.SHA256
	if c.IsZero() {
		return false
	}
	got, err := sasl.DeriveCredentials("SHA-256", password, c.Salt, c.Iterations)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got.StoredKey, c.StoredKey) == 1
}
