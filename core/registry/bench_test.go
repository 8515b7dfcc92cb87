package registry_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/registry"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// benchUsers is how many users the registry holds while it is measured.
const benchUsers = 10000

func benchPlaces(core string) []registry.Place {
	ps := make([]registry.Place, benchUsers)
	for i := range ps {
		ps[i] = registry.Place{
			JID:  jid.MustParse(fmt.Sprintf("user%d@example.com/phone", i)),
			Core: core, Edge: "e1", Stream: fmt.Sprintf("s%d", i), Available: true, BoundAt: time.Now(),
		}
	}
	return ps
}

// benchLookup measures Lookup of bound full JIDs, from parallel callers
// as the router would.
func benchLookup(b *testing.B, r registry.Registry, ps []registry.Place) {
	for _, p := range ps {
		if _, err := r.Register(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok, err := r.Lookup(ctx, ps[i%len(ps)].JID); err != nil || !ok {
				b.Fatal("lookup failed", err)
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// benchRegister measures Register from parallel callers.
func benchRegister(b *testing.B, r registry.Registry, ps []registry.Place) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := r.Register(ctx, ps[i%len(ps)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// The memory replica of c1 in a region of three cores: Register includes
// encoding the update once and queueing it for the two others.
func BenchmarkMemory(b *testing.B) {
	b.Run("Lookup", func(b *testing.B) {
		_, rs := memoryCluster(b, time.Hour, "c1", "c2", "c3")
		benchLookup(b, rs[0], benchPlaces("c1"))
	})
	b.Run("Register", func(b *testing.B) {
		_, rs := memoryCluster(b, time.Hour, "c1", "c2", "c3")
		benchRegister(b, rs[0], benchPlaces("c1"))
	})
}
