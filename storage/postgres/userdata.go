package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/meridian-xmpp/meridian/core/userdata"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

func init() {
	schema = append(schema, `CREATE TABLE IF NOT EXISTS user_data (
	owner text COLLATE "C" NOT NULL,
	key text COLLATE "C" NOT NULL,
	value bytea NOT NULL,
	PRIMARY KEY (owner, key))`)
}

// userdataStore implements userdata.Store.
type userdataStore struct{ d *DB }

func checkKey(key string) error { return wrap(userdata.CheckKey(key)) }

func (s userdataStore) Get(ctx context.Context, user jid.JID, key string) ([]byte, bool, error) {
	u, err := bare(user)
	if err == nil {
		err = checkKey(key)
	}
	if err != nil {
		return nil, false, err
	}
	var v []byte
	err = s.d.pool.QueryRow(ctx, `SELECT value FROM user_data WHERE owner = $1 AND key = $2`, u, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap(err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

func (s userdataStore) Put(ctx context.Context, user jid.JID, key string, value []byte) error {
	u, err := bare(user)
	if err == nil {
		err = checkKey(key)
	}
	if err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	return s.d.exec(ctx, `INSERT INTO user_data VALUES ($1, $2, $3)
	ON CONFLICT (owner, key) DO UPDATE SET value = $3`, u, key, value)
}

func (s userdataStore) Delete(ctx context.Context, user jid.JID, key string) error {
	u, err := bare(user)
	if err == nil {
		err = checkKey(key)
	}
	if err != nil {
		return err
	}
	return s.d.exec(ctx, `DELETE FROM user_data WHERE owner = $1 AND key = $2`, u, key)
}

func (s userdataStore) RemoveUser(ctx context.Context, user jid.JID) error {
	u, err := bare(user)
	if err != nil {
		return err
	}
	return s.d.exec(ctx, `DELETE FROM user_data WHERE owner = $1`, u)
}
