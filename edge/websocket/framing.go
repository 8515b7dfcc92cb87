package websocket

import (
	"bytes"
	"github.com/meridian-xmpp/meridian/edge/framing"
	"io"

	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// RFC 7395 §3.3: every WebSocket message carries one complete element;
// the stream is opened and closed with <open/> and <close/> in the framing
// namespace, and every element declares its own namespaces. The stream
// underneath (edge/c2s) speaks RFC 6120 bytes, so messages are translated
// in both directions here.
const (
	nsFraming = "urn:ietf:params:xml:ns:xmpp-framing"

	streamHeader = "<stream:stream xmlns='" + stanza.NSClient + "' xmlns:stream='" + stanza.NSStream + "'"
	streamEnd    = "</stream:stream>"
	openPrefix   = "<open xmlns='" + nsFraming + "'"
	closeMessage = "<close xmlns='" + nsFraming + "'/>"
)

// keepalive is what a message of only whitespace becomes: a whitespace
// keepalive for the stream (RFC 6120 §4.6.1).
var keepalive = []byte(" ")

// fromClient translates one text message into the bytes the stream reads.
// expectOpen says whether the stream waits for a header (at the start and
// after SASL success, RFC 7395 §3.5). It returns the bytes, whether the
// message was an <open/>, and a stream error for a message that breaks
// the framing; the stream sends it and closes.
func fromClient(msg []byte, expectOpen bool) ([]byte, bool, *stanza.StreamError) {
	msg = bytes.Trim(msg, " \t\r\n")
	if len(msg) == 0 {
		return keepalive, false, nil
	}
	if msg[0] != '<' {
		return nil, false, &stanza.StreamError{Condition: stanza.NotWellFormed, Text: "a WebSocket message must hold one XML element (RFC 7395 §3.3.1)"}
	}
	end, kind := framing.ScanToken(msg, 0)
	if end < 0 || kind == framing.TokEnd || kind == framing.TokOther {
		return nil, false, &stanza.StreamError{Condition: stanza.NotWellFormed, Text: "a WebSocket message must hold one XML element (RFC 7395 §3.3.1)"}
	}
	tag := msg[:end]
	local, ns, _ := framing.Space(tag)
	if local == "stream" && (ns == stanza.NSStream || bytes.HasPrefix(tag, []byte("<stream:"))) {
		return nil, false, &stanza.StreamError{Condition: stanza.InvalidNamespace, Text: "open the stream with <open xmlns='" + nsFraming + "'/> (RFC 7395 §3.4)"}
	}
	if !oneElement(msg) {
		return nil, false, &stanza.StreamError{Condition: stanza.NotWellFormed, Text: "a WebSocket message must hold exactly one complete XML element (RFC 7395 §3.3.1)"}
	}
	switch {
	case ns == nsFraming && local == "open":
		if !expectOpen {
			return nil, false, &stanza.StreamError{Condition: stanza.UnsupportedStanzaType, Text: "<open/> only starts or restarts a stream (RFC 7395 §3.4, §3.5)"}
		}
		return header(tag), true, nil
	case ns == nsFraming && local == "close":
		return []byte(streamEnd), false, nil
	case expectOpen:
		// RFC 6120 §4.9.3.10: the first element is not a header in the
		// right namespace.
		return nil, false, &stanza.StreamError{Condition: stanza.InvalidNamespace, Text: "expected <open xmlns='" + nsFraming + "'/> (RFC 7395 §3.4)"}
	}
	return msg, false, nil
}

// oneElement reports whether msg, trimmed, is exactly one complete
// element and nothing else.
func oneElement(msg []byte) bool {
	var s framing.Splitter
	n, size := 0, 0
	s.Feed(msg, func(k framing.Kind, item []byte) error {
		n++
		if k != framing.Element {
			n++
		}
		size = len(item)
		return nil
	})
	return n == 1 && size == len(msg)
}

// header builds the stream header an <open/> stands for, carrying its to,
// from, version and xml:lang (RFC 7395 §3.4).
func header(open []byte) []byte {
	b := make([]byte, 0, len(streamHeader)+len(open)+1)
	b = append(b, streamHeader...)
	b = copyAttrs(b, open, "to", "from", "version", "xml:lang")
	return append(b, '>')
}

func copyAttrs(b, tag []byte, names ...string) []byte {
	for _, n := range names {
		if v, q, ok := framing.Attr(tag, n); ok {
			b = append(b, ' ')
			b = append(b, n...)
			b = append(b, '=', q)
			b = append(b, v...)
			b = append(b, q)
		}
	}
	return b
}

// toClient writes one item of the stream's output as a message to w
// (RFC 7395 §3.3.3): the header becomes <open/>, the end tag <close/>,
// and an element gets the namespace declarations it inherited from the
// stream header.
func toClient(w io.Writer, kind framing.Kind, item []byte) error {
	var err error
	switch kind {
	case framing.Header:
		b := make([]byte, 0, 160)
		b = append(b, openPrefix...)
		b = copyAttrs(b, item, "from", "id", "version", "xml:lang")
		_, err = w.Write(append(b, "/>"...))
	case framing.End:
		_, err = io.WriteString(w, closeMessage)
	default:
		at, decl := framing.Declaration(item)
		if _, err = w.Write(item[:at]); err == nil {
			if _, err = io.WriteString(w, decl); err == nil {
				_, err = w.Write(item[at:])
			}
		}
	}
	return err
}

// isSASLSuccess reports whether a server element is SASL <success/>,
// after which the client restarts the stream (RFC 6120 §6.4.6).
func isSASLSuccess(item []byte) bool {
	if !bytes.HasPrefix(item, []byte("<success")) {
		return false
	}
	end, _ := framing.ScanToken(item, 0)
	if end < 0 {
		return false
	}
	local, ns, _ := framing.Space(item[:end])
	return local == "success" && ns == stanza.NSSASL
}
