package registry

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// A place is stored as text fields separated by the ASCII unit separator,
// which node names and stream ids may not contain (node.name forbids
// control characters; stream ids are generated):
//
//	core US edge US stream US priority US available(0|1) US bound-at(unix ns) [US expires(unix ms)]
//
// The identity (core, edge, stream) comes first so that the Redis scripts
// compare a session by prefix, and the expiry comes last so that they read
// it with one pattern, without decoding the rest.
const sep = '\x1f'

// check reports why p cannot be stored.
func check(p Place) error {
	switch {
	case p.JID.IsZero() || p.JID.IsBare() || p.JID.Local() == "":
		return fmt.Errorf("%w: %q is not a user's full JID", ErrInvalid, p.JID.String())
	case p.Core == "":
		return fmt.Errorf("%w: %s: no core", ErrInvalid, p.JID)
	case p.Priority < -128 || p.Priority > 127:
		// RFC 6121 §4.7.2.3: an integer between -128 and +127.
		return fmt.Errorf("%w: %s: priority %d", ErrInvalid, p.JID, p.Priority)
	}
	for _, s := range [...]string{p.Core, p.Edge, p.Stream} {
		if strings.ContainsFunc(s, unicode.IsControl) {
			return fmt.Errorf("%w: %s: %q has control characters", ErrInvalid, p.JID, s)
		}
	}
	return nil
}

// identity is the prefix of an encoded place that names its session.
func identity(p Place) string {
	return p.Core + string(sep) + p.Edge + string(sep) + p.Stream + string(sep)
}

// appendPlace encodes p without its JID and expiry.
func appendPlace(b []byte, p Place) []byte {
	b = append(b, identity(p)...)
	b = strconv.AppendInt(b, int64(p.Priority), 10)
	b = append(b, sep)
	if p.Available {
		b = append(b, '1')
	} else {
		b = append(b, '0')
	}
	b = append(b, sep)
	var bound int64
	if !p.BoundAt.IsZero() {
		bound = p.BoundAt.UnixNano()
	}
	return strconv.AppendInt(b, bound, 10)
}

// parsePlace decodes what appendPlace wrote, followed by the expiry in
// unix milliseconds when withExpiry.
func parsePlace(full jid.JID, s string, withExpiry bool) (Place, error) {
	n := 6
	if withExpiry {
		n = 7
	}
	f := strings.SplitN(s, string(sep), n+1)
	if len(f) != n {
		return Place{}, fmt.Errorf("%w: %s: %d fields, want %d", ErrInvalid, full, len(f), n)
	}
	prio, err := strconv.Atoi(f[3])
	if err != nil || prio < -128 || prio > 127 {
		return Place{}, fmt.Errorf("%w: %s: priority %q", ErrInvalid, full, f[3])
	}
	if f[4] != "0" && f[4] != "1" {
		return Place{}, fmt.Errorf("%w: %s: available %q", ErrInvalid, full, f[4])
	}
	bound, err := strconv.ParseInt(f[5], 10, 64)
	if err != nil {
		return Place{}, fmt.Errorf("%w: %s: bound-at %q", ErrInvalid, full, f[5])
	}
	p := Place{JID: full, Core: f[0], Edge: f[1], Stream: f[2], Priority: prio, Available: f[4] == "1"}
	if bound != 0 {
		p.BoundAt = time.Unix(0, bound)
	}
	if withExpiry {
		ms, err := strconv.ParseInt(f[6], 10, 64)
		if err != nil {
			return Place{}, fmt.Errorf("%w: %s: expiry %q", ErrInvalid, full, f[6])
		}
		p.Expires = time.UnixMilli(ms)
	}
	if err := check(p); err != nil {
		return Place{}, err
	}
	return p, nil
}

// Op is the kind of an Update.
type Op byte

// Updates one core sends the others (Memory).
const (
	OpSet  Op = 's' // record Place (register, refresh, presence)
	OpDel  Op = 'd' // remove Place's entry if it is still that session
	OpDrop Op = 'x' // remove every entry held by Node
)

// Update is one change a core broadcasts to the other cores of its
// region. Its binary form (MarshalBinary) is what a network Peers carries.
type Update struct {
	Op    Op
	Place Place  // OpSet, OpDel; Expires is not carried: each core times it
	Node  string // OpDrop
}

// MarshalBinary encodes u.
func (u Update) MarshalBinary() ([]byte, error) {
	switch u.Op {
	case OpSet, OpDel:
		if err := check(u.Place); err != nil {
			return nil, err
		}
		b := append([]byte{byte(u.Op)}, u.Place.JID.String()...)
		b = append(b, sep)
		return appendPlace(b, u.Place), nil
	case OpDrop:
		if u.Node == "" || strings.ContainsFunc(u.Node, unicode.IsControl) {
			return nil, fmt.Errorf("%w: node %q", ErrInvalid, u.Node)
		}
		return append([]byte{byte(OpDrop)}, u.Node...), nil
	}
	return nil, fmt.Errorf("%w: update op %q", ErrInvalid, byte(u.Op))
}

// UnmarshalBinary decodes what MarshalBinary wrote; anything else is an
// error wrapping ErrInvalid.
func (u *Update) UnmarshalBinary(b []byte) error {
	if len(b) < 2 {
		return fmt.Errorf("%w: short update", ErrInvalid)
	}
	s := string(b[1:])
	switch op := Op(b[0]); op {
	case OpSet, OpDel:
		i := strings.IndexByte(s, sep)
		if i < 0 {
			return fmt.Errorf("%w: update without place", ErrInvalid)
		}
		full, err := jid.Parse(s[:i])
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		p, err := parsePlace(full, s[i+1:], false)
		if err != nil {
			return err
		}
		*u = Update{Op: op, Place: p}
	case OpDrop:
		if strings.ContainsFunc(s, unicode.IsControl) {
			return fmt.Errorf("%w: node %q", ErrInvalid, s)
		}
		*u = Update{Op: OpDrop, Node: s}
	default:
		return fmt.Errorf("%w: update op %q", ErrInvalid, b[0])
	}
	return nil
}
