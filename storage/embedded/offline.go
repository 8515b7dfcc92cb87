package embedded

import (
	"bytes"
	"context"
	"encoding/binary"

	"go.etcd.io/bbolt"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// offlineMessages implements offline.Store. Keys are user\x00 followed by
// the bucket's 8-byte big-endian sequence number, so a user's messages
// are one prefix scan in arrival order; values are the stanza bytes.
type offlineMessages struct{ db *DB }

func offlinePrefix(user jid.JID) ([]byte, error) {
	k, err := bareKey(user)
	if err != nil {
		return nil, err
	}
	return append(k, 0), nil
}

func (s offlineMessages) Push(ctx context.Context, user jid.JID, msg []byte, limit int) (bool, error) {
	p, err := offlinePrefix(user)
	if err != nil {
		return false, wrap(err)
	}
	stored := false
	err = s.db.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketOffline)
		if limit > 0 {
			n := 0
			c := b.Cursor()
			for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
				if n++; n >= limit {
					return nil
				}
			}
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		k := binary.BigEndian.AppendUint64(append([]byte(nil), p...), seq)
		stored = true
		return b.Put(k, append([]byte(nil), msg...))
	})
	return stored, wrap(err)
}

func (s offlineMessages) Pop(ctx context.Context, user jid.JID) ([][]byte, error) {
	p, err := offlinePrefix(user)
	if err != nil {
		return nil, wrap(err)
	}
	var out [][]byte
	err = s.db.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketOffline)
		var keys [][]byte
		c := b.Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			out = append(out, append([]byte(nil), v...))
			keys = append(keys, append([]byte(nil), k...))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err)
	}
	return out, nil
}

func (s offlineMessages) Count(ctx context.Context, user jid.JID) (int, error) {
	p, err := offlinePrefix(user)
	if err != nil {
		return 0, wrap(err)
	}
	n := 0
	err = s.db.view(ctx, func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketOffline).Cursor()
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n, wrap(err)
}

func (s offlineMessages) DeleteUser(ctx context.Context, user jid.JID) error {
	_, err := s.Pop(ctx, user)
	return err
}
