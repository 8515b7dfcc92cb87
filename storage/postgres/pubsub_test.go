//go:build postgres

package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/pep"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Concurrent publications to one node, each trimming to max, leave the
// newest max, and every other item is reported removed exactly once.
func TestPubSubConcurrentPublish(t *testing.T) {
	s := pubsub{openFresh(t)}
	ctx := t.Context()
	owner := jid.MustParse("alice@example.com")
	node := pep.Node{Name: "n", Config: pep.DefaultConfig()}
	const (
		writers = 8
		each    = 25
		max     = 3
	)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		removed []string
	)
	at := time.Now() // one instant for all: order must not depend on it
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				r, err := s.Publish(ctx, owner, node, pep.Item{ID: fmt.Sprint(w, "-", i), Published: at}, max)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				removed = append(removed, r...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	items, err := s.Items(ctx, owner, "n", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != max {
		t.Fatalf("%d items left, want %d", len(items), max)
	}
	all := removed
	for _, it := range items {
		all = append(all, it.ID)
	}
	slices.Sort(all)
	if len(all) != writers*each || len(slices.Compact(all)) != writers*each {
		t.Fatalf("removed and kept are %d IDs, %d distinct; want %d", len(all), len(slices.Compact(all)), writers*each)
	}
}

func TestPubSubCanceled(t *testing.T) {
	s := pubsub{openFresh(t)}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	owner := jid.MustParse("alice@example.com")
	if _, err := s.Publish(ctx, owner, pep.Node{Name: "n"}, pep.Item{ID: "a"}, 1); err == nil {
		t.Error("Publish with a canceled context succeeded")
	}
	if _, err := s.Items(ctx, owner, "n", 0); err == nil {
		t.Error("Items with a canceled context succeeded")
	}
	if _, _, err := s.Node(ctx, owner, "n"); err == nil {
		t.Error("Node with a canceled context succeeded")
	}
	if _, err := s.Trim(ctx, owner, "n", 1); err == nil {
		t.Error("Trim with a canceled context succeeded")
	}
}
