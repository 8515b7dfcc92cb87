package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/storage/storagetest"
)

// TestConformance runs the suite without fsync: it checks semantics, and
// TestCrashRestart checks what is on disk. The registered opener is
// checked by TestOpenerOptions.
func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) *storage.Stores {
		db, err := open(filepath.Join(t.TempDir(), "meridian.db"), true)
		if err != nil {
			t.Fatal(err)
		}
		return db.Stores()
	})
}

// openTemp opens a store in a new temporary directory, closed after t.
func openTemp(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "meridian.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenerOptions(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(t.TempDir(), "elsewhere", "x.db")
	for _, tc := range []struct {
		name    string
		options map[string]any
		file    string // expected file, "" if an error is expected
		err     string
	}{
		{"default", nil, filepath.Join(dir, "meridian.db"), ""},
		{"relative", map[string]any{"path": "sub/r.db"}, filepath.Join(dir, "sub", "r.db"), ""},
		{"absolute", map[string]any{"path": abs}, abs, ""},
		{"unknown", map[string]any{"pth": "x"}, "", `unknown option "pth"`},
		{"type", map[string]any{"path": 3}, "", "want a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := storage.Open("embedded", dir, tc.options)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Open = %v, want error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Accounts == nil || s.Roster == nil || s.Last == nil || s.Offline == nil || s.UserData == nil || s.PubSub == nil || s.Close == nil {
				t.Fatalf("Stores has nil fields: %+v", s)
			}
			fi, err := os.Stat(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("file mode = %v, want 0600", m)
			}
			di, err := os.Stat(filepath.Dir(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if m := di.Mode().Perm(); filepath.Dir(tc.file) != dir && m != 0o700 {
				t.Errorf("created directory mode = %v, want 0700", m)
			}
		})
	}
	if _, err := storage.Open("embedded", "", nil); err == nil {
		t.Error("Open with no data dir and no path succeeded")
	}
}

func TestSecondOpenerFails(t *testing.T) {
	db := openTemp(t)
	start := time.Now()
	second, err := Open(db.Path())
	took := time.Since(start)
	if err == nil {
		second.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "store locked by another process") {
		t.Errorf("second Open = %v, want ErrLocked", err)
	}
	if took > 3*lockTimeout {
		t.Errorf("second Open took %v, want about %v", took, lockTimeout)
	}
	// Once the first closes, the file opens again.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(db.Path())
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
}

func TestNewerSchemaRefused(t *testing.T) {
	db := openTemp(t)
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, appendUvarint(nil, schemaVersion+1))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	again, err := Open(db.Path())
	if err == nil {
		again.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
	if !strings.Contains(err.Error(), "schema version 2 is newer") {
		t.Errorf("Open = %v, want a schema version error", err)
	}
}

func TestNotABoltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err := Open(path); err == nil {
		db.Close()
		t.Fatal("Open of a junk file succeeded")
	}
}

func TestNewerRecordRefused(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	a := auth.Account{Domain: "example.com", Username: "alice", Created: time.Now()}
	if err := db.Accounts().CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAccounts)
		k, _ := accountKey("example.com", "alice")
		v := append([]byte(nil), b.Get(k)...)
		v[0] = recordV1 + 1
		return b.Put(k, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Accounts().GetAccount(ctx, "example.com", "alice")
	if err == nil || !strings.Contains(err.Error(), "account record version 2 not supported") {
		t.Errorf("GetAccount = %v, want a record version error", err)
	}
}

func TestBadNames(t *testing.T) {
	s := openTemp(t).Accounts()
	ctx := context.Background()
	for _, a := range []auth.Account{
		{Domain: "", Username: "alice"},
		{Domain: "example.com", Username: ""},
		{Domain: "example.com", Username: "al\x00ice"},
		{Domain: "exa\x00mple.com", Username: "alice"},
	} {
		if err := s.CreateAccount(ctx, a); err == nil || errors.Is(err, auth.ErrExists) {
			t.Errorf("CreateAccount(%q, %q) = %v, want an error", a.Domain, a.Username, err)
		}
	}
}
