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
