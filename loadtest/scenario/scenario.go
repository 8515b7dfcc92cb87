// Package scenario holds the load harness's scenarios and what they share:
// the registry, the environment of logged-in sessions, the send-time
// stamp that carries end-to-end latency, the rate pacer, contact groups
// and roster provisioning. A scenario prepares the sessions (presence,
// rosters) and then generates load for the run's duration; new ones
// (MUC, cross-region) register themselves the same way. It must not log
// users in or write reports.
package scenario

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Scenario is one kind of load.
type Scenario interface {
	// Prepare runs once every user is logged in and before measuring:
	// initial presence, rosters, history. Failures are counted in
	// e.Stats.Errors; an error return stops the run.
	Prepare(ctx context.Context, e *Env) error
	// Run generates the load until e.Params.Duration (or
	// e.Params.Messages stanzas) and returns; the engine then drains.
	Run(ctx context.Context, e *Env) error
}

// Silent is implemented by scenarios that send no stanzas during the
// load phase (login, idle): a run of them has no target rate.
type silent interface{ Silent() bool }

// Silent reports whether a scenario sends no stanzas.
func Silent(s Scenario) bool {
	q, ok := s.(silent)
	return ok && q.Silent()
}

var (
	mu       sync.Mutex
	registry = map[string]Scenario{}
)

// Register makes a scenario available by name. It panics on a duplicate,
// as two scenarios with one name are a programming error.
func Register(name string, s Scenario) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("scenario: %q registered twice", name))
	}
	registry[name] = s
}

// Lookup returns the scenario registered under name.
func Lookup(name string) (Scenario, bool) {
	mu.Lock()
	defer mu.Unlock()
	s, ok := registry[name]
	return s, ok
}

// Names lists the registered scenarios.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
