package embedded

import (
	"bytes"
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/meridian-xmpp/meridian/core/userdata"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// userData implements userdata.Store. Keys are user \x00 key, so a
// user's keys are one prefix scan; values are recordV1 followed by the
// module's bytes, raw, to the end of the value.
type userData struct{ db *DB }

func userDataKey(user jid.JID, key string) ([]byte, error) {
	if err := userdata.CheckKey(key); err != nil {
		return nil, fmt.Errorf("%w %q", err, key)
	}
	p, err := userDataPrefix(user)
	if err != nil {
		return nil, err
	}
	return append(p, key...), nil
}

func userDataPrefix(user jid.JID) ([]byte, error) {
	k, err := bareKey(user)
	if err != nil {
		return nil, err
	}
	return append(k, 0), nil
}

func (s userData) Get(ctx context.Context, user jid.JID, key string) ([]byte, bool, error) {
	k, err := userDataKey(user, key)
	if err != nil {
		return nil, false, wrap(err)
	}
	var (
		out []byte
		ok  bool
	)
	err = s.db.view(ctx, func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketUserData).Get(k)
		if v == nil {
			return nil
		}
		d := newDecoder(v, "user data")
		if d.err != nil {
			return d.err
		}
		// bbolt's memory is valid only inside the transaction.
		out, ok = append([]byte{}, d.b...), true
		return nil
	})
	if err != nil {
		return nil, false, wrap(err)
	}
	return out, ok, nil
}

func (s userData) Put(ctx context.Context, user jid.JID, key string, value []byte) error {
	k, err := userDataKey(user, key)
	if err != nil {
		return wrap(err)
	}
	v := make([]byte, 0, 1+len(value))
	v = append(v, recordV1)
	v = append(v, value...)
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketUserData).Put(k, v)
	}))
}

func (s userData) Delete(ctx context.Context, user jid.JID, key string) error {
	k, err := userDataKey(user, key)
	if err != nil {
		return wrap(err)
	}
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketUserData).Delete(k)
	}))
}

func (s userData) RemoveUser(ctx context.Context, user jid.JID) error {
	p, err := userDataPrefix(user)
	if err != nil {
		return wrap(err)
	}
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketUserData)
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			keys = append(keys, append([]byte(nil), k...))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	}))
}
