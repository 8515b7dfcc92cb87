package node

import (
	"fmt"
	"slices"
	"testing"
)

// TestCoreOrder: every edge orders the same cores its own way, the first
// choices spread over the cores, and removing a core moves only the edges
// that preferred it.
func TestCoreOrder(t *testing.T) {
	cores := []string{"10.0.0.1:5270", "10.0.0.2:5270", "10.0.0.3:5270"}
	first := map[string]int{}
	before := map[string]string{}
	for i := range 300 {
		edge := fmt.Sprintf("edge-%d", i)
		o := coreOrder(edge, cores)
		rev := slices.Clone(cores)
		slices.Reverse(rev)
		if !slices.Equal(o, coreOrder(edge, rev)) {
			t.Fatalf("%s: the order depends on the input order: %v, %v", edge, o, coreOrder(edge, rev))
		}
		first[o[0]]++
		before[edge] = o[0]
	}
	for _, c := range cores {
		if first[c] < 50 { // 100 expected; a lopsided hash would starve one
			t.Errorf("core %s is the first choice of %d edges out of 300: %v", c, first[c], first)
		}
	}
	rest := cores[:2] // 10.0.0.3 is gone
	for edge, c := range before {
		o := coreOrder(edge, rest)
		if c != cores[2] && o[0] != c {
			t.Errorf("%s moved from %s to %s though its core stayed", edge, c, o[0])
		}
	}
}

// TestLinkAddr: a link tag with an unspecified host is dialled at the
// member's mesh host.
func TestLinkAddr(t *testing.T) {
	for _, tc := range []struct{ tag, mesh, want string }{
		{"10.0.0.1:5270", "10.0.0.9:7946", "10.0.0.1:5270"},
		{"0.0.0.0:5270", "10.0.0.9:7946", "10.0.0.9:5270"},
		{"[::]:5270", "[2001:db8::9]:7946", "[2001:db8::9]:5270"},
		{"core-1.example:5270", "10.0.0.9:7946", "core-1.example:5270"},
		{"", "10.0.0.9:7946", ""},
	} {
		if got := dialAddr(tc.tag, tc.mesh); got != tc.want {
			t.Errorf("dialAddr(%q, %q) = %q, want %q", tc.tag, tc.mesh, got, tc.want)
		}
	}
}
