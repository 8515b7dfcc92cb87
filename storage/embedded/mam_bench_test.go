package embedded

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/meridian-xmpp/meridian/core/mod/mam"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// benchStanza is a 200-byte chat message as the archive keeps it.
const benchStanza = "<message xmlns='jabber:client' from='bob@example.com/phone' to='alice@example.com' type='chat' id='a1b2c3d4-e5f6'><body>The quick brown fox jumps over the lazy dog, twice, to fill it.</body></message>"

func TestBenchStanzaSize(t *testing.T) {
	if n := len(benchStanza); n < 190 || n > 210 {
		t.Fatalf("benchStanza is %d bytes", n)
	}
}

// benchIDs hands out IDs like the module does: time-ordered, unique.
type benchIDs struct{ last atomic.Int64 }

func (g *benchIDs) at(us int64) mam.ID {
	for {
		l := g.last.Load()
		if us <= l {
			us = l + 1
		}
		if g.last.CompareAndSwap(l, us) {
			break
		}
	}
	var id mam.ID
	binary.BigEndian.PutUint64(id[:8], uint64(us))
	rand.Read(id[8:])
	return id
}

func (g *benchIDs) next() mam.ID { return g.at(time.Now().UnixMicro()) }

// BenchmarkArchiveCommit compares ways of making archive appends durable
// under concurrent writers, each append a 200-byte message into one of
// 1,000 archives: a transaction with its fsync per message (update),
// bbolt's Batch with its defaults (10 ms, 1,000 calls), and the group
// commit the store uses (group). It reports appends per second and the
// mean time each writer waits.
func BenchmarkArchiveCommit(b *testing.B) {
	strategies := []struct {
		name string
		run  func(db *DB, fn func(*bbolt.Tx) error) error
	}{
		{"update", func(db *DB, fn func(*bbolt.Tx) error) error { return db.bolt.Update(fn) }},
		{"batch", func(db *DB, fn func(*bbolt.Tx) error) error { return db.bolt.Batch(fn) }},
		{"group", func(db *DB, fn func(*bbolt.Tx) error) error { return db.group.do(fn) }},
	}
	users := make([]jid.JID, 1000)
	for i := range users {
		users[i] = jid.MustParse(fmt.Sprintf("user%04d@example.com", i))
	}
	with := jid.MustParse("bob@example.com/phone")
	for _, st := range strategies {
		for _, writers := range []int{1, 16, 128} {
			b.Run(fmt.Sprintf("%s/writers=%d", st.name, writers), func(b *testing.B) {
				db := openTemp(b)
				var ids benchIDs
				var next atomic.Int64
				var wait atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							n := next.Add(1)
							if n > int64(b.N) {
								return
							}
							m := mam.Message{ID: ids.next(), With: with, Stanza: []byte(benchStanza)}
							fn, err := appendTx(users[n%int64(len(users))], m)
							if err != nil {
								b.Error(err)
								return
							}
							t0 := time.Now()
							if err := st.run(db, fn); err != nil {
								b.Error(err)
								return
							}
							wait.Add(int64(time.Since(t0)))
						}
					}()
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
				b.ReportMetric(float64(wait.Load())/float64(b.N)/1e3, "µs-wait")
			})
		}
	}
}

// The big archive for the read benchmarks: built once per test binary
// run, in a temporary directory removed at exit.
const (
	bigSize     = 1_000_000
	bigContacts = 100
)

var (
	bigOnce   sync.Once
	bigDB     *DB
	bigDir    string
	bigErr    error
	bigUser   = jid.MustParse("alice@example.com")
	bigMiddle mam.ID // an ID half way through
)

func bigContact(i int) jid.JID {
	return jid.MustParse(fmt.Sprintf("contact%03d@example.org/res%d", i%bigContacts, i%3))
}

// bigArchive returns a store whose alice has 1,000,000 messages of 200
// bytes, one a millisecond (about 17 minutes of history), with 100
// contacts of 3 resources each in turn.
func bigArchive(b *testing.B) *DB {
	bigOnce.Do(func() {
		start := time.Now()
		bigDir, bigErr = os.MkdirTemp("", "meridian-mam-bench-")
		if bigErr != nil {
			return
		}
		bigDB, bigErr = Open(filepath.Join(bigDir, "big.db"))
		if bigErr != nil {
			return
		}
		// Loading skips fsync; the reads measured do not care.
		bigDB.bolt.NoSync = true
		var ids benchIDs
		t0 := time.Now().Add(-bigSize * time.Millisecond).UnixMicro()
		const perTx = 20_000
		for i := 0; i < bigSize && bigErr == nil; i += perTx {
			bigErr = bigDB.bolt.Update(func(tx *bbolt.Tx) error {
				for j := i; j < i+perTx && j < bigSize; j++ {
					m := mam.Message{ID: ids.at(t0 + int64(j)*1000), With: bigContact(j), Stanza: []byte(benchStanza)}
					if j == bigSize/2 {
						bigMiddle = m.ID
					}
					fn, err := appendTx(bigUser, m)
					if err != nil {
						return err
					}
					if err := fn(tx); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if bigErr == nil {
			bigErr = bigDB.bolt.Sync()
			bigDB.bolt.NoSync = false
		}
		if fi, err := os.Stat(bigDB.Path()); err == nil {
			fmt.Fprintf(os.Stderr, "built a %d-message archive in %v: %.0f MB\n", bigSize, time.Since(start).Round(time.Second), float64(fi.Size())/1e6)
		}
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigDB
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bigDB != nil {
		bigDB.Close()
	}
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	os.Exit(code)
}

// BenchmarkArchiveQuery1M measures queries of 50 messages on an archive
// of 1,000,000 (p50 and p99 of the per-query latency, warm page cache):
// the newest page; the newest with one contact (10,000 messages) or one
// of its resources; the page before a message half way back; a time range
// from half way; the page after the first message.
func BenchmarkArchiveQuery1M(b *testing.B) {
	db := bigArchive(b)
	s := db.Archive()
	ctx := context.Background()
	half := bigMiddle.Time()
	first, _, _, err := s.Bounds(ctx, bigUser)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    mam.Query
	}{
		{"newest", mam.Query{Max: 50, Last: true}},
		{"newest-with-bare", mam.Query{Max: 50, Last: true, With: jid.MustParse("contact042@example.org")}},
		{"newest-with-full", mam.Query{Max: 50, Last: true, With: jid.MustParse("contact042@example.org/res1")}},
		{"before-middle", mam.Query{Max: 50, Last: true, Before: bigMiddle}},
		{"start-middle", mam.Query{Max: 50, Start: half}},
		{"after-first", mam.Query{Max: 50, After: first}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				p, err := s.Query(ctx, bigUser, tc.q)
				lat = append(lat, time.Since(t0))
				if err != nil || len(p.Messages) != 50 {
					b.Fatalf("%d messages, %v", len(p.Messages), err)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
		})
	}
}
