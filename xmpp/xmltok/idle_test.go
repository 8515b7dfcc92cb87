package xmltok

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReleaseWhenIdle: a decoder that gives its buffer back between
// elements reads exactly what one that keeps it does, however the input
// is split.
func TestReleaseWhenIdle(t *testing.T) {
	stream := "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>" +
		"<message to='a@b' id='1'><body>" + strings.Repeat("x", 5000) + "</body></message> \n" +
		"<presence/><iq type='get' id='2'><ping xmlns='urn:xmpp:ping'/></iq>" +
		strings.Repeat("<message to='c@d'><body>short</body></message>", 50) + "</stream:stream>"
	read := func(r io.Reader, release bool) []string {
		d := NewDecoder(r, Limits{})
		if release {
			d.ReleaseWhenIdle()
		}
		if _, err := d.ReadStart(); err != nil {
			t.Fatal(err)
		}
		var out []string
		for {
			raw, err := d.Next()
			if err == ErrStreamEnd {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(raw.Bytes)+"|"+raw.To+"|"+raw.ID)
		}
	}
	want := read(strings.NewReader(stream), false)
	for name, r := range map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(stream) },
		"one byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(stream)) },
		"half":     func() io.Reader { return iotest.HalfReader(strings.NewReader(stream)) },
	} {
		got := read(r(), true)
		if len(got) != len(want) || len(want) != 53 {
			t.Fatalf("%s: %d elements, want %d (53)", name, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: element %d differs", name, i)
			}
		}
	}
}

// stanzaReader hands out one stanza per Read, as a client that pauses
// between messages does.
type stanzaReader struct {
	msg []byte
	off int
}

func (r *stanzaReader) Read(p []byte) (int, error) {
	n := copy(p, r.msg[r.off:])
	r.off = (r.off + n) % len(r.msg)
	return n, nil
}

func TestReleaseWhenIdleAllocs(t *testing.T) {
	msg := []byte(`<message to='juliet@example.com' type='chat' id='a1'><body>hi</body></message>`)
	d := NewDecoder(io.MultiReader(strings.NewReader(header), &stanzaReader{msg: msg}), Limits{})
	d.ReleaseWhenIdle()
	if _, err := d.ReadStart(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if r, err := d.Next(); err != nil || r.ID != "a1" {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Fatalf("%v allocations per stanza, want 1", n)
	}
}
