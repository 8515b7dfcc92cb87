package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/meridian-xmpp/meridian/core/mod/pep"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// pubsub implements pep.Store. A node is a row of pubsub_nodes, its
// configuration one column per field; its items are rows of pubsub_items,
// removed with it by the foreign key. An item's seq, drawn from a
// sequence on every publication, is the node's order: timestamps may tie
// or go back, seq does not.
//
// Publish and Trim lock the node row first, so that concurrent
// publications to one node draw their seqs in commit order and each trim
// counts the items of every publication before it.
type pubsub struct{ d *DB }

var _ pep.Store = pubsub{}

func init() {
	schema = append(schema,
		// Names and IDs compare as bytes ("C"): Nodes lists in the
		// order the embedded store does, whatever the database's locale.
		`CREATE TABLE IF NOT EXISTS pubsub_nodes (
			owner                 text COLLATE "C" NOT NULL,
			name                  text COLLATE "C" NOT NULL,
			access_model          text NOT NULL,
			roster_groups         text[] NOT NULL,
			persist_items         boolean NOT NULL,
			max_items             integer NOT NULL,
			send_last_published   text NOT NULL,
			deliver_notifications boolean NOT NULL,
			deliver_payloads      boolean NOT NULL,
			notify_config         boolean NOT NULL,
			notify_delete         boolean NOT NULL,
			notify_retract        boolean NOT NULL,
			notification_type     text NOT NULL,
			title                 text NOT NULL,
			description           text NOT NULL,
			type                  text NOT NULL,
			PRIMARY KEY (owner, name)
		)`,
		`CREATE TABLE IF NOT EXISTS pubsub_items (
			owner     text COLLATE "C" NOT NULL,
			node      text COLLATE "C" NOT NULL,
			id        text COLLATE "C" NOT NULL,
			seq       bigserial NOT NULL,
			published timestamptz NOT NULL,
			payload   bytea,
			PRIMARY KEY (owner, node, id),
			FOREIGN KEY (owner, node) REFERENCES pubsub_nodes (owner, name) ON DELETE CASCADE
		)`,
		`CREATE INDEX IF NOT EXISTS pubsub_items_order ON pubsub_items (owner, node, seq)`,
	)
}

// psNodeColumns are the columns scanPSNode reads, in its order.
const psNodeColumns = `name, access_model, roster_groups, persist_items, max_items,
	send_last_published, deliver_notifications, deliver_payloads,
	notify_config, notify_delete, notify_retract, notification_type,
	title, description, type`

