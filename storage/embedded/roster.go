package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// rosters implements roster.Store.
type rosters struct{ db *DB }

var errEmptyJID = errors.New("empty JID")

// Subscription codes in an item record.
var subCodes = map[string]byte{roster.SubNone: 0, roster.SubTo: 1, roster.SubFrom: 2, roster.SubBoth: 3}
var subNames = [...]string{roster.SubNone, roster.SubTo, roster.SubFrom, roster.SubBoth}

// Item record flag bits.
const (
	flagAsk         = 1 << 0
	flagPreApproved = 1 << 1
)

// userPrefix is the bare user JID followed by \x00: the start of every key
// of that user in the roster and pending buckets.
func userPrefix(user jid.JID) ([]byte, error) {
	if user.IsZero() {
		return nil, errEmptyJID
	}
	s := user.Bare().String()
	p := make([]byte, 0, len(s)+1+40) // room for a contact, see pairKey
	p = append(p, s...)
	return append(p, 0), nil
}

// pairKey is user \x00 other, both bare.
func pairKey(user, other jid.JID) ([]byte, error) {
	if other.IsZero() {
		return nil, errEmptyJID
	}
	k, err := userPrefix(user)
	if err != nil {
		return nil, err
	}
	return append(k, other.Bare().String()...), nil
}

// bareKey is the bare user JID alone: the key of the user's roster
// version and last activity.
func bareKey(user jid.JID) ([]byte, error) {
	if user.IsZero() {
		return nil, errEmptyJID
	}
	return []byte(user.Bare().String()), nil
}

func encodeItem(it roster.Item) ([]byte, error) {
	sub := it.Subscription
	if sub == "" {
		sub = roster.SubNone
	}
	code, ok := subCodes[sub]
	if !ok {
		return nil, fmt.Errorf("roster item %s: unknown subscription %q", it.JID, it.Subscription)
	}
	var flags byte
	if it.Ask {
		flags |= flagAsk
	}
	if it.PreApproved {
		flags |= flagPreApproved
	}
	n := 4 + len(it.Name) + 2
	for _, g := range it.Groups {
		n += 2 + len(g)
	}
	b := make([]byte, 0, n)
	b = append(b, recordV1)
	b = appendString(b, it.Name)
	b = append(b, code, flags)
	b = appendUvarint(b, uint64(len(it.Groups)))
	for _, g := range it.Groups {
		b = appendString(b, g)
	}
	return b, nil
}

// decodeItem reads an item record straight out of bbolt's memory. Strings
// are cut out of s when it holds the bytes of v after the version byte
// (one allocation for the whole record), or copied one by one when s is
// empty.
func decodeItem(v []byte, s string, it *roster.Item) error {
	d := newDecoder(v, "roster item")
	d.withString(s)
	it.Name = d.string()
	code := d.byte()
	flags := d.byte()
	if int(code) >= len(subNames) {
		return errCorrupt
	}
	it.Subscription = subNames[code]
	it.Ask = flags&flagAsk != 0
	it.PreApproved = flags&flagPreApproved != 0
	n := d.uvarint()
	if n > uint64(len(d.b)) { // each group takes at least a byte
		return errCorrupt
	}
	it.Groups = nil
	if n > 0 {
		it.Groups = make([]string, n)
		for i := range it.Groups {
			it.Groups[i] = d.string()
		}
	}
	return d.done()
}

func encodeVersion(v uint64) []byte { return appendUvarint([]byte{recordV1}, v) }

// version returns the user's roster version, 0 if none.
func version(tx *bbolt.Tx, vk []byte) (uint64, error) {
	v := tx.Bucket(bucketRosterVer).Get(vk)
	if v == nil {
		return 0, nil
	}
	d := newDecoder(v, "roster version")
	ver := d.uvarint()
	return ver, d.done()
}

// bumpVersion increments the user's roster version and returns the new one.
func bumpVersion(tx *bbolt.Tx, vk []byte) (uint64, error) {
	ver, err := version(tx, vk)
	if err != nil {
		return 0, err
	}
	ver++
	return ver, tx.Bucket(bucketRosterVer).Put(vk, encodeVersion(ver))
}

