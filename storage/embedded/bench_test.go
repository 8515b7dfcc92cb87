package embedded

import (
	"path/filepath"
	"testing"

	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/storage/storagetest"
)

// BenchmarkStore runs the backends' common benchmarks on a store in a
// temporary directory, every write fsync'ed (docs/benchmarks.md,
// "Embedded store").
func BenchmarkStore(b *testing.B) {
	storagetest.Benchmark(b, func(b *testing.B) *storage.Stores {
		db, err := Open(filepath.Join(b.TempDir(), "meridian.db"))
		if err != nil {
			b.Fatal(err)
		}
		return db.Stores()
	})
}
