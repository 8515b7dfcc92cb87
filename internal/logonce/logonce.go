// Package logonce remembers which events were already logged, so that a
// peer retrying a refused connection every second is counted every time
// but logged once. It owns nothing else.
package logonce

import "sync"

// Max is how many keys a Set remembers; past it, it starts over (logging
// again is better than growing without limit).
const Max = 4096

// Set is a bounded set of logged keys. The zero value is ready.
type Set struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

// First reports whether key is new, and remembers it.
func (s *Set) First(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.seen[key]; ok {
		return false
	}
	if s.seen == nil || len(s.seen) >= Max {
		s.seen = map[string]struct{}{}
	}
	s.seen[key] = struct{}{}
	return true
}
