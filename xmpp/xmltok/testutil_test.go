package xmltok

import (
	"errors"
	"io"
	"strings"
	"testing"
)

const (
	streamsNS = "http://etherx.jabber.org/streams"
	header    = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>`
)

// condition returns the stream error condition of err, or "".
func condition(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Condition
	}
	return ""
}

// readAll reads a stream header and every element until an error.
func readAll(r io.Reader, lim Limits) (*Start, []Raw, error) {
	d := NewDecoder(r, lim)
	st, err := d.ReadStart()
	if err != nil {
		return nil, nil, err
	}
	var out []Raw
	for {
		raw, err := d.Next()
		if err != nil {
			return st, out, err
		}
		out = append(out, raw)
	}
}

// readBody reads header+body and returns the elements and final error.
func readBody(t *testing.T, body string, lim Limits) ([]Raw, error) {
	t.Helper()
	_, out, err := readAll(strings.NewReader(header+body), lim)
	return out, err
}

// splitReader returns its data in the given chunk sizes, then the rest.
type splitReader struct {
	data   []byte
	chunks []int
}

func (r *splitReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := len(r.data)
	if len(r.chunks) > 0 {
		n = min(n, r.chunks[0])
		r.chunks = r.chunks[1:]
	}
	n = copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// countingReader counts the bytes it hands out.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// repeatReader serves prefix, then fill forever.
type repeatReader struct {
	prefix string
	fill   byte
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.prefix)
	r.prefix = r.prefix[n:]
	for i := n; i < len(p); i++ {
		p[i] = r.fill
	}
	return len(p), nil
}

// equalElement compares trees, treating nil and empty slices alike.
func equalElement(a, b *Element) bool {
	if a.Space != b.Space || a.Local != b.Local || a.Text != b.Text ||
		len(a.Attrs) != len(b.Attrs) || len(a.Children) != len(b.Children) {
		return false
	}
	for i := range a.Attrs {
		if a.Attrs[i] != b.Attrs[i] {
			return false
		}
	}
	for i := range a.Children {
		if !equalElement(a.Children[i], b.Children[i]) {
			return false
		}
	}
	return true
}

// sameRaw compares two Raws field by field.
func sameRaw(a, b Raw) bool {
	return string(a.Bytes) == string(b.Bytes) && a.Space == b.Space && a.Local == b.Local &&
		a.To == b.To && a.From == b.From && a.Type == b.Type && a.ID == b.ID && a.Lang == b.Lang &&
		a.HasTo == b.HasTo && a.HasFrom == b.HasFrom && a.NameEnd == b.NameEnd &&
		a.ToSpan == b.ToSpan && a.FromSpan == b.FromSpan && a.StreamPrefixes == b.StreamPrefixes
}
