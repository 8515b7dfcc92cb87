package embedded

import (
	"context"
	"time"

	"go.etcd.io/bbolt"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// lastActivity implements last.Store.
type lastActivity struct{ db *DB }

func (s lastActivity) SetLast(ctx context.Context, user jid.JID, at time.Time, status string) error {
	k, err := bareKey(user)
	if err != nil {
		return wrap(err)
	}
	v := make([]byte, 0, 1+16+len(status)+2)
	v = append(v, recordV1)
	v = appendTime(v, at)
	v = appendString(v, status)
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketLast).Put(k, v)
	}))
}

func (s lastActivity) GetLast(ctx context.Context, user jid.JID) (time.Time, string, bool, error) {
	k, err := bareKey(user)
	if err != nil {
		return time.Time{}, "", false, wrap(err)
	}
	var (
		at     time.Time
		status string
		ok     bool
	)
	err = s.db.view(ctx, func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketLast).Get(k)
		if v == nil {
			return nil
		}
		d := newDecoder(v, "last activity")
		at, status, ok = d.time(), d.string(), true
		return d.done()
	})
	if err != nil {
		return time.Time{}, "", false, wrap(err)
	}
	return at, status, ok, nil
}

func (s lastActivity) DeleteUser(ctx context.Context, user jid.JID) error {
	k, err := bareKey(user)
	if err != nil {
		return wrap(err)
	}
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketLast).Delete(k)
	}))
}
