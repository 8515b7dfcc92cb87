package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/meridian-xmpp/meridian/core/mod/pep"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// pubsub implements pep.Store. A node's items are keyed by the items
// bucket's sequence number, so a prefix scan returns them in publication
// order; the item ID index maps an ID to its sequence number.
type pubsub struct{ db *DB }

var errNodeName = errors.New("pubsub node names and item IDs must be non-empty and free of NUL")

// Node record flag bits.
const (
	psPersist = 1 << iota
	psDeliverNotifications
	psDeliverPayloads
	psNotifyConfig
	psNotifyDelete
	psNotifyRetract
)

// nodeKey is owner \x00 node: the key of the node record, and (with a
// trailing \x00) the prefix of its items and item IDs.
func nodeKey(owner jid.JID, node string) ([]byte, error) {
	if node == "" || strings.IndexByte(node, 0) >= 0 {
		return nil, errNodeName
	}
	k, err := userPrefix(owner)
	if err != nil {
		return nil, err
	}
	return append(k, node...), nil
}

// itemPrefix is owner \x00 node \x00.
func itemPrefix(owner jid.JID, node string) ([]byte, error) {
	k, err := nodeKey(owner, node)
	if err != nil {
		return nil, err
	}
	return append(k, 0), nil
}

func idKey(prefix []byte, id string) ([]byte, error) {
	if id == "" || strings.IndexByte(id, 0) >= 0 {
		return nil, errNodeName
	}
	return append(append([]byte(nil), prefix...), id...), nil
}

func seqKey(prefix []byte, seq []byte) []byte {
	return append(append(make([]byte, 0, len(prefix)+8), prefix...), seq...)
}

func encodeNode(c pep.NodeConfig) []byte {
	var flags uint64
	for bit, on := range map[uint64]bool{
		psPersist: c.PersistItems, psDeliverNotifications: c.DeliverNotifications,
		psDeliverPayloads: c.DeliverPayloads, psNotifyConfig: c.NotifyConfig,
		psNotifyDelete: c.NotifyDelete, psNotifyRetract: c.NotifyRetract,
	} {
		if on {
			flags |= bit
		}
	}
	b := make([]byte, 0, 64+len(c.Title)+len(c.Description)+len(c.Type))
	b = append(b, recordV1)
	b = appendString(b, c.AccessModel)
	b = appendUvarint(b, uint64(len(c.RosterGroups)))
	for _, g := range c.RosterGroups {
		b = appendString(b, g)
	}
	b = appendUvarint(b, flags)
	b = appendInt(b, c.MaxItems)
	b = appendString(b, c.SendLastPublished)
	b = appendString(b, c.NotificationType)
	b = appendString(b, c.Title)
	b = appendString(b, c.Description)
	return appendString(b, c.Type)
}

func decodeNode(name string, v []byte) (pep.Node, error) {
	d := newDecoder(v, "pubsub node")
	var c pep.NodeConfig
	c.AccessModel = d.string()
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		c.RosterGroups = append(c.RosterGroups, d.string())
	}
	flags := d.uvarint()
	c.PersistItems = flags&psPersist != 0
	c.DeliverNotifications = flags&psDeliverNotifications != 0
	c.DeliverPayloads = flags&psDeliverPayloads != 0
	c.NotifyConfig = flags&psNotifyConfig != 0
	c.NotifyDelete = flags&psNotifyDelete != 0
	c.NotifyRetract = flags&psNotifyRetract != 0
	c.MaxItems = d.int()
	c.SendLastPublished = d.string()
	c.NotificationType = d.string()
	c.Title = d.string()
	c.Description = d.string()
	c.Type = d.string()
	if err := d.done(); err != nil {
		return pep.Node{}, fmt.Errorf("pubsub node %q: %w", name, err)
	}
	return pep.Node{Name: name, Config: c}, nil
}

func encodePSItem(it pep.Item) []byte {
	b := make([]byte, 0, 32+len(it.ID)+len(it.Payload))
	b = append(b, recordV1)
	b = appendString(b, it.ID)
	b = appendTime(b, it.Published)
	return appendBytes(b, it.Payload)
}

