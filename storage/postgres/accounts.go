package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/xmpp/sasl"
)

func init() {
	// Names compare bytewise (COLLATE "C"), whatever the database's
	// locale: ListAccounts is in byte order like every other backend.
	schema = append(schema, `CREATE TABLE IF NOT EXISTS accounts (
	domain text COLLATE "C" NOT NULL,
	username text COLLATE "C" NOT NULL,
	created timestamptz NOT NULL,
	sha1_salt bytea, sha1_iterations integer NOT NULL, sha1_stored bytea, sha1_server bytea,
	sha256_salt bytea, sha256_iterations integer NOT NULL, sha256_stored bytea, sha256_server bytea,
	PRIMARY KEY (domain, username))`)
}

// accounts implements auth.Store.
type accounts struct{ d *DB }

var errAccountName = errors.New("account domain and username must be non-empty and free of NUL")

func checkName(parts ...string) error {
	for _, p := range parts {
		if p == "" || strings.IndexByte(p, 0) >= 0 {
			return wrap(errAccountName)
		}
	}
	return nil
}

// uniqueViolation reports a duplicate key.
func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func (s accounts) CreateAccount(ctx context.Context, a auth.Account) error {
	if err := checkName(a.Domain, a.Username); err != nil {
		return err
	}
	_, err := s.d.pool.Exec(ctx, `INSERT INTO accounts VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		a.Domain, a.Username, a.Created,
		a.SHA1.Salt, a.SHA1.Iterations, a.SHA1.StoredKey, a.SHA1.ServerKey,
		a.SHA256.Salt, a.SHA256.Iterations, a.SHA256.StoredKey, a.SHA256.ServerKey)
	if uniqueViolation(err) {
		return auth.ErrExists
	}
	return wrap(err)
}

func (s accounts) GetAccount(ctx context.Context, domain, username string) (auth.Account, error) {
	if err := checkName(domain, username); err != nil {
		return auth.Account{}, err
	}
	a := auth.Account{Domain: domain, Username: username}
	err := s.d.pool.QueryRow(ctx, `SELECT created,
	sha1_salt, sha1_iterations, sha1_stored, sha1_server,
	sha256_salt, sha256_iterations, sha256_stored, sha256_server
	FROM accounts WHERE domain = $1 AND username = $2`, domain, username).Scan(&a.Created,
		&a.SHA1.Salt, &a.SHA1.Iterations, &a.SHA1.StoredKey, &a.SHA1.ServerKey,
		&a.SHA256.Salt, &a.SHA256.Iterations, &a.SHA256.StoredKey, &a.SHA256.ServerKey)
	if errors.Is(err, pgx.ErrNoRows) {
		return auth.Account{}, auth.ErrNotFound
	}
	if err != nil {
		return auth.Account{}, wrap(err)
	}
	return a, nil
}

func (s accounts) SetCredentials(ctx context.Context, domain, username string, sha1, sha256 sasl.Credentials) error {
	if err := checkName(domain, username); err != nil {
		return err
	}
	tag, err := s.d.pool.Exec(ctx, `UPDATE accounts SET
	sha1_salt = $3, sha1_iterations = $4, sha1_stored = $5, sha1_server = $6,
	sha256_salt = $7, sha256_iterations = $8, sha256_stored = $9, sha256_server = $10
	WHERE domain = $1 AND username = $2`, domain, username,
		sha1.Salt, sha1.Iterations, sha1.StoredKey, sha1.ServerKey,
		sha256.Salt, sha256.Iterations, sha256.StoredKey, sha256.ServerKey)
	if err != nil {
		return wrap(err)
	}
	if tag.RowsAffected() == 0 {
		return auth.ErrNotFound
	}
	return nil
}

func (s accounts) DeleteAccount(ctx context.Context, domain, username string) error {
	if err := checkName(domain, username); err != nil {
		return err
	}
	tag, err := s.d.pool.Exec(ctx, `DELETE FROM accounts WHERE domain = $1 AND username = $2`, domain, username)
	if err != nil {
		return wrap(err)
	}
	if tag.RowsAffected() == 0 {
		return auth.ErrNotFound
	}
	return nil
}

func (s accounts) ListAccounts(ctx context.Context, domain string) ([]string, error) {
	if err := checkName(domain); err != nil {
		return nil, err
	}
	rows, err := s.d.pool.Query(ctx, `SELECT username FROM accounts WHERE domain = $1 ORDER BY username`, domain)
	if err != nil {
		return nil, wrap(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return names, wrap(err)
}
