package xmltok

import (
	"io"
	"sync"
	"unsafe"
)

const (
	minBuf     = 4 << 10  // initial buffer and the least room left for a read
	maxIdleBuf = 64 << 10 // a larger buffer is dropped once empty
)

// decoderState is the Decoder. Unconsumed input is buf[rd:wr]; a
// top-level element being read starts at rd and is consumed only when
// complete, so a read error (a deadline, say) leaves the decoder able to
// resume where it was.
type decoderState struct {
	r       io.Reader
	lim     Limits
	buf     []byte
	rd, wr  int
	pending error // read error to return once the bytes read with it are used
	err     error // sticky XML error

	sc     scanner
	inElem bool // sc holds a partly read top-level element at rd

	streamOpen bool   // a stream header was read and is open
	streamName string // its qualified name, for the end tag
	ended      bool   // the stream's end tag was read
	prefixMap  map[string]string
	scratch    []byte

	// releaseIdle: between elements, give the buffer back to a pool and
	// wait for input with a tiny one (see Decoder.ReleaseWhenIdle).
	releaseIdle bool
	small       []byte
	pooled      *[]byte // the pool's buffer that buf is, if it is one
}

// idleRead is how much an idle decoder reads before it takes a buffer.
const idleRead = 64

// bufPool holds *[]byte of len minBuf: a pointer goes in and out of the
// pool without allocating, a slice header would be boxed on every Put.
var bufPool = sync.Pool{New: func() any { b := make([]byte, minBuf); return &b }}

func (d *decoderState) init(r io.Reader, lim Limits) {
	d.lim = lim.withDefaults()
	d.sc.maxDepth = d.lim.MaxDepth
	d.reset(r)
}

func (d *decoderState) reset(r io.Reader) {
	d.r = r
	d.rd, d.wr = 0, 0
	if len(d.buf) > maxIdleBuf {
		d.buf = nil
	}
	d.pending, d.err = nil, nil
	d.inElem = false
	d.setStream(false, "", "", nil)
	d.ended = false
}

func (d *decoderState) setStream(open bool, name, defaultNS string, prefixes map[string]string) {
	d.streamOpen, d.streamName, d.prefixMap = open, name, prefixes
	d.sc.defaultNS, d.sc.prefixes = defaultNS, prefixes
}

func (d *decoderState) buffered() int { return d.wr - d.rd }

func (d *decoderState) prefixes() map[string]string { return d.prefixMap }

