// Package wire is the framing of the edge link: frame types, the frame
// header, and the encoding of each frame's payload. It is pure encoding —
// no connections, no goroutines — so both ends and the fuzzer share it.
// docs/architecture.md ("Edge link") explains the protocol.
//
// A frame is a 4-byte big-endian length (of what follows), a 1-byte type
// and the payload. Integers in payloads are unsigned varints; strings and
// byte strings are a varint length and the bytes.
package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version exchanged in Hello and Welcome.
const Version = 1

// DefaultMaxFrame bounds a frame's length; a larger length prefix is a
// protocol error (the reader never allocates it).
const DefaultMaxFrame = 1 << 20

// Type is a frame type.
type Type uint8

// Frame types. Control stream: Hello, Welcome, Request, Response. Session
// streams: the rest.
const (
	Hello       Type = 0x01 // edge → core, first frame of the control stream
	Welcome     Type = 0x02 // core → edge, answer to Hello
	Request     Type = 0x03 // edge → core: id, method, arguments
	Response    Type = 0x04 // core → edge: id, status, results
	Open        Type = 0x10 // edge → core, first frame of a session stream
	Opened      Type = 0x11 // core → edge: the session's full JID
	OpenFailed  Type = 0x12 // core → edge: a stanza error; the stream ends
	Stanza      Type = 0x20 // either way: seq, header, bytes
	Ack         Type = 0x21 // either way: cumulative seq handed on
	Undelivered Type = 0x22 // edge → core: seq, a stanza handed back at close
	Close       Type = 0x23 // edge → core: seq; the client's stream is gone
	End         Type = 0x24 // core → edge: end the client's stream (stream error)
)

func (t Type) String() string {
	switch t {
	case Hello:
		return "hello"
	case Welcome:
		return "welcome"
	case Request:
		return "request"
	case Response:
		return "response"
	case Open:
		return "open"
	case Opened:
		return "opened"
	case OpenFailed:
		return "open-failed"
	case Stanza:
		return "stanza"
	case Ack:
		return "ack"
	case Undelivered:
		return "undelivered"
	case Close:
		return "close"
	case End:
		return "end"
	}
	return fmt.Sprintf("type-%#x", uint8(t))
}

// Errors a Reader returns for bad framing.
var (
	ErrTooLarge = errors.New("wire: frame length over the limit")
	ErrEmpty    = errors.New("wire: frame without a type")
	ErrShort    = errors.New("wire: truncated payload")
)

// Reader reads frames from a stream.
type Reader struct {
	r   *bufio.Reader
	max int
	hdr [5]byte
}

// NewReader reads frames of at most max bytes (0: DefaultMaxFrame).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	return &Reader{r: bufio.NewReaderSize(r, 32<<10), max: max}
}

// Next reads one frame. The payload is a fresh slice the caller may keep.
func (r *Reader) Next() (Type, []byte, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:4]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(r.hdr[:4])
	if n == 0 {
		return 0, nil, ErrEmpty
	}
	if n > uint32(r.max) {
		return 0, nil, ErrTooLarge
	}
	t, err := r.r.ReadByte()
	if err != nil {
		return 0, nil, unexpected(err)
	}
	p := make([]byte, n-1)
	if _, err := io.ReadFull(r.r, p); err != nil {
		return 0, nil, unexpected(err)
	}
	return Type(t), p, nil
}

// Buffered reports how many bytes are read ahead: 0 means the next Next
// waits for the network, the moment to acknowledge what was handed on.
func (r *Reader) Buffered() int { return r.r.Buffered() }

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Begin starts a frame of type t on buf; Finish writes its length.
func Begin(buf []byte, t Type) ([]byte, int) {
	start := len(buf)
	return append(buf, 0, 0, 0, 0, byte(t)), start
}

// Finish completes the frame Begin started at start.
func Finish(buf []byte, start int) []byte {
	binary.BigEndian.PutUint32(buf[start:], uint32(len(buf)-start-4))
	return buf
}

// AppendUvarint appends v.
func AppendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// AppendString appends a length-prefixed string.
func AppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendBytes appends a length-prefixed byte string.
func AppendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// Dec decodes a payload; the first error sticks and later reads return
// zero values.
type Dec struct {
	b   []byte
	err error
}

// NewDec decodes p.
func NewDec(p []byte) *Dec { return &Dec{b: p} }

// Err is the first decoding error.
func (d *Dec) Err() error { return d.err }

// Uvarint reads an integer.
func (d *Dec) Uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = ErrShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Byte reads one byte.
func (d *Dec) Byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = ErrShort
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// Bytes reads a length-prefixed byte string (aliasing the payload).
func (d *Dec) Bytes() []byte {
	n := d.Uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = ErrShort
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

// String reads a length-prefixed string.
func (d *Dec) String() string { return string(d.Bytes()) }

// Len is how many bytes are left.
func (d *Dec) Len() int { return len(d.b) }

// Rest returns what is left (aliasing the payload).
func (d *Dec) Rest() []byte {
	p := d.b
	d.b = nil
	return p
}
