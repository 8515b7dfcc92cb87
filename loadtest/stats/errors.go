package stats

import (
	"sync"
	"sync/atomic"
)

// Errors counts failures by kind ("connect:refused", "auth:not-authorized",
// "message_error:service-unavailable"...). Safe for concurrent use.
type Errors struct {
	mu    sync.Mutex
	m     map[string]int64
	total atomic.Int64
}

// Add counts one error of a kind.
func (e *Errors) Add(kind string) { e.AddN(kind, 1) }

// AddN counts n errors of a kind.
func (e *Errors) AddN(kind string, n int64) {
	if n == 0 {
		return
	}
	e.mu.Lock()
	if e.m == nil {
		e.m = map[string]int64{}
	}
	e.m[kind] += n
	e.mu.Unlock()
	e.total.Add(n)
}

// Total is the number of errors of every kind.
func (e *Errors) Total() int64 { return e.total.Load() }

// Snapshot returns a copy of the counts.
func (e *Errors) Snapshot() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int64, len(e.m))
	for k, v := range e.m {
		out[k] = v
	}
	return out
}