// fill reads more input after buf[wr]. It moves unconsumed bytes to the
// front or grows the buffer when there is no room; the buffer never grows
// beyond the stanza limit plus one read, so an oversized element is
// refused after reading little more than the limit.
func (d *decoderState) fill() error {
	if err := d.pending; err != nil {
		d.pending = nil
		return err
	}
	if d.rd == d.wr {
		d.rd, d.wr = 0, 0
		if len(d.buf) > maxIdleBuf {
			d.buf = nil
		}
		if d.releaseIdle && !d.inElem {
			return d.idleFill()
		}
	}
	if d.buf == nil {
		d.buf = make([]byte, minBuf)
	}
	if len(d.buf)-d.wr < minBuf/2 {
		if d.rd > 0 {
			n := copy(d.buf, d.buf[d.rd:d.wr])
			d.rd, d.wr = 0, n
		}
		if len(d.buf)-d.wr < minBuf/2 {
			size := min(2*len(d.buf), d.lim.MaxStanzaSize+minBuf)
			if size <= len(d.buf) {
				return errAt(condPolicy, "element too large", d.wr-d.rd)
			}
			nb := make([]byte, size)
			d.wr = copy(nb, d.buf[d.rd:d.wr])
			d.rd = 0
			d.buf = nb
			d.release()
		}
	}
	for range 100 {
		n, err := d.r.Read(d.buf[d.wr:])
		if n < 0 || n > len(d.buf)-d.wr {
			return io.ErrShortBuffer
		}
		d.wr += n
		if err != nil {
			if n > 0 {
				d.pending = err
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

func (d *decoderState) failXML(err error) error {
	d.err = err
	d.inElem = false
	return err
}

// window is the part of the buffer the scanner may look at: the element
// starting at rd, cut at the size limit.
func (d *decoderState) window() []byte {
	end := min(d.wr, d.rd+d.lim.MaxStanzaSize)
	return d.buf[d.rd:end]
}

func (d *decoderState) next() (Raw, error) {
	if d.err != nil {
		return Raw{}, d.err
	}
	if d.ended {
		return Raw{}, ErrStreamEnd
	}
	for {
		if !d.inElem {
			// Whitespace between top-level elements is a keepalive
			// (RFC 6120 §4.6.1); other character data is refused.
			i := d.rd
			for i < d.wr && isSpace(d.buf[i]) {
				i++
			}
			d.rd = i
			if i == d.wr {
				if err := d.fill(); err != nil {
					return Raw{}, err
				}
				continue
			}
			if d.buf[i] != '<' {
				return Raw{}, d.failXML(errAt(condNotWellFormed, "character data at stream level", 0))
			}
			d.sc.begin(modeStanza)
			d.inElem = true
		}
		d.sc.b = d.window()
		t, err := d.sc.run()
		if err != nil {
			return Raw{}, d.failXML(err)
		}
		switch t {
		case tokDone:
			return d.raw(), nil
		case tokStreamEnd:
			name := d.sc.b[d.sc.name:d.sc.nameEnd]
			if !d.streamOpen || string(name) != d.streamName {
				return Raw{}, d.failXML(errAt(condNotWellFormed, "mismatched end tag", 0))
			}
			d.rd += d.sc.pos
			d.inElem = false
			d.ended = true
			return Raw{}, ErrStreamEnd
		}
		// tokMore: the element is longer than what is buffered.
		if d.wr-d.rd >= d.lim.MaxStanzaSize {
			return Raw{}, d.failXML(errAt(condPolicy, "element larger than the stanza size limit", d.lim.MaxStanzaSize))
		}
		if err := d.fill(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return Raw{}, err
		}
	}
}

// raw builds the Raw of the complete element at rd and consumes it. Its
// only allocation is the copy of the bytes: names and header values alias
// the copy unless they need unescaping.
func (d *decoderState) raw() Raw {
	src := d.buf[d.rd : d.rd+d.sc.pos]
	cp := make([]byte, len(src)) // make+copy: the compiler skips zeroing
	copy(cp, src)
	d.rd += len(src)
	d.inElem = false

	h := &d.sc.hdr
	r := Raw{
		Bytes:          cp,
		Local:          internLocal(cp[h.local:h.nameEnd]),
		NameEnd:        h.nameEnd,
		StreamPrefixes: d.sc.usedStreamPrefix,
		HasTo:          h.to.ok,
		HasFrom:        h.from.ok,
		ToSpan:         h.toSpan,
		FromSpan:       h.fromSpan,
	}
	if h.ns.off < 0 {
		r.Space = h.ns.s
	} else if h.ns.flags != 0 {
		r.Space = d.unescaped(cp[h.ns.off:h.ns.end])
	} else {
		r.Space = internNS(cp[h.ns.off:h.ns.end])
	}
	r.To = d.value(cp, h.to)
	r.From = d.value(cp, h.from)
	r.ID = d.value(cp, h.id)
	r.Lang = d.value(cp, h.lang)
	if h.typ.flags == 0 {
		r.Type = internType(cp[h.typ.off:h.typ.end])
	} else {
		r.Type = d.value(cp, h.typ)
	}
	return r
}

func (d *decoderState) value(cp []byte, v valRef) string {
	if v.flags != 0 {
		return d.unescaped(cp[v.off:v.end])
	}
	return alias(cp[v.off:v.end])
}

func (d *decoderState) unescaped(raw []byte) string {
	d.scratch = unescape(d.scratch[:0], raw, true)
	return string(d.scratch)
}

// alias returns b as a string sharing its memory. b must not change
// afterwards: it is part of a Raw.Bytes handed to the caller, documented
// as sharing memory with the header strings.
func alias(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// idleFill waits for input with no buffer of its own: an idle stream holds
// idleRead bytes instead of minBuf. Raw.Bytes and header strings never
// point into the buffer, so it can go back to the pool.
func (d *decoderState) idleFill() error {
	d.release()
	d.buf, d.sc.b = nil, nil
	if d.small == nil {
		d.small = make([]byte, idleRead)
	}
	for range 100 {
		n, err := d.r.Read(d.small)
		if n > 0 {
			d.pooled = bufPool.Get().(*[]byte)
			d.buf = *d.pooled
			d.wr = copy(d.buf, d.small[:n])
			if err != nil {
				d.pending = err
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// release gives the pooled buffer back; buf must no longer be it.
func (d *decoderState) release() {
	if d.pooled != nil {
		bufPool.Put(d.pooled)
		d.pooled = nil
	}
}
