//go:build postgres

package postgres

import (
	"testing"

	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/storage/storagetest"
)

// BenchmarkStore runs the backends' common benchmarks against the server
// of MERIDIAN_TEST_POSTGRES (docs/benchmarks.md, "PostgreSQL store").
func BenchmarkStore(b *testing.B) {
	storagetest.Benchmark(b, func(b *testing.B) *storage.Stores { return openFresh(b).Stores() })
}
