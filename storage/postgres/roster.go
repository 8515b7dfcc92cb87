package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

func init() {
	schema = append(schema,
		`CREATE TABLE IF NOT EXISTS roster_items (
	owner text COLLATE "C" NOT NULL,
	contact text COLLATE "C" NOT NULL,
	name text NOT NULL,
	subscription text NOT NULL,
	ask boolean NOT NULL,
	preapproved boolean NOT NULL,
	groups text[] NOT NULL,
	PRIMARY KEY (owner, contact))`,
		// The version of a user's roster (XEP-0237), bumped in the
		// transaction of every change.
		`CREATE TABLE IF NOT EXISTS roster_versions (
	owner text COLLATE "C" PRIMARY KEY,
	version bigint NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS roster_pending (
	owner text COLLATE "C" NOT NULL,
	requester text COLLATE "C" NOT NULL,
	stanza bytea NOT NULL,
	PRIMARY KEY (owner, requester))`)
}

// rosterStore implements roster.Store.
type rosterStore struct{ d *DB }

func (s rosterStore) Items(ctx context.Context, user jid.JID) ([]roster.Item, uint64, error) {
	u, err := bare(user)
	if err != nil {
		return nil, 0, err
	}
	// One statement sees one snapshot: the items and the version they
	// are at, in one round trip (a user with no items still gets a row,
	// with NULL item columns, for the version).
	rows, err := s.d.pool.Query(ctx, `SELECT coalesce((SELECT version FROM roster_versions WHERE owner = $1), 0),
	coalesce(i.contact, ''), coalesce(i.name, ''), coalesce(i.subscription, ''),
	coalesce(i.ask, false), coalesce(i.preapproved, false), i.groups
	FROM (SELECT 1) one LEFT JOIN roster_items i ON i.owner = $1
	ORDER BY i.contact`, u)
	if err != nil {
		return nil, 0, wrap(err)
	}
	var (
		items   []roster.Item
		ver     int64
		contact string
	)
	for rows.Next() {
		var it roster.Item
		if err := rows.Scan(&ver, &contact, &it.Name, &it.Subscription, &it.Ask, &it.PreApproved, &it.Groups); err != nil {
			rows.Close()
			return nil, 0, wrap(err)
		}
		if contact == "" {
			continue // no items: the row carries the version only
		}
		if it.JID, err = jid.Parse(contact); err != nil {
			rows.Close()
			return nil, 0, wrap(err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, wrap(err)
	}
	return items, uint64(ver), nil
}

// scanItem reads contact, name, subscription, ask, preapproved, groups.
func scanItem(row pgx.CollectableRow) (roster.Item, error) {
	var (
		it      roster.Item
		contact string
	)
	if err := row.Scan(&contact, &it.Name, &it.Subscription, &it.Ask, &it.PreApproved, &it.Groups); err != nil {
		return it, err
	}
	var err error
	it.JID, err = jid.Parse(contact)
	return it, err
}

func (s rosterStore) Item(ctx context.Context, user, contact jid.JID) (roster.Item, bool, error) {
	u, c, err := bares(user, contact)
	if err != nil {
		return roster.Item{}, false, err
	}
	return one(ctx, s.d, scanItem, `SELECT contact, name, subscription, ask, preapproved, groups
	FROM roster_items WHERE owner = $1 AND contact = $2`, u, c)
}

// bumpVersion increments the user's roster version in tx.
func bumpVersion(ctx context.Context, tx pgx.Tx, user string) (uint64, error) {
	var v int64
	err := tx.QueryRow(ctx, `INSERT INTO roster_versions VALUES ($1, 1)
	ON CONFLICT (owner) DO UPDATE SET version = roster_versions.version + 1
	RETURNING version`, user).Scan(&v)
	return uint64(v), err
}

func (s rosterStore) PutItem(ctx context.Context, user jid.JID, it roster.Item) (uint64, error) {
	u, c, err := bares(user, it.JID)
	if err != nil {
		return 0, err
	}
	groups := it.Groups
	if groups == nil {
		groups = []string{}
	}
	var ver uint64
	err = s.d.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO roster_items VALUES ($1, $2, $3, $4, $5, $6, $7)
	ON CONFLICT (owner, contact) DO UPDATE SET name = $3, subscription = $4, ask = $5, preapproved = $6, groups = $7`,
			u, c, it.Name, it.Subscription, it.Ask, it.PreApproved, groups); err != nil {
			return err
		}
		var err error
		ver, err = bumpVersion(ctx, tx, u)
		return err
	})
	return ver, err
}

func (s rosterStore) DeleteItem(ctx context.Context, user, contact jid.JID) (uint64, error) {
	u, c, err := bares(user, contact)
	if err != nil {
		return 0, err
	}
	var ver uint64
	err = s.d.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM roster_items WHERE owner = $1 AND contact = $2`, u, c); err != nil {
			return err
		}
		var err error
		ver, err = bumpVersion(ctx, tx, u)
		return err
	})
	return ver, err
}

// PendingIn returns the requests in requester JID order.
func (s rosterStore) PendingIn(ctx context.Context, user jid.JID) ([]roster.Pending, error) {
	u, err := bare(user)
	if err != nil {
		return nil, err
	}
	rows, err := s.d.pool.Query(ctx, `SELECT requester, stanza FROM roster_pending WHERE owner = $1 ORDER BY requester`, u)
	if err != nil {
		return nil, wrap(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (roster.Pending, error) {
		var (
			p    roster.Pending
			from string
		)
		if err := row.Scan(&from, &p.Stanza); err != nil {
			return p, err
		}
		var err error
		p.From, err = jid.Parse(from)
		return p, err
	})
	return out, wrap(err)
}

func (s rosterStore) PutPendingIn(ctx context.Context, user jid.JID, p roster.Pending) error {
	u, f, err := bares(user, p.From)
	if err != nil {
		return err
	}
	stanza := p.Stanza
	if stanza == nil {
		stanza = []byte{}
	}
	return s.d.exec(ctx, `INSERT INTO roster_pending VALUES ($1, $2, $3)
	ON CONFLICT (owner, requester) DO UPDATE SET stanza = $3`, u, f, stanza)
}

func (s rosterStore) DeletePendingIn(ctx context.Context, user, from jid.JID) error {
	u, f, err := bares(user, from)
	if err != nil {
		return err
	}
	return s.d.exec(ctx, `DELETE FROM roster_pending WHERE owner = $1 AND requester = $2`, u, f)
}

func (s rosterStore) DeleteUser(ctx context.Context, user jid.JID) error {
	u, err := bare(user)
	if err != nil {
		return err
	}
	return s.d.tx(ctx, func(tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM roster_items WHERE owner = $1`,
			`DELETE FROM roster_pending WHERE owner = $1`,
			`DELETE FROM roster_versions WHERE owner = $1`,
		} {
			if _, err := tx.Exec(ctx, q, u); err != nil {
				return err
			}
		}
		return nil
	})
}
