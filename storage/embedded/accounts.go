package embedded

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/xmpp/sasl"
)

// accounts implements auth.Store.
type accounts struct{ db *DB }

var errAccountName = errors.New("account domain and username must be non-empty and free of NUL")

// accountKey is domain \x00 username.
func accountKey(domain, username string) ([]byte, error) {
	if domain == "" || username == "" || strings.IndexByte(domain, 0) >= 0 || strings.IndexByte(username, 0) >= 0 {
		return nil, errAccountName
	}
	k := make([]byte, 0, len(domain)+1+len(username))
	k = append(k, domain...)
	k = append(k, 0)
	return append(k, username...), nil
}

func appendCredentials(b []byte, c sasl.Credentials) []byte {
	b = appendBytes(b, c.Salt)
	b = appendInt(b, c.Iterations)
	b = appendBytes(b, c.StoredKey)
	return appendBytes(b, c.ServerKey)
}

func (d *decoder) credentials() sasl.Credentials {
	return sasl.Credentials{
		Salt:       d.raw(),
		Iterations: d.int(),
		StoredKey:  d.raw(),
		ServerKey:  d.raw(),
	}
}

func encodeAccount(created time.Time, sha1, sha256 sasl.Credentials) []byte {
	// Fixed fields need at most 1 + 2*10 + 2*(4*10) bytes; 64 covers the
	// common case (small lengths and iteration counts) without a regrowth.
	n := 64 + len(sha1.Salt) + len(sha1.StoredKey) + len(sha1.ServerKey) +
		len(sha256.Salt) + len(sha256.StoredKey) + len(sha256.ServerKey)
	b := make([]byte, 0, n)
	b = append(b, recordV1)
	b = appendTime(b, created)
	b = appendCredentials(b, sha1)
	return appendCredentials(b, sha256)
}

// decodeAccount decodes v into a; the credentials share v's memory.
func decodeAccount(v []byte, a *auth.Account) error {
	d := newDecoder(v, "account")
	a.Created = d.time()
	a.SHA1 = d.credentials()
	a.SHA256 = d.credentials()
	return d.done()
}

func (s accounts) CreateAccount(ctx context.Context, a auth.Account) error {
	k, err := accountKey(a.Domain, a.Username)
	if err != nil {
		return wrap(err)
	}
	v := encodeAccount(a.Created, a.SHA1, a.SHA256)
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAccounts)
		if b.Get(k) != nil {
			return auth.ErrExists
		}
		return b.Put(k, v)
	}))
}

func (s accounts) GetAccount(ctx context.Context, domain, username string) (auth.Account, error) {
	a := auth.Account{Domain: domain, Username: username}
	k, err := accountKey(domain, username)
	if err != nil {
		return auth.Account{}, wrap(err)
	}
	var v []byte
	err = s.db.view(ctx, func(tx *bbolt.Tx) error {
		got := tx.Bucket(bucketAccounts).Get(k)
		if got == nil {
			return auth.ErrNotFound
		}
		// One copy out of bbolt's memory; the credentials slice into it.
		v = bytes.Clone(got)
		return nil
	})
	if err == nil {
		err = decodeAccount(v, &a)
	}
	if err != nil {
		return auth.Account{}, wrap(err)
	}
	return a, nil
}

func (s accounts) SetCredentials(ctx context.Context, domain, username string, sha1, sha256 sasl.Credentials) error {
	k, err := accountKey(domain, username)
	if err != nil {
		return wrap(err)
	}
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAccounts)
		v := b.Get(k)
		if v == nil {
			return auth.ErrNotFound
		}
		var a auth.Account
		if err := decodeAccount(v, &a); err != nil {
			return err
		}
		return b.Put(k, encodeAccount(a.Created, sha1, sha256))
	}))
}

func (s accounts) DeleteAccount(ctx context.Context, domain, username string) error {
	k, err := accountKey(domain, username)
	if err != nil {
		return wrap(err)
	}
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAccounts)
		if b.Get(k) == nil {
			return auth.ErrNotFound
		}
		return b.Delete(k)
	}))
}

func (s accounts) ListAccounts(ctx context.Context, domain string) ([]string, error) {
	if domain == "" || strings.IndexByte(domain, 0) >= 0 {
		return nil, wrap(errAccountName)
	}
	prefix := append([]byte(domain), 0)
	var names []string
	err := s.db.view(ctx, func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketAccounts).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			names = append(names, string(k[len(prefix):]))
		}
		return nil
	})
	return names, wrap(err)
}
