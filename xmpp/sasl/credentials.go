package sasl

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"hash"

	"golang.org/x/text/secure/precis"
)

// Hash names, as DeriveCredentials and the storage layer spell them.
const (
	SHA1   = "SHA-1"
	SHA256 = "SHA-256"
)

// saltLen is the length of NewSalt's salts and of the fake salts given for
// unknown users, which must look the same.
const saltLen = 16

// hashFunc returns the hash function named name, or nil.
func hashFunc(name string) func() hash.Hash {
	switch name {
	case SHA1:
		return sha1.New
	case SHA256:
		return sha256.New
	}
	return nil
}

// NewSalt returns a fresh random salt for DeriveCredentials.
func NewSalt() []byte {
	b := make([]byte, saltLen)
	rand.Read(b) // never fails (crypto/rand, Go 1.24)
	return b
}

// DeriveCredentials computes the SCRAM credentials a server stores for a
// password (RFC 5802 §3): SaltedPassword = Hi(password, salt, i) (PBKDF2
// with HMAC), StoredKey = H(HMAC(SaltedPassword, "Client Key")) and
// ServerKey = HMAC(SaltedPassword, "Server Key"). The password is first
// prepared with the OpaqueString profile (RFC 8265 §4.2, which replaces
// SASLprep, RFC 7677 §4). hash is "SHA-1" or "SHA-256".
func DeriveCredentials(hash string, password string, salt []byte, iterations int) (Credentials, error) {
	h := hashFunc(hash)
	switch {
	case h == nil:
		return Credentials{}, fmt.Errorf("sasl: unknown hash %q", hash)
	case len(salt) == 0:
		return Credentials{}, fmt.Errorf("sasl: empty salt")
	case iterations < 1:
		return Credentials{}, fmt.Errorf("sasl: iteration count %d", iterations)
	}
	p, err := precis.OpaqueString.String(password)
	if err != nil {
		return Credentials{}, fmt.Errorf("sasl: password: %w", err)
	}
	salted, err := pbkdf2.Key(h, p, salt, iterations, h().Size())
	if err != nil {
		return Credentials{}, fmt.Errorf("sasl: %w", err)
	}
	clientKey := hmacSum(h, salted, clientKeyLabel)
	storedKey := h()
	storedKey.Write(clientKey)
	return Credentials{
		Salt:       append([]byte(nil), salt...),
		Iterations: iterations,
		StoredKey:  storedKey.Sum(nil),
		ServerKey:  hmacSum(h, salted, serverKeyLabel),
	}, nil
}

var (
	clientKeyLabel = []byte("Client Key")
	serverKeyLabel = []byte("Server Key")
)

func hmacSum(h func() hash.Hash, key []byte, msgs ...[]byte) []byte {
	m := hmac.New(h, key)
	for _, b := range msgs {
		m.Write(b)
	}
	return m.Sum(nil)
}
