package scenario

import (
	"crypto/rand"
	"strconv"
	"time"
)

// Stamp writes a send time into stanza ids and reads it back on receipt:
// id = <run tag><nanoseconds since the run's base time>. Both ends are
// in this process, so the difference uses Go's monotonic clock and is
// immune to wall-clock steps. The random tag keeps another run's stanzas
// (offline messages delivered at login, a second load node) out of the
// measurements.
type Stamp struct {
	prefix string
	base   time.Time
}

// NewStamp returns a stamp with a fresh tag; its base is now.
func NewStamp() *Stamp {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [6]byte
	rand.Read(b[:])
	tag := []byte("lt")
	for _, c := range b {
		tag = append(tag, letters[int(c)%len(letters)])
	}
	return &Stamp{prefix: string(tag) + "-", base: time.Now()}
}

// Append appends an id holding the time now.
func (s *Stamp) Append(b []byte) []byte {
	b = append(b, s.prefix...)
	return strconv.AppendInt(b, int64(time.Since(s.base)), 10)
}

// Since returns how long ago the stanza with this id was stamped, and
// false for ids that are not this run's stamps. Digits end at the first
// non-digit, so a suffix ("-7") may follow.
func (s *Stamp) Since(id string) (time.Duration, bool) {
	p := s.prefix
	if len(id) <= len(p) || id[:len(p)] != p {
		return 0, false
	}
	var ns int64
	i := len(p)
	for ; i < len(id) && id[i] >= '0' && id[i] <= '9'; i++ {
		ns = ns*10 + int64(id[i]-'0')
	}
	if i == len(p) {
		return 0, false
	}
	return time.Since(s.base) - time.Duration(ns), true
}
