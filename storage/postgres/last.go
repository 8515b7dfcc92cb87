package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

func init() {
	schema = append(schema, `CREATE TABLE IF NOT EXISTS last_activity (
	owner text COLLATE "C" PRIMARY KEY,
	at timestamptz NOT NULL,
	status text NOT NULL)`)
}

// lastStore implements last.Store.
type lastStore struct{ d *DB }

func (s lastStore) SetLast(ctx context.Context, user jid.JID, at time.Time, status string) error {
	u, err := bare(user)
	if err != nil {
		return err
	}
	return s.d.exec(ctx, `INSERT INTO last_activity VALUES ($1, $2, $3)
	ON CONFLICT (owner) DO UPDATE SET at = $2, status = $3`, u, at, status)
}

func (s lastStore) GetLast(ctx context.Context, user jid.JID) (time.Time, string, bool, error) {
	u, err := bare(user)
	if err != nil {
		return time.Time{}, "", false, err
	}
	var (
		at     time.Time
		status string
	)
	err = s.d.pool.QueryRow(ctx, `SELECT at, status FROM last_activity WHERE owner = $1`, u).Scan(&at, &status)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, "", false, nil
	}
	if err != nil {
		return time.Time{}, "", false, wrap(err)
	}
	return at, status, true, nil
}

func (s lastStore) DeleteUser(ctx context.Context, user jid.JID) error {
	u, err := bare(user)
	if err != nil {
		return err
	}
	return s.d.exec(ctx, `DELETE FROM last_activity WHERE owner = $1`, u)
}
