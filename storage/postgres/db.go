package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// schema is every table and index, in order; each file adds its own in
// an init function. Statements must be idempotent (IF NOT EXISTS).
var schema []string

// schemaLock is the advisory lock key Open holds while it creates the
// schema ("meridian" in ASCII).
const schemaLock = 0x6d6572696469616e

// schemaVersion is recorded in meridian_schema once the tables exist: a
// node finding it needs no DDL, so it may run as a role with only the
// rights to read and write the tables (created once by one with more).
const schemaVersion = 1

// DB is an open PostgreSQL store.
type DB struct {
	pool *pgxpool.Pool
}

// Options configure Open.
type Options struct {
	// DSN is a libpq connection string or URL (required).
	DSN string
	// Schema is the PostgreSQL schema the tables live in, created when
	// missing ("" is the server's search_path, normally public).
	Schema string
	// MaxConns bounds the pool (0: pgx's default, max(4, CPUs)).
	MaxConns int32
}

// schemaName is a schema name Open accepts (quoted all the same, for
// reserved words); pg_ names are the server's.
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects, checks the server answers, and creates the schema.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.DSN == "" {
		return nil, errors.New("storage/postgres: empty dsn")
	}
	cfg, err := pgxpool.ParseConfig(o.DSN)
	if err != nil {
		// pgx's message may quote the DSN with its password: say only
		// that it did not parse.
		return nil, errors.New("storage/postgres: dsn does not parse as a connection string or URL")
	}
	if o.Schema != "" {
		if !schemaName.MatchString(o.Schema) || strings.HasPrefix(o.Schema, "pg_") {
			return nil, fmt.Errorf("storage/postgres: schema %q: want lower-case letters, digits and _, not starting with pg_", o.Schema)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{o.Schema}.Sanitize()
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("storage/postgres: %w", err)
	}
	d := &DB{pool: pool}
	if err := d.migrate(ctx, o.Schema); err != nil {
		pool.Close()
		return nil, err
	}
	return d, nil
}

func (d *DB) migrate(ctx context.Context, name string) error {
	if ok, err := d.current(ctx, d.pool); err != nil || ok {
		return wrap(err)
	}
	return d.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(schemaLock)); err != nil {
			return err
		}
		if ok, err := d.current(ctx, tx); err != nil || ok {
			return err // another node made it meanwhile
		}
		if name != "" {
			if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
				return err
			}
		}
		for _, s := range schema {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%w (in %.60q)", err, s)
			}
		}
		for _, s := range []string{
			`CREATE TABLE IF NOT EXISTS meridian_schema (version integer NOT NULL)`,
			`DELETE FROM meridian_schema`,
		} {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO meridian_schema VALUES ($1)`, schemaVersion)
		return err
	})
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// current reports whether the tables exist at this schemaVersion or later.
func (d *DB) current(ctx context.Context, q querier) (bool, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('meridian_schema') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return false, err
	}
	var v int32
	if err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM meridian_schema`).Scan(&v); err != nil {
		return false, err
	}
	return v >= schemaVersion, nil
}

// tx runs f in a transaction, committed when f returns nil.
func (d *DB) tx(ctx context.Context, f func(pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, d.pool, f)
	if err != nil {
		return wrap(err)
	}
	return nil
}

// exec runs a statement whose result only matters as an error.
func (d *DB) exec(ctx context.Context, q string, args ...any) error {
	_, err := d.pool.Exec(ctx, q, args...)
	return wrap(err)
}

// one runs a query for at most one row; ok is false when there is none.
func one[T any](ctx context.Context, d *DB, scan pgx.RowToFunc[T], q string, args ...any) (v T, ok bool, err error) {
	rows, _ := d.pool.Query(ctx, q, args...) // an error comes back from the rows
	v, err = pgx.CollectExactlyOneRow(rows, scan)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return v, false, nil
	case err != nil:
		return v, false, wrap(err)
	}
	return v, true, nil
}

// wrap prefixes errors with the package, keeping context errors as they
// are so that callers can tell a cancellation.
func wrap(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("storage/postgres: %w", err)
}

// Close closes the pool.
func (d *DB) Close() error {
	d.pool.Close()
	return nil
}

// Stores returns the per-module stores over d.
func (d *DB) Stores() *storage.Stores {
	return &storage.Stores{
		Accounts: accounts{d},
		Roster:   rosterStore{d},
		Last:     lastStore{d},
		Offline:  offlineStore{d},
		UserData: userdataStore{d},
		PubSub:   pubsub{d},
		Archive:  archive{d},
		Close:    d.Close,
	}
}

var errEmptyJID = errors.New("empty JID")

// bare is the key of a user or contact: the bare JID's string.
func bare(j jid.JID) (string, error) {
	if j.IsZero() {
		return "", wrap(errEmptyJID)
	}
	return j.Bare().String(), nil
}

// bares is bare for two JIDs.
func bares(a, b jid.JID) (string, string, error) {
	x, err := bare(a)
	if err != nil {
		return "", "", err
	}
	y, err := bare(b)
	return x, y, err
}
