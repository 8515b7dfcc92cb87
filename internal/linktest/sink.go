// Package linktest has test doubles for the link interfaces.
package linktest

import (
	"sync"

	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// Sink is a link.Sink that records what it is given.
type Sink struct {
	mu     sync.Mutex
	got    []*stanza.Stanza
	closed *stanza.StreamError
}

var _ link.Sink = (*Sink)(nil)

// Deliver implements link.Sink; it always accepts.
func (s *Sink) Deliver(st *stanza.Stanza) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, st)
	return true
}

// Close implements link.Sink.
func (s *Sink) Close(e *stanza.StreamError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = e
}

// Got returns what was delivered so far.
func (s *Sink) Got() []*stanza.Stanza {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*stanza.Stanza(nil), s.got...)
}

// Closed returns the stream error Close was given (nil: none yet).
func (s *Sink) Closed() *stanza.StreamError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Count returns how many stanzas of a kind were delivered.
func (s *Sink) Count(kind stanza.Kind) int {
	n := 0
	for _, st := range s.Got() {
		if st.Kind == kind {
			n++
		}
	}
	return n
}
