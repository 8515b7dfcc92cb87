package mesh

import (
	"sync/atomic"
	"testing"
)

// TestLeaveStopsLoadUpdates: once Leave has started, a changed load is not
// gossiped (a tag update after the leave would wait out the broadcast
// timeout and hold up the leave and the shutdown behind it).
func TestLeaveStopsLoadUpdates(t *testing.T) {
	var load atomic.Int64
	cfg := fast("a")
	cfg.Load = func() int { return int(load.Load()) }
	m := start(t, cfg)
	if err := m.setLoad(3); err != nil {
		t.Fatal(err)
	}
	if m.tags.Load != 3 {
		t.Fatalf("load tag %d before leaving, want 3", m.tags.Load)
	}
	if err := m.Leave(); err != nil {
		t.Fatal(err)
	}
	if err := m.setLoad(7); err != nil {
		t.Fatalf("setLoad after Leave: %v", err)
	}
	if m.tags.Load != 3 {
		t.Fatalf("load tag %d after leaving, want it left at 3", m.tags.Load)
	}
}
