package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// recordV1 is the version byte every value written today starts with.
const recordV1 = 1

// errCorrupt reports a value that does not decode.
var errCorrupt = errors.New("corrupt record")

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendInt(b []byte, v int) []byte { return binary.AppendVarint(b, int64(v)) }

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendTime writes seconds and nanoseconds apart so that every time.Time,
// including the zero value, survives the round trip (UnixNano does not).
func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// decoder reads the fields of one value in order. The first error sticks;
// later reads return zero values, so callers check err once at the end.
type decoder struct {
	b []byte
	// s, when not empty, holds the same bytes as b as a string: string
	// fields are then cut out of it instead of copied one by one.
	s   string
	err error
}

// newDecoder checks the record version byte and returns a decoder for the
// fields that follow.
func newDecoder(v []byte, kind string) decoder {
	if len(v) == 0 {
		return decoder{err: fmt.Errorf("%w: empty %s", errCorrupt, kind)}
	}
	if v[0] != recordV1 {
		return decoder{err: fmt.Errorf("%s record version %d not supported (this build reads %d)", kind, v[0], recordV1)}
	}
	return decoder{b: v[1:]}
}

// withString makes string fields substrings of s, which must hold the
// bytes left in d.
func (d *decoder) withString(s string) {
	if d.err == nil && len(s) == len(d.b) {
		d.s = s
	}
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b, d.s = nil, ""
}

func (d *decoder) advance(n int) {
	d.b = d.b[n:]
	if d.s != "" {
		d.s = d.s[n:]
	}
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.advance(n)
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.advance(n)
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.advance(1)
	return c
}

// length reads a field length and checks the field is all there.
func (d *decoder) length() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

// raw returns the next length-prefixed field as a sub-slice of the input,
// its capacity clipped so an append by the caller cannot overwrite the
// next field. The caller owns the input (bbolt's memory is only valid
// inside the transaction).
func (d *decoder) raw() []byte {
	n := d.length()
	if n == 0 {
		return nil
	}
	p := d.b[:n:n]
	d.advance(n)
	return p
}

// string returns the next length-prefixed field as a string: a copy, or
// a substring of the string given to withString.
func (d *decoder) string() string {
	n := d.length()
	var s string
	if d.s != "" {
		s = d.s[:n]
	} else {
		s = string(d.b[:n])
	}
	d.advance(n)
	return s
}

func (d *decoder) int() int {
	v := d.varint()
	if v < math.MinInt || v > math.MaxInt {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= uint64(time.Second) {
		d.fail()
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// done reports the first error, or an error if bytes are left over: a
// version 1 record has no optional tail, so leftovers mean corruption.
func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	return d.err
}
