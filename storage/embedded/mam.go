package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/meridian-xmpp/meridian/core/mod/mam"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// archive implements mam.Store. Each user's archive is a bucket of its
// own inside bucketArchive, named by the bare JID, holding:
//
//	'm' id                  archived message record
//	'w' with \x00 id        resource of with (the index for 'with' queries)
//	'w' with \x01           uvarint: messages with that bare JID
//
// and the bucket's sequence counts its messages. id is the 16-byte
// mam.ID, which sorts by time; with is a bare JID. So the newest page is
// a cursor walk back from the end of the 'm' keys, a query with a JID
// walks only that JID's index entries, a time range is an ID range, and
// the counters answer RSM <count/> without a scan. An append writes at
// the end of the messages and at the end of one correspondent's entries,
// where that correspondent's counter sits too: two leaf pages per user
// and commit, whatever the archive's size. Deleting a user drops their
// bucket.
type archive struct{ db *DB }

const (
	archMsg  = 'm'
	archWith = 'w'
)

// archiveFill is the fill percent of archive buckets (bbolt's default is
// 0.5, right for random inserts).
const archiveFill = 0.9

var errDuplicateID = errors.New("archive ID already used")

// Default policy codes in a prefs record.
var policyCodes = map[string]byte{mam.Always: 0, mam.Never: 1, mam.Roster: 2}
var policyNames = [...]string{mam.Always, mam.Never, mam.Roster}

func msgKey(id mam.ID) []byte {
	k := make([]byte, 0, 1+len(id))
	k = append(k, archMsg)
	return append(k, id[:]...)
}

// withPrefix is 'w' with \x00: the start of with's index entries.
func withPrefix(with jid.JID, extra int) []byte {
	s := with.Bare().String()
	k := make([]byte, 0, 2+len(s)+extra)
	k = append(k, archWith)
	k = append(k, s...)
	return append(k, 0)
}

// countKey is 'w' with \x01: just after with's index entries.
func countKey(with jid.JID) []byte {
	k := withPrefix(with, 0)
	k[len(k)-1] = 1
	return k
}

func encodeArchived(m mam.Message) []byte {
	w := m.With.String()
	b := make([]byte, 0, 1+binaryLen(len(w))+len(w)+len(m.Stanza))
	b = append(b, recordV1)
	b = appendString(b, w)
	return append(b, m.Stanza...)
}

func binaryLen(n int) int { return len(appendUvarint(nil, uint64(n))) }

// decodeArchived decodes a record; the stanza is copied out of v.
func decodeArchived(id mam.ID, v []byte) (mam.Message, error) {
	d := newDecoder(v, "archived message")
	w := d.string()
	if d.err != nil {
		return mam.Message{}, d.err
	}
	with, err := jid.Parse(w)
	if err != nil {
		return mam.Message{}, fmt.Errorf("%w: archived message with %q", errCorrupt, w)
	}
	return mam.Message{ID: id, With: with, Stanza: append([]byte(nil), d.b...)}, nil
}

func addCount(b *bbolt.Bucket, k []byte, delta uint64) error {
	n := uint64(0)
	if v := b.Get(k); v != nil {
		var l int
		if n, l = binary.Uvarint(v); l <= 0 {
			return fmt.Errorf("%w: archive counter", errCorrupt)
		}
	}
	return b.Put(k, appendUvarint(nil, n+delta))
}

func readCount(b *bbolt.Bucket, k []byte) (int, error) {
	v := b.Get(k)
	if v == nil {
		return 0, nil
	}
	n, l := binary.Uvarint(v)
	if l <= 0 {
		return 0, fmt.Errorf("%w: archive counter", errCorrupt)
	}
	return int(n), nil
}

