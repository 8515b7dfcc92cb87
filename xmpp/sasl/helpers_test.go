package sasl

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"hash"
	"strconv"
	"strings"
	"testing"
)

// A hand-written SCRAM client, straight from RFC 5802 §3 and RFC 9266, so
// tests can send what no well-behaved library would.

// proveFinal computes the ClientProof for an exchange and the
// ServerSignature the client expects back.
func proveFinal(h func() hash.Hash, password, bare, serverFirst, withoutProof string) (proof, serverSig string) {
	salt, iter := parseServerFirst(serverFirst)
	salted, err := pbkdf2.Key(h, password, salt, iter, h().Size())
	if err != nil {
		panic(err)
	}
	auth := bare + "," + serverFirst + "," + withoutProof
	clientKey := mac(h, salted, "Client Key")
	sh := h()
	sh.Write(clientKey)
	storedKey := sh.Sum(nil)
	p := mac(h, storedKey, auth)
	subtle.XORBytes(p, p, clientKey)
	serverKey := mac(h, salted, "Server Key")
	return base64.StdEncoding.EncodeToString(p), base64.StdEncoding.EncodeToString(mac(h, serverKey, auth))
}

func mac(h func() hash.Hash, key []byte, msg string) []byte {
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// parseServerFirst returns s= and i= of a server-first-message.
func parseServerFirst(sf string) (salt []byte, iter int) {
	for _, a := range strings.Split(sf, ",") {
		switch {
		case strings.HasPrefix(a, "s="):
			salt, _ = base64.StdEncoding.DecodeString(a[2:])
		case strings.HasPrefix(a, "i="):
			iter, _ = strconv.Atoi(a[2:])
		}
	}
	return salt, iter
}

// serverNonce returns r= of a server-first-message.
func serverNonce(sf string) string {
	a, _, _ := strings.Cut(sf, ",")
	return strings.TrimPrefix(a, "r=")
}

// testAccounts is a user table: username → password.
type testAccounts map[string]string

// lookup derives credentials on the fly, with few iterations to keep tests
// fast; vectors use their own.
func (a testAccounts) lookup(hashName string) Lookup {
	return func(u string) (Credentials, error) {
		p, ok := a[u]
		if !ok {
			return Credentials{}, ErrUnknownUser
		}
		return DeriveCredentials(hashName, p, []byte("salt:"+u), 64)
	}
}

func (a testAccounts) config() Config {
	return Config{
		Lookup1:   a.lookup(SHA1),
		Lookup256: a.lookup(SHA256),
		VerifyPlain: func(u, p string) (bool, error) {
			want, ok := a[u]
			if !ok {
				return false, ErrUnknownUser
			}
			return subtle.ConstantTimeCompare([]byte(want), []byte(p)) == 1, nil
		},
	}
}

// wantFailure checks that err is a *Failure with condition cond.
func wantFailure(t *testing.T, err error, cond string) {
	t.Helper()
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("error %v (%T), want a *Failure %s", err, err, cond)
	}
	if f.Condition != cond {
		t.Fatalf("failure %q, want %s", f, cond)
	}
}