func decodePSItem(v []byte) (pep.Item, error) {
	d := newDecoder(v, "pubsub item")
	it := pep.Item{ID: d.string(), Published: d.time()}
	if p := d.raw(); len(p) > 0 {
		it.Payload = append([]byte(nil), p...)
	}
	if err := d.done(); err != nil {
		return pep.Item{}, fmt.Errorf("pubsub item: %w", err)
	}
	return it, nil
}

func (s pubsub) Nodes(ctx context.Context, owner jid.JID) ([]pep.Node, error) {
	p, err := userPrefix(owner)
	if err != nil {
		return nil, wrap(err)
	}
	var out []pep.Node
	err = s.db.view(ctx, func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketPSNodes).Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			n, err := decodeNode(string(k[len(p):]), v)
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err)
	}
	return out, nil
}

func (s pubsub) Node(ctx context.Context, owner jid.JID, name string) (pep.Node, bool, error) {
	k, err := nodeKey(owner, name)
	if err != nil {
		return pep.Node{}, false, wrap(err)
	}
	var (
		n  pep.Node
		ok bool
	)
	err = s.db.view(ctx, func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketPSNodes).Get(k)
		if v == nil {
			return nil
		}
		ok = true
		n, err = decodeNode(name, v)
		return err
	})
	if err != nil {
		return pep.Node{}, false, wrap(err)
	}
	return n, ok, nil
}

func (s pubsub) PutNode(ctx context.Context, owner jid.JID, n pep.Node) error {
	k, err := nodeKey(owner, n.Name)
	if err != nil {
		return wrap(err)
	}
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketPSNodes).Put(k, encodeNode(n.Config))
	}))
}

func (s pubsub) DeleteNode(ctx context.Context, owner jid.JID, name string) (bool, error) {
	k, err := nodeKey(owner, name)
	if err != nil {
		return false, wrap(err)
	}
	existed := false
	err = s.db.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketPSNodes)
		if b.Get(k) == nil {
			return nil
		}
		existed = true
		if err := b.Delete(k); err != nil {
			return err
		}
		return deleteUnder(tx, append(k, 0), bucketPSItems, bucketPSItemIDs)
	})
	return existed, wrap(err)
}

// deleteUnder removes every key with prefix p from the buckets.
func deleteUnder(tx *bbolt.Tx, p []byte, buckets ...[]byte) error {
	for _, name := range buckets {
		if err := deletePrefix(tx.Bucket(name), p); err != nil {
			return err
		}
	}
	return nil
}

func (s pubsub) Publish(ctx context.Context, owner jid.JID, n pep.Node, it pep.Item, max int) ([]string, error) {
	nk, err := nodeKey(owner, n.Name)
	if err != nil {
		return nil, wrap(err)
	}
	p := append(nk[:len(nk):len(nk)], 0)
	ik, err := idKey(p, it.ID)
	if err != nil {
		return nil, wrap(err)
	}
	var removed []string
	err = s.db.update(ctx, func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketPSNodes).Put(nk, encodeNode(n.Config)); err != nil {
			return err
		}
		items, ids := tx.Bucket(bucketPSItems), tx.Bucket(bucketPSItemIDs)
		// The same ID again replaces the item and makes it the newest.
		if old := ids.Get(ik); old != nil {
			if err := items.Delete(seqKey(p, old)); err != nil {
				return err
			}
		}
		seq, err := items.NextSequence()
		if err != nil {
			return err
		}
		sb := binary.BigEndian.AppendUint64(nil, seq)
		if err := items.Put(seqKey(p, sb), encodePSItem(it)); err != nil {
			return err
		}
		if err := ids.Put(ik, sb); err != nil {
			return err
		}
		removed, err = trim(tx, p, max)
		return err
	})
	if err != nil {
		return nil, wrap(err)
	}
	return removed, nil
}

// trim removes the oldest items under prefix p past max.
func trim(tx *bbolt.Tx, p []byte, max int) ([]string, error) {
	if max <= 0 {
		return nil, nil
	}
	items, ids := tx.Bucket(bucketPSItems), tx.Bucket(bucketPSItemIDs)
	var keys [][]byte
	c := items.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	if len(keys) <= max {
		return nil, nil
	}
	var removed []string
	for _, k := range keys[:len(keys)-max] {
		it, err := decodePSItem(items.Get(k))
		if err != nil {
			return nil, err
		}
		ik, err := idKey(p, it.ID)
		if err != nil {
			return nil, err
		}
		if err := items.Delete(k); err != nil {
			return nil, err
		}
		if err := ids.Delete(ik); err != nil {
			return nil, err
		}
		removed = append(removed, it.ID)
	}
	return removed, nil
}