// psPutNode creates or replaces a node's configuration; the row stays
// locked until the transaction ends.
const psPutNode = `INSERT INTO pubsub_nodes (owner, ` + psNodeColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
	ON CONFLICT (owner, name) DO UPDATE SET
		access_model = excluded.access_model,
		roster_groups = excluded.roster_groups,
		persist_items = excluded.persist_items,
		max_items = excluded.max_items,
		send_last_published = excluded.send_last_published,
		deliver_notifications = excluded.deliver_notifications,
		deliver_payloads = excluded.deliver_payloads,
		notify_config = excluded.notify_config,
		notify_delete = excluded.notify_delete,
		notify_retract = excluded.notify_retract,
		notification_type = excluded.notification_type,
		title = excluded.title,
		description = excluded.description,
		type = excluded.type`

// psNodeArgs are psPutNode's arguments.
func psNodeArgs(owner string, n pep.Node) []any {
	c := n.Config
	groups := c.RosterGroups
	if groups == nil {
		groups = []string{}
	}
	return []any{
		owner, n.Name, c.AccessModel, groups, c.PersistItems, c.MaxItems,
		c.SendLastPublished, c.DeliverNotifications, c.DeliverPayloads,
		c.NotifyConfig, c.NotifyDelete, c.NotifyRetract, c.NotificationType,
		c.Title, c.Description, c.Type,
	}
}

func scanPSNode(row pgx.CollectableRow) (pep.Node, error) {
	var n pep.Node
	c := &n.Config
	err := row.Scan(&n.Name, &c.AccessModel, &c.RosterGroups, &c.PersistItems, &c.MaxItems,
		&c.SendLastPublished, &c.DeliverNotifications, &c.DeliverPayloads,
		&c.NotifyConfig, &c.NotifyDelete, &c.NotifyRetract, &c.NotificationType,
		&c.Title, &c.Description, &c.Type)
	if len(c.RosterGroups) == 0 {
		c.RosterGroups = nil // no groups is nil, as in pep.DefaultConfig
	}
	return n, err
}

// psItemColumns are the columns scanPSItem reads, in its order.
const psItemColumns = `id, published, payload`

func scanPSItem(row pgx.CollectableRow) (pep.Item, error) {
	var it pep.Item
	err := row.Scan(&it.ID, &it.Published, &it.Payload)
	return it, err
}

func (s pubsub) Nodes(ctx context.Context, owner jid.JID) ([]pep.Node, error) {
	o, err := bare(owner)
	if err != nil {
		return nil, err
	}
	rows, _ := s.d.pool.Query(ctx, `SELECT `+psNodeColumns+` FROM pubsub_nodes
		WHERE owner = $1 ORDER BY name`, o)
	nodes, err := pgx.CollectRows(rows, scanPSNode)
	if err != nil {
		return nil, wrap(err)
	}
	return nodes, nil
}

func (s pubsub) Node(ctx context.Context, owner jid.JID, name string) (pep.Node, bool, error) {
	o, err := bare(owner)
	if err != nil {
		return pep.Node{}, false, err
	}
	return one(ctx, s.d, scanPSNode, `SELECT `+psNodeColumns+` FROM pubsub_nodes
		WHERE owner = $1 AND name = $2`, o, name)
}

func (s pubsub) PutNode(ctx context.Context, owner jid.JID, n pep.Node) error {
	o, err := bare(owner)
	if err != nil {
		return err
	}
	return s.d.exec(ctx, psPutNode, psNodeArgs(o, n)...)
}

func (s pubsub) DeleteNode(ctx context.Context, owner jid.JID, name string) (bool, error) {
	o, err := bare(owner)
	if err != nil {
		return false, err
	}
	// The items go with the node (ON DELETE CASCADE).
	tag, err := s.d.pool.Exec(ctx, `DELETE FROM pubsub_nodes WHERE owner = $1 AND name = $2`,
		o, name)
	if err != nil {
		return false, wrap(err)
	}
	return tag.RowsAffected() > 0, nil
}

func (s pubsub) Publish(ctx context.Context, owner jid.JID, n pep.Node, it pep.Item, max int) ([]string, error) {
	o, err := bare(owner)
	if err != nil {
		return nil, err
	}
	payload := it.Payload
	if len(payload) == 0 {
		payload = nil // NULL: published without a payload
	}
	var removed []string
	err = s.d.tx(ctx, func(tx pgx.Tx) error {
		// First the node, whose row lock orders publications to it.
		if _, err := tx.Exec(ctx, psPutNode, psNodeArgs(o, n)...); err != nil {
			return err
		}
		// The same ID again replaces the item and, with the seq drawn
		// for the new row, makes it the newest.
		if _, err := tx.Exec(ctx, `INSERT INTO pubsub_items (owner, node, id, published, payload)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (owner, node, id) DO UPDATE SET
				seq = excluded.seq, published = excluded.published, payload = excluded.payload`,
			o, n.Name, it.ID, it.Published, payload); err != nil {
			return err
		}
		var err error
		removed, err = psTrim(ctx, tx, o, n.Name, max)
		return err
	})
	if err != nil {
		return nil, err
	}
	return removed, nil
}

// psTrim removes the node's items older than its newest max (none when
// max <= 0) and returns their IDs, oldest first. The caller holds the
// node's row lock.
func psTrim(ctx context.Context, tx pgx.Tx, owner, node string, max int) ([]string, error) {
	if max <= 0 {
		return nil, nil
	}
	rows, _ := tx.Query(ctx, `WITH removed AS (
			DELETE FROM pubsub_items
			WHERE owner = $1 AND node = $2 AND seq <= (
				SELECT seq FROM pubsub_items WHERE owner = $1 AND node = $2
				ORDER BY seq DESC OFFSET $3 LIMIT 1)
			RETURNING id, seq)
		SELECT id FROM removed ORDER BY seq`, owner, node, max)
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (s pubsub) Trim(ctx context.Context, owner jid.JID, node string, max int) ([]string, error) {
	o, err := bare(owner)
	if err != nil {
		return nil, err
	}
	var removed []string
	err = s.d.tx(ctx, func(tx pgx.Tx) error {
		// Wait for publications in progress, and keep new ones out
		// until the trim is done. No node, no items.
		var locked bool
		err := tx.QueryRow(ctx, `SELECT true FROM pubsub_nodes
			WHERE owner = $1 AND name = $2 FOR UPDATE`, o, node).Scan(&locked)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		removed, err = psTrim(ctx, tx, o, node, max)
		return err
	})
	if err != nil {
		return nil, err
	}
	return removed, nil
}

func (s pubsub) Items(ctx context.Context, owner jid.JID, node string, max int) ([]pep.Item, error) {
	o, err := bare(owner)
	if err != nil {
		return nil, err
	}
	var limit any // NULL: LIMIT ALL
	if max > 0 {
		limit = max
	}
	rows, _ := s.d.pool.Query(ctx, `SELECT `+psItemColumns+` FROM (
			SELECT `+psItemColumns+`, seq FROM pubsub_items
			WHERE owner = $1 AND node = $2
			ORDER BY seq DESC LIMIT $3) newest
		ORDER BY seq`, o, node, limit)
	items, err := pgx.CollectRows(rows, scanPSItem)
	if err != nil {
		return nil, wrap(err)
	}
	return items, nil
}

func (s pubsub) Item(ctx context.Context, owner jid.JID, node, id string) (pep.Item, bool, error) {
	o, err := bare(owner)
	if err != nil {
		return pep.Item{}, false, err
	}
	return one(ctx, s.d, scanPSItem, `SELECT `+psItemColumns+` FROM pubsub_items
		WHERE owner = $1 AND node = $2 AND id = $3`, o, node, id)
}

func (s pubsub) DeleteItem(ctx context.Context, owner jid.JID, node, id string) (bool, error) {
	o, err := bare(owner)
	if err != nil {
		return false, err
	}
	n, err := s.psLockedExec(ctx, o, node, `DELETE FROM pubsub_items
		WHERE owner = $1 AND node = $2 AND id = $3`, o, node, id)
	return n > 0, err
}

// psLockedExec runs a statement on a node's items under the node's row
// lock, taken first as Publish and Trim take it: item rows are never
// locked in another order, so these cannot deadlock with a publication.
func (s pubsub) psLockedExec(ctx context.Context, owner, node, q string, args ...any) (int64, error) {
	var n int64
	err := s.d.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM pubsub_nodes WHERE owner = $1 AND name = $2 FOR UPDATE`, owner, node); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, q, args...)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

func (s pubsub) Purge(ctx context.Context, owner jid.JID, node string) error {
	o, err := bare(owner)
	if err != nil {
		return err
	}
	_, err = s.psLockedExec(ctx, o, node, `DELETE FROM pubsub_items WHERE owner = $1 AND node = $2`, o, node)
	return err
}

func (s pubsub) DeleteUser(ctx context.Context, owner jid.JID) error {
	o, err := bare(owner)
	if err != nil {
		return err
	}
	// The items go with the nodes (ON DELETE CASCADE).
	return s.d.exec(ctx, `DELETE FROM pubsub_nodes WHERE owner = $1`, o)
}
