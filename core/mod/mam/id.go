package mam

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// ID is an archive UID (XEP-0313 §3, XEP-0359): 8 bytes of big-endian
// microseconds since the Unix epoch, then 8 random bytes. IDs compare
// bytewise in time order, so a range of IDs is a range of time, and the
// random half makes them unguessable: knowing one ID tells nothing about
// the next or about the size of the archive (XEP-0359 §4). The zero ID is
// never assigned.
type ID [16]byte

// MaxID is greater than every assigned ID.
var MaxID = ID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// IsZero reports whether id is the zero ID (no ID).
func (id ID) IsZero() bool { return id == ID{} }

// Micros returns the ID's timestamp in microseconds since the Unix epoch.
func (id ID) Micros() int64 { return int64(binary.BigEndian.Uint64(id[:8])) }

// Time returns when the message was archived, in UTC.
func (id ID) Time() time.Time { return time.UnixMicro(id.Micros()).UTC() }

// FirstIDAt returns the smallest ID with t's microsecond, so that every
// message archived at or after t has an ID >= FirstIDAt(t).
func FirstIDAt(t time.Time) ID {
	var id ID
	us := t.UnixMicro()
	if us < 0 {
		return id
	}
	binary.BigEndian.PutUint64(id[:8], uint64(us))
	return id
}

// LastIDAt returns the largest ID with t's microsecond, so that every
// message archived at or before t has an ID <= LastIDAt(t).
func LastIDAt(t time.Time) ID {
	us := t.UnixMicro()
	if us < 0 {
		return ID{}
	}
	id := MaxID
	binary.BigEndian.PutUint64(id[:8], uint64(us))
	return id
}

// crockford is Crockford's base32 alphabet in lower case: its order is
// byte order, so the text form of IDs sorts like the IDs.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// idLen is the length of an ID's text form: 128 bits in 26 digits of 5
// bits, the first digit holding the top 3.
const idLen = 26

// String returns the 26-character text form used on the wire.
func (id ID) String() string {
	hi := binary.BigEndian.Uint64(id[:8])
	lo := binary.BigEndian.Uint64(id[8:])
	var b [idLen]byte
	for i := idLen - 1; i >= 0; i-- {
		b[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(b[:])
}

var digitOf = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(crockford); i++ {
		t[crockford[i]] = byte(i)
		if c := crockford[i]; c >= 'a' {
			t[c-'a'+'A'] = byte(i)
		}
	}
	return t
}()

// ParseID reads the text form of an ID (either case); ok is false for
// anything that is not one.
func ParseID(s string) (id ID, ok bool) {
	if len(s) != idLen {
		return ID{}, false
	}
	var hi, lo uint64
	for i := 0; i < idLen; i++ {
		d := digitOf[s[i]]
		if d == 0xff || (i == 0 && d > 7) {
			return ID{}, false
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(d)
	}
	binary.BigEndian.PutUint64(id[:8], hi)
	binary.BigEndian.PutUint64(id[8:], lo)
	return id, !id.IsZero()
}

// Next returns the ID just after id (MaxID stays MaxID).
func (id ID) Next() ID {
	for i := len(id) - 1; i >= 0; i-- {
		id[i]++
		if id[i] != 0 {
			return id
		}
	}
	return MaxID
}

// Prev returns the ID just before id (the zero ID stays zero).
func (id ID) Prev() ID {
	if id.IsZero() {
		return id
	}
	for i := len(id) - 1; i >= 0; i-- {
		id[i]--
		if id[i] != 0xff {
			return id
		}
	}
	return id
}

// Compare returns -1, 0 or +1 as id sorts before, with or after o.
func (id ID) Compare(o ID) int {
	for i := range id {
		switch {
		case id[i] < o[i]:
			return -1
		case id[i] > o[i]:
			return 1
		}
	}
	return 0
}

// idGen hands out IDs whose timestamps strictly increase within the
// process, also when the clock steps back or two messages share a
// microsecond: the archive order is then the order messages were
// handled, which is what XEP-0313 §3.1 asks for.
type idGen struct {
	mu   sync.Mutex
	last int64
	now  func() time.Time
}

func (g *idGen) next() ID {
	us := g.now().UnixMicro()
	g.mu.Lock()
	if us <= g.last {
		us = g.last + 1
	}
	g.last = us
	g.mu.Unlock()
	var id ID
	binary.BigEndian.PutUint64(id[:8], uint64(us))
	rand.Read(id[8:]) // never fails (crypto/rand, Go 1.24+)
	return id
}