func (s archive) Append(ctx context.Context, entries ...mam.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	fns := make([]func(*bbolt.Tx) error, len(entries))
	for i, e := range entries {
		fn, err := appendTx(e.User, e.Message)
		if err != nil {
			return wrap(err)
		}
		fns[i] = fn
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(fns) == 1 {
		return wrap(s.db.group.do(fns[0]))
	}
	return wrap(s.db.group.do(func(tx *bbolt.Tx) error {
		for _, fn := range fns {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	}))
}

// appendTx returns the write that adds m to user's archive; it may run
// more than once, each time in a new transaction.
func appendTx(user jid.JID, m mam.Message) (func(*bbolt.Tx) error, error) {
	uk, err := bareKey(user)
	if err != nil {
		return nil, err
	}
	if m.ID.IsZero() || m.With.IsZero() {
		return nil, errors.New("archive: message without ID or with")
	}
	mk := msgKey(m.ID)
	rec := encodeArchived(m)
	wk := append(withPrefix(m.With, len(m.ID)), m.ID[:]...)
	res := []byte(m.With.Resource())
	ck := countKey(m.With)
	return func(tx *bbolt.Tx) error {
		ub, err := tx.Bucket(bucketArchive).CreateBucketIfNotExists(uk)
		if err != nil {
			return err
		}
		// Keys are added at the end of the messages and at the end of
		// each correspondent's index range: pages that split are not
		// written again, so they are filled rather than halved.
		ub.FillPercent = archiveFill
		if ub.Get(mk) != nil {
			return errDuplicateID
		}
		if err := ub.Put(mk, rec); err != nil {
			return err
		}
		if err := ub.Put(wk, res); err != nil {
			return err
		}
		if err := ub.SetSequence(ub.Sequence() + 1); err != nil {
			return err
		}
		return addCount(ub, ck, 1)
	}, nil
}

// bounds are the inclusive ID range a query's filters allow.
func bounds(q mam.Query) (lo, hi mam.ID) {
	hi = mam.MaxID
	if !q.Start.IsZero() {
		lo = maxID(lo, mam.FirstIDAt(q.Start))
	}
	if !q.AfterID.IsZero() {
		lo = maxID(lo, q.AfterID.Next())
	}
	if !q.End.IsZero() {
		hi = minID(hi, mam.LastIDAt(q.End))
	}
	if !q.BeforeID.IsZero() {
		hi = minID(hi, q.BeforeID.Prev())
	}
	return lo, hi
}

func maxID(a, b mam.ID) mam.ID {
	if a.Compare(b) >= 0 {
		return a
	}
	return b
}

func minID(a, b mam.ID) mam.ID {
	if a.Compare(b) <= 0 {
		return a
	}
	return b
}

func (s archive) Query(ctx context.Context, user jid.JID, q mam.Query) (mam.Page, error) {
	uk, err := bareKey(user)
	if err != nil {
		return mam.Page{}, wrap(err)
	}
	if q.Max < 0 {
		q.Max = 0
	}
	var page mam.Page
	err = s.db.view(ctx, func(tx *bbolt.Tx) error {
		ub := tx.Bucket(bucketArchive).Bucket(uk)
		for _, id := range [...]mam.ID{q.AfterID, q.BeforeID, q.After, q.Before} {
			if !id.IsZero() && (ub == nil || ub.Get(msgKey(id)) == nil) {
				return mam.ErrUnknownID
			}
		}
		if ub == nil {
			if len(q.IDs) > 0 {
				return mam.ErrUnknownID
			}
			page = mam.Page{Complete: true, Count: 0, Index: -1}
			return nil
		}
		var err error
		if q.IDs != nil {
			page, err = queryIDs(ub, q)
		} else {
			page, err = queryRange(ub, q)
		}
		return err
	})
	if err != nil {
		return mam.Page{}, wrap(err)
	}
	return page, nil
}

// matchesWith reports whether a message with w matches the query's with.
func matchesWith(q jid.JID, w jid.JID) bool {
	switch {
	case q.IsZero():
		return true
	case q.IsBare():
		return w.Bare() == q
	}
	return w == q
}

// queryIDs answers a query restricted to a list of IDs: each is looked
// up, the filters applied, and the page cut from what is left.
func queryIDs(ub *bbolt.Bucket, q mam.Query) (mam.Page, error) {
	ids := slices.Clone(q.IDs)
	slices.SortFunc(ids, mam.ID.Compare)
	ids = slices.Compact(ids)
	lo, hi := bounds(q)
	var set []mam.Message
	for _, id := range ids {
		v := ub.Get(msgKey(id))
		if v == nil {
			return mam.Page{}, mam.ErrUnknownID
		}
		if id.Compare(lo) < 0 || id.Compare(hi) > 0 {
			continue
		}
		m, err := decodeArchived(id, v)
		if err != nil {
			return mam.Page{}, err
		}
		if matchesWith(q.With, m.With) {
			set = append(set, m)
		}
	}
	// The paging window within the set.
	from, to := 0, len(set)
	if !q.After.IsZero() {
		from, _ = slices.BinarySearchFunc(set, q.After.Next(), func(m mam.Message, id mam.ID) int { return m.ID.Compare(id) })
	}
	if !q.Before.IsZero() {
		to, _ = slices.BinarySearchFunc(set, q.Before, func(m mam.Message, id mam.ID) int { return m.ID.Compare(id) })
	}
	if to < from {
		to = from
	}
	page := mam.Page{Count: len(set), Index: -1}
	if q.Last {
		start := max(from, to-q.Max)
		page.Messages, page.Complete = set[start:to], start == from
		if start < to {
			page.Index = start
		}
	} else {
		end := min(to, from+q.Max)
		page.Messages, page.Complete = set[from:end], end == to
		if from < end {
			page.Index = from
		}
	}
	return page, nil
}

// queryRange walks the 'm' keys, or the index of the query's with, in
// the paging direction and stops after one message more than the page.
func queryRange(ub *bbolt.Bucket, q mam.Query) (mam.Page, error) {
	lo, hi := bounds(q)
	filtered := !lo.IsZero() || hi != mam.MaxID
	if !q.After.IsZero() {
		lo = maxID(lo, q.After.Next())
	}
	if !q.Before.IsZero() {
		hi = minID(hi, q.Before.Prev())
	}
	var msgs []mam.Message
	want := q.Max + 1
	var err error
	if lo.Compare(hi) <= 0 {
		if q.With.IsZero() {
			err = walk(ub.Cursor(), []byte{archMsg}, lo, hi, q.Last, func(id mam.ID, v []byte) (bool, error) {
				m, err := decodeArchived(id, v)
				if err != nil {
					return false, err
				}
				msgs = append(msgs, m)
				return len(msgs) < want, nil
			})
		} else {
			res := []byte(q.With.Resource())
			full := !q.With.IsBare()
			err = walk(ub.Cursor(), withPrefix(q.With, 0), lo, hi, q.Last, func(id mam.ID, v []byte) (bool, error) {
				if full && !bytes.Equal(v, res) {
					return true, nil
				}
				rec := ub.Get(msgKey(id))
				if rec == nil {
					return false, fmt.Errorf("%w: index entry without message", errCorrupt)
				}
				m, err := decodeArchived(id, rec)
				if err != nil {
					return false, err
				}
				msgs = append(msgs, m)
				return len(msgs) < want, nil
			})
		}
	}
	if err != nil {
		return mam.Page{}, err
	}
	page := mam.Page{Complete: len(msgs) <= q.Max, Count: -1, Index: -1}
	if len(msgs) > q.Max {
		msgs = msgs[:q.Max]
	}
	if q.Last {
		slices.Reverse(msgs)
	}
	page.Messages = msgs
	// The counters know the size of the whole archive and of each bare
	// JID's share of it; a time or ID range would need a scan.
	if !filtered && (q.With.IsZero() || q.With.IsBare()) {
		n := int(ub.Sequence())
		if !q.With.IsZero() {
			var err error
			if n, err = readCount(ub, countKey(q.With)); err != nil {
				return mam.Page{}, err
			}
		}
		page.Count = n
		if len(msgs) > 0 {
			switch {
			case !q.Last && q.After.IsZero():
				page.Index = 0
			case q.Last && q.Before.IsZero():
				page.Index = n - len(msgs)
			}
		}
	}
	return page, nil
}

// walk calls fn for each key prefix+id with lo <= id <= hi, in ID order
// or, when reverse, backwards, until fn returns false.
func walk(c *bbolt.Cursor, prefix []byte, lo, hi mam.ID, reverse bool, fn func(id mam.ID, v []byte) (bool, error)) error {
	key := func(id mam.ID) []byte { return append(slices.Clip(prefix), id[:]...) }
	idOf := func(k []byte) (mam.ID, bool) {
		var id mam.ID
		if len(k) != len(prefix)+len(id) || !bytes.HasPrefix(k, prefix) {
			return id, false
		}
		copy(id[:], k[len(prefix):])
		return id, true
	}
	if !reverse {
		for k, v := c.Seek(key(lo)); k != nil; k, v = c.Next() {
			id, ok := idOf(k)
			if !ok || id.Compare(hi) > 0 {
				return nil
			}
			if more, err := fn(id, v); err != nil || !more {
				return err
			}
		}
		return nil
	}
	end := key(hi)
	k, v := c.Seek(end)
	switch {
	case k == nil:
		k, v = c.Last()
	case !bytes.Equal(k, end):
		k, v = c.Prev()
	}
	for ; k != nil; k, v = c.Prev() {
		id, ok := idOf(k)
		if !ok || id.Compare(lo) < 0 {
			return nil
		}
		if more, err := fn(id, v); err != nil || !more {
			return err
		}
	}
	return nil
}

func (s archive) Bounds(ctx context.Context, user jid.JID) (first, last mam.ID, ok bool, err error) {
	uk, err := bareKey(user)
	if err != nil {
		return first, last, false, wrap(err)
	}
	err = s.db.view(ctx, func(tx *bbolt.Tx) error {
		ub := tx.Bucket(bucketArchive).Bucket(uk)
		if ub == nil {
			return nil
		}
		prefix := []byte{archMsg}
		if err := walk(ub.Cursor(), prefix, mam.ID{}, mam.MaxID, false, func(id mam.ID, _ []byte) (bool, error) {
			first, ok = id, true
			return false, nil
		}); err != nil || !ok {
			return err
		}
		return walk(ub.Cursor(), prefix, mam.ID{}, mam.MaxID, true, func(id mam.ID, _ []byte) (bool, error) {
			last = id
			return false, nil
		})
	})
	return first, last, ok, wrap(err)
}

func encodePrefs(p mam.Prefs) ([]byte, error) {
	code, ok := policyCodes[p.Default]
	if !ok {
		return nil, fmt.Errorf("archive prefs: unknown default %q", p.Default)
	}
	b := make([]byte, 0, 8+32*(len(p.Always)+len(p.Never)))
	b = append(b, recordV1, code)
	for _, list := range [][]jid.JID{p.Always, p.Never} {
		b = appendUvarint(b, uint64(len(list)))
		for _, j := range list {
			b = appendString(b, j.String())
		}
	}
	return b, nil
}

func decodePrefs(v []byte) (mam.Prefs, error) {
	d := newDecoder(v, "archive prefs")
	code := d.byte()
	if d.err == nil && int(code) >= len(policyNames) {
		d.fail()
	}
	p := mam.Prefs{}
	if d.err == nil {
		p.Default = policyNames[code]
	}
	for _, list := range []*[]jid.JID{&p.Always, &p.Never} {
		n := d.uvarint()
		if n > uint64(len(d.b)) {
			d.fail()
		}
		for range n {
			s := d.string()
			if d.err != nil {
				break
			}
			j, err := jid.Parse(s)
			if err != nil {
				return mam.Prefs{}, fmt.Errorf("%w: archive prefs JID %q", errCorrupt, s)
			}
			*list = append(*list, j)
		}
	}
	if err := d.done(); err != nil {
		return mam.Prefs{}, err
	}
	return p, nil
}

func (s archive) Prefs(ctx context.Context, user jid.JID) (mam.Prefs, bool, error) {
	k, err := bareKey(user)
	if err != nil {
		return mam.Prefs{}, false, wrap(err)
	}
	var (
		p  mam.Prefs
		ok bool
	)
	err = s.db.view(ctx, func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketArchivePrefs).Get(k)
		if v == nil {
			return nil
		}
		var err error
		p, err = decodePrefs(v)
		ok = err == nil
		return err
	})
	return p, ok, wrap(err)
}

func (s archive) SetPrefs(ctx context.Context, user jid.JID, p mam.Prefs) error {
	k, err := bareKey(user)
	if err != nil {
		return wrap(err)
	}
	v, err := encodePrefs(p)
	if err != nil {
		return wrap(err)
	}
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketArchivePrefs).Put(k, v)
	}))
}

func (s archive) DeleteUser(ctx context.Context, user jid.JID) error {
	k, err := bareKey(user)
	if err != nil {
		return wrap(err)
	}
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketArchive).DeleteBucket(k); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
			return err
		}
		return tx.Bucket(bucketArchivePrefs).Delete(k)
	}))
}