func (s pubsub) Trim(ctx context.Context, owner jid.JID, node string, max int) ([]string, error) {
	p, err := itemPrefix(owner, node)
	if err != nil {
		return nil, wrap(err)
	}
	var removed []string
	err = s.db.update(ctx, func(tx *bbolt.Tx) error {
		removed, err = trim(tx, p, max)
		return err
	})
	if err != nil {
		return nil, wrap(err)
	}
	return removed, nil
}

func (s pubsub) Items(ctx context.Context, owner jid.JID, node string, max int) ([]pep.Item, error) {
	p, err := itemPrefix(owner, node)
	if err != nil {
		return nil, wrap(err)
	}
	var out []pep.Item
	err = s.db.view(ctx, func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketPSItems).Cursor()
		if max > 0 {
			// The newest max: walk back from the end of the prefix (the
			// prefix ends in \x00, so prefix+1 sorts after all of it).
			end := append(append([]byte(nil), p[:len(p)-1]...), 1)
			k, v := c.Seek(end)
			if k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
			for ; k != nil && bytes.HasPrefix(k, p) && len(out) < max; k, v = c.Prev() {
				it, err := decodePSItem(v)
				if err != nil {
					return err
				}
				out = append(out, it)
			}
			slicesReverse(out)
			return nil
		}
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			it, err := decodePSItem(v)
			if err != nil {
				return err
			}
			out = append(out, it)
		}
		return nil
	})
	if err != nil {
		return nil, wrap(err)
	}
	return out, nil
}

func slicesReverse(s []pep.Item) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

func (s pubsub) Item(ctx context.Context, owner jid.JID, node, id string) (pep.Item, bool, error) {
	p, err := itemPrefix(owner, node)
	if err != nil {
		return pep.Item{}, false, wrap(err)
	}
	ik, err := idKey(p, id)
	if err != nil {
		return pep.Item{}, false, wrap(err)
	}
	var (
		it pep.Item
		ok bool
	)
	err = s.db.view(ctx, func(tx *bbolt.Tx) error {
		seq := tx.Bucket(bucketPSItemIDs).Get(ik)
		if seq == nil {
			return nil
		}
		v := tx.Bucket(bucketPSItems).Get(seqKey(p, seq))
		if v == nil {
			return fmt.Errorf("%w: pubsub item index points nowhere", errCorrupt)
		}
		ok = true
		it, err = decodePSItem(v)
		return err
	})
	if err != nil {
		return pep.Item{}, false, wrap(err)
	}
	return it, ok, nil
}

func (s pubsub) DeleteItem(ctx context.Context, owner jid.JID, node, id string) (bool, error) {
	p, err := itemPrefix(owner, node)
	if err != nil {
		return false, wrap(err)
	}
	ik, err := idKey(p, id)
	if err != nil {
		return false, wrap(err)
	}
	existed := false
	err = s.db.update(ctx, func(tx *bbolt.Tx) error {
		ids := tx.Bucket(bucketPSItemIDs)
		seq := ids.Get(ik)
		if seq == nil {
			return nil
		}
		existed = true
		if err := tx.Bucket(bucketPSItems).Delete(seqKey(p, seq)); err != nil {
			return err
		}
		return ids.Delete(ik)
	})
	return existed, wrap(err)
}

func (s pubsub) Purge(ctx context.Context, owner jid.JID, node string) error {
	p, err := itemPrefix(owner, node)
	if err != nil {
		return wrap(err)
	}
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		return deleteUnder(tx, p, bucketPSItems, bucketPSItemIDs)
	}))
}

func (s pubsub) DeleteUser(ctx context.Context, owner jid.JID) error {
	p, err := userPrefix(owner)
	if err != nil {
		return wrap(err)
	}
	return wrap(s.db.update(ctx, func(tx *bbolt.Tx) error {
		return deleteUnder(tx, p, bucketPSNodes, bucketPSItems, bucketPSItemIDs)
	}))
}
