package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/core/mod/last"
	"github.com/meridian-xmpp/meridian/core/mod/mam"
	"github.com/meridian-xmpp/meridian/core/mod/offline"
	"github.com/meridian-xmpp/meridian/core/mod/pep"
	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/core/userdata"
	"github.com/meridian-xmpp/meridian/storage"
)

// schemaVersion is the layout this build writes and reads. Raise it when
// buckets or keys change meaning, and teach Open to migrate older files.
const schemaVersion = 1

// lockTimeout bounds how long Open waits for the file lock held by someone
// else. Long enough to ride out an old process finishing its last
// transaction on restart, short enough that a misconfigured second node
// fails at once.
const lockTimeout = 500 * time.Millisecond

// ErrLocked is returned by Open when another process (or another Open in
// this one) holds the file.
var ErrLocked = errors.New("store locked by another process")

// Bucket names; see the package doc for what each holds.
var (
	bucketMeta         = []byte("meta")
	bucketAccounts     = []byte("accounts")
	bucketRoster       = []byte("roster")
	bucketRosterVer    = []byte("rosterver")
	bucketPending      = []byte("pending")
	bucketLast         = []byte("last")
	bucketOffline      = []byte("offline")
	bucketUserData     = []byte("userdata")
	bucketPSNodes      = []byte("pubsub_nodes")
	bucketPSItems      = []byte("pubsub_items")
	bucketPSItemIDs    = []byte("pubsub_itemids")
	bucketArchive      = []byte("archive")
	bucketArchivePrefs = []byte("archiveprefs")

	allBuckets = [][]byte{bucketMeta, bucketAccounts, bucketRoster, bucketRosterVer, bucketPending, bucketLast, bucketOffline, bucketUserData,
		bucketPSNodes, bucketPSItems, bucketPSItemIDs, bucketArchive, bucketArchivePrefs}

	keySchema = []byte("schema")
)

// DB is an open embedded store.
type DB struct {
	bolt  *bbolt.DB
	path  string
	group *groupCommit // archive appends
}

// Interface guards.
var (
	_ auth.Store     = accounts{}
	_ roster.Store   = rosters{}
	_ last.Store     = lastActivity{}
	_ offline.Store  = offlineMessages{}
	_ userdata.Store = userData{}
	_ pep.Store      = pubsub{}
	_ mam.Store      = archive{}
)

// Open opens the store at path, creating it (and its directory, mode 0700)
// if needed. The file is created with mode 0600: it holds credentials.
func Open(path string) (*DB, error) { return open(path, false) }

// open is Open; noSync skips fsync, for tests that do not test durability
// (the conformance suite), so that they stay fast on a busy disk.
func open(path string, noSync bool) (*DB, error) {
	if path == "" {
		return nil, errors.New("storage/embedded: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("storage/embedded: %w", err)
	}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:      lockTimeout,
		FreelistType: bbolt.FreelistMapType,
		NoSync:       noSync,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("storage/embedded: open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("storage/embedded: open %s: %w", path, err)
	}
	if err := b.Update(initSchema); err != nil {
		b.Close()
		return nil, fmt.Errorf("storage/embedded: open %s: %w", path, err)
	}
	return &DB{bolt: b, path: path, group: newGroupCommit(b)}, nil
}

// initSchema stamps a new file with schemaVersion, refuses a newer one and
// creates any missing bucket.
func initSchema(tx *bbolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	if v := meta.Get(keySchema); v != nil {
		got, n := binary.Uvarint(v)
		if n <= 0 {
			return fmt.Errorf("%w: schema version", errCorrupt)
		}
		if got > schemaVersion {
			return fmt.Errorf("schema version %d is newer than this build supports (%d): run a newer meridian", got, schemaVersion)
		}
	} else if err := meta.Put(keySchema, appendUvarint(nil, schemaVersion)); err != nil {
		return err
	}
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// Close releases the file and its lock. Calling it again is harmless.
func (d *DB) Close() error {
	d.group.close()
	if err := d.bolt.Close(); err != nil {
		return fmt.Errorf("storage/embedded: close %s: %w", d.path, err)
	}
	return nil
}

// Path returns the file the store lives in.
func (d *DB) Path() string { return d.path }

// Stores returns the store set a node uses, closing d on Close.
func (d *DB) Stores() *storage.Stores {
	return &storage.Stores{Accounts: d.Accounts(), Roster: d.Roster(), Last: d.Last(), Offline: d.Offline(), UserData: d.UserData(), PubSub: d.PubSub(), Archive: d.Archive(), Close: d.Close}
}

// Accounts returns the account store.
func (d *DB) Accounts() auth.Store { return accounts{d} }

// Roster returns the roster store.
func (d *DB) Roster() roster.Store { return rosters{d} }

// Offline returns the offline message store.
func (d *DB) Offline() offline.Store { return offlineMessages{d} }

// PubSub returns the PEP node and item store.
func (d *DB) PubSub() pep.Store { return pubsub{d} }

// Archive returns the message archive store.
func (d *DB) Archive() mam.Store { return archive{d} }

// Last returns the last activity store.
func (d *DB) Last() last.Store { return lastActivity{d} }

// UserData returns the per-user keyed blob store.
func (d *DB) UserData() userdata.Store { return userData{d} }

// view and update run fn in a read or write transaction unless ctx is
// already done: a transaction, once started, runs to the end (it is short,
// and bbolt cannot abandon an fsync half way).
func (d *DB) view(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.bolt.View(fn)
}

func (d *DB) update(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.bolt.Update(fn)
}

// wrap adds the component to errors from bbolt and the codec; the store's
// own sentinels (auth.ErrNotFound, ...) and context errors pass unchanged.
func wrap(err error) error {
	switch {
	case err == nil,
		errors.Is(err, auth.ErrNotFound), errors.Is(err, auth.ErrExists),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return fmt.Errorf("storage/embedded: %w", err)
}
