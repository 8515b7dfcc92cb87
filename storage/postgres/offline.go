package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

func init() {
	schema = append(schema, `CREATE TABLE IF NOT EXISTS offline_messages (
	owner text COLLATE "C" NOT NULL,
	seq bigserial,
	stanza bytea NOT NULL,
	PRIMARY KEY (owner, seq))`)
}

// offlineStore implements offline.Store. Messages are kept in arrival
// order by a sequence shared by all users.
type offlineStore struct{ d *DB }

func (s offlineStore) Push(ctx context.Context, user jid.JID, msg []byte, limit int) (bool, error) {
	u, err := bare(user)
	if err != nil {
		return false, err
	}
	if msg == nil {
		msg = []byte{}
	}
	stored := false
	err = s.d.tx(ctx, func(tx pgx.Tx) error {
		// Concurrent pushes for one user (cores of a cluster) count and
		// insert one at a time, so the limit holds and the sequence is
		// in commit order (a pop never takes a newer message and leaves
		// an older one behind).
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('offline:' || $1, 0))`, u); err != nil {
			return err
		}
		if limit > 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM offline_messages WHERE owner = $1`, u).Scan(&n); err != nil {
				return err
			}
			if n >= limit {
				return nil
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO offline_messages (owner, stanza) VALUES ($1, $2)`, u, msg)
		stored = err == nil
		return err
	})
	return stored, err
}

// Pop deletes and returns the user's messages in one statement: two
// cores popping at once each get a message at most once.
func (s offlineStore) Pop(ctx context.Context, user jid.JID) ([][]byte, error) {
	u, err := bare(user)
	if err != nil {
		return nil, err
	}
	rows, err := s.d.pool.Query(ctx, `WITH gone AS (DELETE FROM offline_messages WHERE owner = $1 RETURNING seq, stanza)
	SELECT stanza FROM gone ORDER BY seq`, u)
	if err != nil {
		return nil, wrap(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, wrap(err)
	}
	return out, nil
}

func (s offlineStore) Count(ctx context.Context, user jid.JID) (int, error) {
	u, err := bare(user)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.d.pool.QueryRow(ctx, `SELECT count(*) FROM offline_messages WHERE owner = $1`, u).Scan(&n)
	return n, wrap(err)
}

func (s offlineStore) DeleteUser(ctx context.Context, user jid.JID) error {
	u, err := bare(user)
	if err != nil {
		return err
	}
	return s.d.exec(ctx, `DELETE FROM offline_messages WHERE owner = $1`, u)
}
