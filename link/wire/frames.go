package wire

import (
	"fmt"

	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// AppendStanza appends a Stanza or Undelivered frame: seq, then the header
// routing reads (kind, type, id, from, to) so the far end routes without
// parsing XML, then the stanza's bytes as they go to a client.
func AppendStanza(buf []byte, t Type, seq uint64, st *stanza.Stanza) []byte {
	buf, start := Begin(buf, t)
	buf = AppendUvarint(buf, seq)
	buf = appendStanzaBody(buf, st)
	return Finish(buf, start)
}

func appendStanzaBody(buf []byte, st *stanza.Stanza) []byte {
	buf = append(buf, byte(st.Kind))
	buf = AppendString(buf, st.Type)
	buf = AppendString(buf, st.ID)
	buf = appendJID(buf, st.From)
	buf = appendJID(buf, st.To)
	return append(buf, st.Bytes...)
}

func appendJID(buf []byte, j jid.JID) []byte {
	if j.IsZero() {
		return append(buf, 0)
	}
	// JID.String builds a string; append the parts instead.
	n := len(j.Domain())
	if j.Local() != "" {
		n += len(j.Local()) + 1
	}
	if j.Resource() != "" {
		n += len(j.Resource()) + 1
	}
	buf = AppendUvarint(buf, uint64(n))
	if j.Local() != "" {
		buf = append(buf, j.Local()...)
		buf = append(buf, '@')
	}
	buf = append(buf, j.Domain()...)
	if j.Resource() != "" {
		buf = append(buf, '/')
		buf = append(buf, j.Resource()...)
	}
	return buf
}

// DecodeStanza decodes a Stanza or Undelivered payload. The stanza's
// bytes alias p.
func DecodeStanza(p []byte) (uint64, *stanza.Stanza, error) {
	d := NewDec(p)
	seq := d.Uvarint()
	st, err := decodeStanzaBody(d)
	return seq, st, err
}

func decodeStanzaBody(d *Dec) (*stanza.Stanza, error) {
	st := &stanza.Stanza{Kind: stanza.Kind(d.Byte())}
	// The header's four strings are cut from one string of the header's
	// bytes: one allocation per stanza instead of four.
	hdr := d.b
	var span [4][2]int // type, id, from, to: where each lies in hdr
	for i := range span {
		b := d.Bytes()
		end := len(hdr) - len(d.b)
		span[i] = [2]int{end - len(b), end}
	}
	st.Bytes = d.Rest()
	if d.Err() != nil {
		return nil, d.Err()
	}
	if st.Kind > stanza.IQ {
		return nil, fmt.Errorf("wire: stanza kind %d", st.Kind)
	}
	h := string(hdr[:len(hdr)-len(st.Bytes)])
	field := func(i int) string { return h[span[i][0]:span[i][1]] }
	st.Type, st.ID = field(0), field(1)
	var err error
	if st.From, err = parseJID(field(2)); err != nil {
		return nil, err
	}
	if st.To, err = parseJID(field(3)); err != nil {
		return nil, err
	}
	return st, nil
}

func parseJID(s string) (jid.JID, error) {
	if s == "" {
		return jid.JID{}, nil
	}
	j, err := jid.Parse(s)
	if err != nil {
		return jid.JID{}, fmt.Errorf("wire: %w", err)
	}
	return j, nil
}

// AppendSeq appends an Ack or Close frame.
func AppendSeq(buf []byte, t Type, seq uint64) []byte {
	buf, start := Begin(buf, t)
	return Finish(AppendUvarint(buf, seq), start)
}

// DecodeSeq decodes an Ack or Close payload.
func DecodeSeq(p []byte) (uint64, error) {
	d := NewDec(p)
	v := d.Uvarint()
	return v, d.Err()
}

// AppendOpen appends an Open frame.
func AppendOpen(buf []byte, r link.OpenRequest) []byte {
	buf, start := Begin(buf, Open)
	buf = appendJID(buf, r.User)
	buf = AppendString(buf, r.Resource)
	buf = AppendString(buf, r.RemoteAddr)
	buf = AppendString(buf, r.Transport)
	if r.Reopen {
		buf = append(buf, 1)
	} else {
		buf = append(buf, 0)
	}
	return Finish(buf, start)
}

// DecodeOpen decodes an Open payload.
func DecodeOpen(p []byte) (link.OpenRequest, error) {
	d := NewDec(p)
	user := d.Bytes()
	r := link.OpenRequest{Resource: d.String(), RemoteAddr: d.String(), Transport: d.String()}
	// The reopen flag came later: an Open without it is a first open.
	if d.Err() == nil && d.Len() > 0 {
		switch d.Byte() {
		case 0:
		case 1:
			r.Reopen = true
		default:
			return r, fmt.Errorf("wire: Open: bad reopen flag")
		}
	}
	if d.Err() != nil {
		return r, d.Err()
	}
	var err error
	r.User, err = parseJID(string(user))
	return r, err
}

// AppendOpened appends an Opened frame.
func AppendOpened(buf []byte, full jid.JID) []byte {
	buf, start := Begin(buf, Opened)
	return Finish(appendJID(buf, full), start)
}

// DecodeOpened decodes an Opened payload.
func DecodeOpened(p []byte) (jid.JID, error) {
	d := NewDec(p)
	b := d.Bytes()
	if d.Err() != nil {
		return jid.JID{}, d.Err()
	}
	return parseJID(string(b))
}

// AppendStanzaError appends a stanza error's fields (OpenFailed, error
// responses).
func AppendStanzaError(buf []byte, e *stanza.Error) []byte {
	buf = AppendString(buf, e.Type)
	buf = AppendString(buf, e.Condition)
	buf = AppendString(buf, e.Text)
	app := ""
	if e.App != nil {
		app = e.App.String()
	}
	return AppendString(buf, app)
}

// DecodeStanzaError reads what AppendStanzaError wrote.
func DecodeStanzaError(d *Dec) *stanza.Error {
	e := &stanza.Error{Type: d.String(), Condition: d.String(), Text: d.String()}
	if app := d.Bytes(); len(app) > 0 && d.Err() == nil {
		e.App, _ = xmltok.Parse(app, "", nil)
	}
	return e
}

// AppendEnd appends an End frame: the core ends the client's stream with
// e (nil: a plain close).
func AppendEnd(buf []byte, e *stanza.StreamError) []byte {
	buf, start := Begin(buf, End)
	if e == nil {
		buf = append(buf, 0)
	} else {
		buf = append(buf, 1)
		buf = AppendString(buf, e.Condition)
		buf = AppendString(buf, e.Text)
		buf = AppendString(buf, e.Extra)
	}
	return Finish(buf, start)
}

// DecodeEnd decodes an End payload.
func DecodeEnd(p []byte) (*stanza.StreamError, error) {
	d := NewDec(p)
	if d.Byte() == 0 {
		return nil, d.Err()
	}
	e := &stanza.StreamError{Condition: d.String(), Text: d.String(), Extra: d.String()}
	return e, d.Err()
}

// AppendHello appends a Hello or Welcome frame.
func AppendHello(buf []byte, t Type, node string) []byte {
	buf, start := Begin(buf, t)
	buf = AppendUvarint(buf, Version)
	return Finish(AppendString(buf, node), start)
}

// DecodeHello decodes a Hello or Welcome payload.
func DecodeHello(p []byte) (version uint64, node string, err error) {
	d := NewDec(p)
	version = d.Uvarint()
	node = d.String()
	return version, node, d.Err()
}

// AppendStanzaValue appends a whole stanza as a request argument or
// result (PreAuth).
func AppendStanzaValue(buf []byte, st *stanza.Stanza) []byte {
	if st == nil {
		return append(buf, 0)
	}
	body := appendStanzaBody(nil, st)
	buf = append(buf, 1)
	return AppendBytes(buf, body)
}

// DecodeStanzaValue reads what AppendStanzaValue wrote.
func DecodeStanzaValue(d *Dec) (*stanza.Stanza, error) {
	if d.Byte() == 0 {
		return nil, d.Err()
	}
	b := d.Bytes()
	if d.Err() != nil {
		return nil, d.Err()
	}
	return decodeStanzaBody(NewDec(b))
}