func (s rosters) Items(ctx context.Context, user jid.JID) ([]roster.Item, uint64, error) {
	prefix, err := userPrefix(user)
	if err != nil {
		return nil, 0, wrap(err)
	}
	var (
		items []roster.Item
		ver   uint64
	)
	err = s.db.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		if ver, err = version(tx, prefix[:len(prefix)-1]); err != nil {
			return err
		}
		// Each item's contact JID and fields are cut out of one string
		// holding the contact and the record (without its version byte),
		// built in buf.
		var buf []byte
		c := tx.Bucket(bucketRoster).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			contact := k[len(prefix):]
			if len(v) == 0 {
				return fmt.Errorf("roster item %q: %w", k, errCorrupt)
			}
			buf = append(append(buf[:0], contact...), v[1:]...)
			all := string(buf)
			var it roster.Item
			if it.JID, err = jid.Parse(all[:len(contact)]); err != nil {
				return fmt.Errorf("roster key %q: %w", k, err)
			}
			if err := decodeItem(v, all[len(contact):], &it); err != nil {
				return fmt.Errorf("roster item %q: %w", k, err)
			}
			items = append(items, it)
		}
		return nil
	})
	if err != nil {
		return nil, 0, wrap(err)
	}
	return items, ver, nil
}

func (s rosters) Item(ctx context.Context, user, contact jid.JID) (roster.Item, bool, error) {
	k, err := pairKey(user, contact)
	if err != nil {
		return roster.Item{}, false, wrap(err)
	}
	it := roster.Item{JID: contact.Bare()}
	var ok bool
	err = s.db.view(ctx, func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketRoster).Get(k)
		if v == nil {
			return nil
		}
		ok = true
		return decodeItem(v, "", &it)
	})
	if err != nil || !ok {
		return roster.Item{}, false, wrap(err)
	}
	return it, true, nil
}

func (s rosters) PutItem(ctx context.Context, user jid.JID, it roster.Item) (uint64, error) {
	k, err := pairKey(user, it.JID)
	if err != nil {
		return 0, wrap(err)
	}
	v, err := encodeItem(it)
	if err != nil {
		return 0, wrap(err)
	}
	var ver uint64
	err = s.db.update(ctx, func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketRoster).Put(k, v); err != nil {
			return err
		}
		var err error
		ver, err = bumpVersion(tx, userKeyOf(k))
		return err
	})
	if err != nil {
		return 0, wrap(err)
	}
	return ver, nil
}

func (s rosters) DeleteItem(ctx context.Context, user, contact jid.JID) (uint64, error) {
	k, err := pairKey(user, contact)
	if err != nil {
		return 0, wrap(err)
	}
	var ver uint64
	err = s.db.update(ctx, func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketRoster).Delete(k); err != nil {
			return err
		}
		var err error
		ver, err = bumpVersion(tx, userKeyOf(k))
		return err
	})
	if err != nil {
		return 0, wrap(err)
	}
	return ver, nil
}

// userKeyOf returns the user part of a pair key (up to the first NUL).
func userKeyOf(k []byte) []byte { return k[:bytes.IndexByte(k, 0)] }

// PendingIn returns the requests in requester JID order.
func (s rosters) PendingIn(ctx context.Context, user jid.JID) ([]roster.Pending, error) {
	prefix, err := userPrefix(user)
	if err != nil {
		return nil, wrap(err)
	}
	var out []roster.Pending
	err = s.db.view(ctx, func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketPending).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			from, err := jid.Parse(string(k[len(prefix):]))
			if err != nil {
				return fmt.Errorf("pending key %q: %w", k, err)
			}
			d := newDecoder(v, "pending subscription")
			if d.err != nil {
				return d.err
			}
			out = append(out, roster.Pending{From: from, Stanza: bytes.Clone(d.b)})
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err)
	}
	return out, nil
}

func (s rosters) PutPendingIn(ctx context.Context, user jid.JID, p roster.Pending) error {
	k, err := pairKey(user, p.From)
	if err != nil {
		return wrap(err)
	}
	v := make([]byte, 0, 1+len(p.Stanza))
	v = append(append(v, recordV1), p.Stanza...)
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketPending).Put(k, v)
	}))
}

func (s rosters) DeletePendingIn(ctx context.Context, user, from jid.JID) error {
	k, err := pairKey(user, from)
	if err != nil {
		return wrap(err)
	}
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketPending).Delete(k)
	}))
}

func (s rosters) DeleteUser(ctx context.Context, user jid.JID) error {
	prefix, err := userPrefix(user)
	if err != nil {
		return wrap(err)
	}
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketRoster, bucketPending} {
			if err := deletePrefix(tx.Bucket(name), prefix); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketRosterVer).Delete(prefix[:len(prefix)-1])
	}))
}

// deletePrefix removes every key of b that starts with prefix. Keys are
// collected first: deleting under a live cursor can make it skip the next
// key.
func deletePrefix(b *bbolt.Bucket, prefix []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
