package xmltok

import (
	"bytes"
	"io"
	"strings"
)

// maxDeclLen bounds the XML declaration; real ones are about 40 bytes.
const maxDeclLen = 256

// readStart reads the prolog and the stream header (RFC 6120 §4.7). A
// read error leaves what was consumed consumed; calling readStart again
// restarts the header from the first unconsumed byte.
func (d *decoderState) readStart() (*Start, error) {
	if d.err != nil {
		return nil, d.err
	}
	d.inElem = false
	d.ended = false
	d.setStream(false, "", "", nil)
	if err := d.prolog(); err != nil {
		return nil, err
	}
	if d.buf[d.rd] != '<' {
		return nil, d.failXML(errAt(condNotWellFormed, "character data before the stream header", 0))
	}
	d.sc.begin(modeHeader)
	for {
		d.sc.b = d.window()
		t, err := d.sc.run()
		if err != nil {
			return nil, d.failXML(err)
		}
		if t == tokDone {
			return d.start(), nil
		}
		if d.wr-d.rd >= d.lim.MaxStanzaSize {
			return nil, d.failXML(errAt(condPolicy, "stream header larger than the stanza size limit", d.lim.MaxStanzaSize))
		}
		if err := d.fill(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// prolog consumes a byte order mark, whitespace and an XML declaration
// (XML 1.0 §2.8), leaving rd at the first byte of the header. Whitespace
// before the declaration is tolerated: a peer may send a keepalive just
// before restarting a stream.
func (d *decoderState) prolog() error {
	if d.rd == d.wr {
		if err := d.fill(); err != nil {
			return err // io.EOF here is a clean close before any stream
		}
	}
	switch d.buf[d.rd] {
	case 0xFE, 0xFF, 0x00:
		// UTF-16 or UTF-32 (XML 1.0 Appendix F); RFC 6120 §11.6 wants UTF-8.
		return d.failXML(errAt(condEncoding, "stream is not UTF-8", 0))
	}
	bom, err := d.hasPrefix("\xEF\xBB\xBF")
	if err != nil {
		return err
	}
	if bom {
		d.rd += 3
	}
	if err := d.skipSpace(); err != nil {
		return err
	}
	decl, err := d.hasPrefix("<?xml")
	if err != nil || !decl {
		return err
	}
	for d.wr-d.rd < 6 {
		if err := d.fill(); err != nil {
			return unexpected(err)
		}
	}
	if c := d.buf[d.rd+5]; !isSpace(c) {
		// <?xml-stylesheet ...?> and the like.
		return d.failXML(errAt(condRestricted, "processing instruction", 0))
	}
	for {
		b := d.buf[d.rd:d.wr]
		if end := bytes.Index(b, []byte("?>")); end >= 0 {
			if err := parseDecl(b[:end+2]); err != nil {
				return d.failXML(err)
			}
			d.rd += end + 2
			break
		}
		if len(b) >= maxDeclLen {
			return d.failXML(errAt(condNotWellFormed, "XML declaration too long", 0))
		}
		if err := d.fill(); err != nil {
			return unexpected(err)
		}
	}
	return d.skipSpace()
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// hasPrefix reads until the buffered input is no longer a proper prefix of
// p and reports whether it starts with p.
func (d *decoderState) hasPrefix(p string) (bool, error) {
	for {
		b := d.buf[d.rd:d.wr]
		n := min(len(b), len(p))
		if string(b[:n]) != p[:n] {
			return false, nil
		}
		if n == len(p) {
			return true, nil
		}
		if err := d.fill(); err != nil {
			return false, unexpected(err)
		}
	}
}

// skipSpace consumes whitespace up to the next other byte.
func (d *decoderState) skipSpace() error {
	for {
		for d.rd < d.wr && isSpace(d.buf[d.rd]) {
			d.rd++
		}
		if d.rd < d.wr {
			return nil
		}
		if err := d.fill(); err != nil {
			return unexpected(err)
		}
	}
}

// parseDecl checks an XML declaration, "<?xml" ... "?>" (XML 1.0 §2.8,
// §4.3.3). Only UTF-8 is accepted as the encoding (RFC 6120 §11.6).
func parseDecl(b []byte) error {
	p := b[len("<?xml") : len(b)-len("?>")]
	seen := 0 // 1 version, 2 encoding, 3 standalone
	for {
		j := 0
		for j < len(p) && isSpace(p[j]) {
			j++
		}
		if j == len(p) {
			break
		}
		if j == 0 {
			return errAt(condNotWellFormed, "bad XML declaration", 0)
		}
		p = p[j:]
		j = 0
		for j < len(p) && p[j] >= 'a' && p[j] <= 'z' {
			j++
		}
		name := string(p[:j])
		for j < len(p) && isSpace(p[j]) {
			j++
		}
		if j == len(p) || p[j] != '=' {
			return errAt(condNotWellFormed, "bad XML declaration", 0)
		}
		j++
		for j < len(p) && isSpace(p[j]) {
			j++
		}
		if j == len(p) || (p[j] != '\'' && p[j] != '"') {
			return errAt(condNotWellFormed, "bad XML declaration", 0)
		}
		q := p[j]
		j++
		k := bytes.IndexByte(p[j:], q)
		if k < 0 {
			return errAt(condNotWellFormed, "bad XML declaration", 0)
		}
		v := string(p[j : j+k])
		p = p[j+k+1:]
		switch {
		case name == "version" && seen == 0:
			if len(v) < 3 || v[:2] != "1." || strings.Trim(v[2:], "0123456789") != "" {
				return errAt(condNotWellFormed, "unsupported XML version", 0)
			}
			seen = 1
		case name == "encoding" && seen == 1:
			if !strings.EqualFold(v, "UTF-8") {
				return errAt(condEncoding, "encoding "+v, 0)
			}
			seen = 2
		case name == "standalone" && (seen == 1 || seen == 2):
			if v != "yes" && v != "no" {
				return errAt(condNotWellFormed, "bad XML declaration", 0)
			}
			seen = 3
		default:
			return errAt(condNotWellFormed, "bad XML declaration", 0)
		}
	}
	if seen == 0 {
		return errAt(condNotWellFormed, "XML declaration without version", 0)
	}
	return nil
}

// start builds the Start for the header the scanner just read, consumes
// it and opens the stream unless the header was self-closing.
func (d *decoderState) start() *Start {
	sc := &d.sc
	src := string(d.buf[d.rd : d.rd+sc.pos])
	d.rd += sc.pos
	st := &Start{
		Attrs: make([]Attr, len(sc.attrs)),
		Space: sc.elemNS.str(src),
		Local: src[sc.name:sc.nameEnd],
	}
	if sc.nameColon >= 0 {
		st.Local = src[sc.nameColon+1 : sc.nameEnd]
	}
	var prefixes map[string]string
	for k, a := range sc.attrs {
		at := Attr{Name: src[a.name:a.nameEnd], Value: attrValue(src, a)}
		st.Attrs[k] = at
		switch {
		case a.colon < 0 && at.Name == "xmlns":
			st.DefaultNS = at.Value
		case a.colon >= 0 && src[a.name:a.colon] == "xmlns":
			if prefixes == nil {
				prefixes = make(map[string]string, 2)
			}
			prefixes[src[a.colon+1:a.nameEnd]] = at.Value
		}
	}
	if sc.selfClosing {
		// Nothing stays open: what follows is not in its scope.
		d.setStream(false, "", "", nil)
	} else {
		d.setStream(true, src[sc.name:sc.nameEnd], st.DefaultNS, prefixes)
	}
	return st
}

// str returns the namespace name; src holds the bytes the scanner read.
func (r nsRef) str(src string) string {
	if r.off < 0 {
		return r.s
	}
	if r.flags != 0 {
		return string(unescape(nil, []byte(src[r.off:r.end]), true))
	}
	return src[r.off:r.end]
}

// attrValue returns the value of a, unescaped if needed.
func attrValue(src string, a attrRef) string {
	if a.flags != 0 {
		return string(unescape(nil, []byte(src[a.val:a.valEnd]), true))
	}
	return src[a.val:a.valEnd]
}
