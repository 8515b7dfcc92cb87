//go:build postgres

package postgres

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/storage/storagetest"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// dsn is the server the tests use: MERIDIAN_TEST_POSTGRES, set by
// scripts/postgres-test.sh (make postgres-test), which starts a
// throwaway server for them.
func dsn(t testing.TB) string {
	t.Helper()
	d := os.Getenv("MERIDIAN_TEST_POSTGRES")
	if d == "" {
		t.Fatal("MERIDIAN_TEST_POSTGRES is not set: run make postgres-test")
	}
	return d
}

var schemas atomic.Int64

// openFresh opens the store in a schema of its own, dropped after t.
func openFresh(t testing.TB) *DB {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), schemas.Add(1))
	db, err := Open(t.Context(), Options{DSN: dsn(t), Schema: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		admin, err := pgxpool.New(context.Background(), dsn(t))
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) *storage.Stores { return openFresh(t).Stores() })
}

// TestLeastPrivilege: once the tables exist, a node whose role may only
// read and write them (no CREATE) opens the store and works; a schema
// named with a reserved word is quoted.
func TestLeastPrivilege(t *testing.T) {
	ctx := t.Context()
	admin, err := pgxpool.New(ctx, dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "order" // a reserved word
	t.Cleanup(func() { admin.Exec(context.Background(), `DROP SCHEMA IF EXISTS "order" CASCADE`) })
	// Created once by the privileged role.
	db, err := Open(ctx, Options{DSN: dsn(t), Schema: name})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	role := fmt.Sprintf("meridian_dml_%d", os.Getpid())
	for _, q := range []string{
		"DROP ROLE IF EXISTS " + role,
		"CREATE ROLE " + role + " LOGIN",
		`GRANT USAGE ON SCHEMA "order" TO ` + role,
		`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "order" TO ` + role,
		`GRANT USAGE ON ALL SEQUENCES IN SCHEMA "order" TO ` + role,
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), `DROP SCHEMA IF EXISTS "order" CASCADE`)
		admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
	})
	cfg, err := pgxpool.ParseConfig(dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	u := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", role, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	db, err = Open(ctx, Options{DSN: u, Schema: name})
	if err != nil {
		t.Fatalf("Open as a role without CREATE: %v", err)
	}
	defer db.Close()
	user := jid.MustParse("alice@example.com")
	if ok, err := db.Stores().Offline.Push(ctx, user, []byte("<message/>"), 10); err != nil || !ok {
		t.Fatalf("Push: %v %v", ok, err)
	}
	if n, err := db.Stores().Offline.Count(ctx, user); err != nil || n != 1 {
		t.Fatalf("Count: %d %v", n, err)
	}
}
