package c2s

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// stream is one client connection. Its reader goroutine (run) does the
// whole negotiation, writing directly to the socket; once a session is
// bound, a writer goroutine owns the socket's write side.
type stream struct {
	srv       *Server
	conn      net.Conn
	transport string
	remoteIP  string
	log       *slog.Logger
	dec       *xmltok.Decoder
	rd        idleReader
	bw        *bufio.Writer

	secure bool
	// framed: the connection came from a transport handler (WebSocket,
	// BOSH) that has no STARTTLS; secure says whether it was encrypted.
	framed   bool
	tlsState *tls.ConnectionState
	domain   string
	id       string
	user     jid.JID // bare JID once authenticated
	full     jid.JID // full JID once bound
	fullStr  string
	failures int
	// cbMismatch: the client tried -PLUS with a binding type we lack.
	cbMismatch bool

	sess link.Session
	b    *binding // the session's sink, nil until bound
	w    *writer  // nil until bound
	// resumable: the stream ended in a way that lets a stream-managed
	// session wait for resumption (connection lost, timed out).
	resumable bool
	// peerClosed: the client sent its closing tag.
	peerClosed bool

	mu           sync.Mutex
	closed       bool
	shuttingDown bool
	// binding: a session is being opened; end leaves the connection to
	// attach, which sends endErr once the bind result is out.
	binding bool
	endErr  *stanza.StreamError
}

var errClosed = errors.New("c2s: stream closed")

func newStream(s *Server, conn net.Conn, transport string) *stream {
	ip := conn.RemoteAddr().String()
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	st := &stream{srv: s, conn: conn, transport: transport, remoteIP: ip}
	st.log = s.log.With("remote", conn.RemoteAddr().String(), "transport", transport)
	return st
}

// open runs everything before the session is bound: TLS, SASL,
// binding. It reports whether the stream goes on to serve; when it does
// not, the stream is finished.
func (s *stream) open(directTLS bool) bool {
	s.conn.SetDeadline(time.Now().Add(s.srv.opts.HandshakeTimeout))
	if directTLS {
		if err := s.handshakeTLS(); err != nil {
			s.log.Debug("direct TLS handshake failed", "err", err)
			s.finish()
			return false
		}
	}
	s.rd.conn = s.conn
	s.dec = xmltok.NewDecoder(&s.rd, s.srv.opts.Limits)
	s.bw = bufPool.Get().(*bufio.Writer)
	s.bw.Reset(s.conn)
	if err := s.negotiate(); err != nil {
		s.fail(err)
		s.finish()
		return false
	}
	// Negotiation writes are done; the writer has its own buffer.
	s.releaseBuffer()
	return true
}

func (s *stream) releaseBuffer() {
	if s.bw != nil {
		s.bw.Reset(nil)
		bufPool.Put(s.bw)
		s.bw = nil
	}
}

// finish releases the session once the reader is done: a resumable one
// detaches and waits, any other ends.
func (s *stream) finish() {
	if s.b != nil {
		s.mu.Lock()
		keep := s.resumable && !s.shuttingDown
		s.mu.Unlock()
		s.b.release(s.w, keep)
	}
	if s.w != nil {
		s.w.close(nil)
		select {
		case <-s.w.flushed:
			if !s.peerClosed {
				s.awaitPeerClose()
			}
			s.w.shut()
		case <-s.w.done:
		}
		<-s.w.done
	}
	s.releaseBuffer()
	s.conn.Close()
}

// fail ends the stream after an error: a stream error is sent, anything
// else (I/O) just closes.
func (s *stream) fail(err error) {
	var se *stanza.StreamError
	if !errors.As(err, &se) {
		var te *xmltok.Error
		var ne net.Error
		switch {
		case errors.As(err, &te):
			se = &stanza.StreamError{Condition: te.Condition, Text: te.Msg}
		case errors.As(err, &ne) && ne.Timeout():
			se = &stanza.StreamError{Condition: stanza.ConnectionTimeout}
			s.resumable = true
		case errors.Is(err, xmltok.ErrStreamEnd):
			se = nil
			s.peerClosed = true
		default:
			s.log.Debug("stream ended", "err", err)
			s.resumable = true
			return
		}
	}
	if se != nil {
		s.log.Debug("stream error", "condition", se.Condition, "text", se.Text)
	}
	if s.w != nil {
		s.w.close(se)
		return
	}
	s.sendDirect(se)
}

// sendDirect writes a stream error and the closing tag during negotiation.
func (s *stream) sendDirect(se *stanza.StreamError) {
	var b []byte
	if s.id == "" {
		b = s.header(b, s.domain)
	}
	if se != nil {
		countStreamError(se.Condition)
		b = se.Append(b)
	}
	b = append(b, "</stream:stream>"...)
	s.conn.SetWriteDeadline(time.Now().Add(s.srv.opts.WriteTimeout))
	s.bw.Write(b)
	s.bw.Flush()
}

func (s *stream) write(b []byte) error {
	s.conn.SetWriteDeadline(time.Now().Add(s.srv.opts.WriteTimeout))
	if _, err := s.bw.Write(b); err != nil {
		return err
	}
	return s.bw.Flush()
}

func (s *stream) handshakeTLS() error {
	tc := tls.Server(s.conn, s.srv.opts.TLS)
	if err := tc.Handshake(); err != nil {
		return err
	}
	cs := tc.ConnectionState()
	s.conn = tc
	s.tlsState = &cs
	s.secure = true
	return nil
}

// tlsRequired: the client must still start TLS before anything else
// (c2s.require_starttls). Transports without STARTTLS are exempt: their
// listener decides whether they are encrypted.
func (s *stream) tlsRequired() bool {
	return s.srv.opts.RequireStartTLS && !s.secure && !s.framed
}

// header appends our stream header (RFC 6120 §4.7) and records the id.
func (s *stream) header(b []byte, from string) []byte {
	var id [12]byte
	rand.Read(id[:])
	s.id = hex.EncodeToString(id[:])
	b = append(b, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='"...)
	b = append(b, s.id...)
	if from != "" {
		b = append(b, "' from='"...)
		b = xmltok.EscapeAttr(b, from)
	}
	return append(b, "' version='1.0' xml:lang='en'>"...)
}

// openStream reads the client's stream header, checks it and answers with
// ours and the features of the current stage (RFC 6120 §4.3).
func (s *stream) openStream() error {
	s.id = ""
	start, err := s.dec.ReadStart()
	if err != nil {
		return err
	}
	to := strings.ToLower(start.Attr("to"))
	if s.domain == "" {
		s.domain = to
		if to == "" && len(s.srv.opts.Domains) > 0 {
			s.domain = s.srv.opts.Domains[0]
		}
	}
	if start.Space != stanza.NSStream || start.Local != "stream" {
		return &stanza.StreamError{Condition: stanza.InvalidNamespace}
	}
	if start.DefaultNS != stanza.NSClient {
		return &stanza.StreamError{Condition: stanza.InvalidNamespace, Text: "expected jabber:client"}
	}
	if !s.srv.domains[s.domain] || (to != "" && to != s.domain) {
		d := s.domain
		s.domain = ""
		return &stanza.StreamError{Condition: stanza.HostUnknown, Text: "this server does not serve " + d}
	}
	if v := start.Attr("version"); !versionOK(v) {
		return &stanza.StreamError{Condition: stanza.UnsupportedVersion}
	}
	b := s.header(make([]byte, 0, 1024), s.domain)
	b = s.features(b)
	return s.write(b)
}

// versionOK accepts major version 1 (RFC 6120 §4.7.5).
func versionOK(v string) bool {
	major, _, _ := strings.Cut(v, ".")
	return major == "1"
}

func countStreamError(cond string) {
	streamErrorCounter(cond)
}

// negotiate runs TLS, SASL and resource binding.
func (s *stream) negotiate() error {
	if err := s.openStream(); err != nil {
		return err
	}
	for {
		raw, err := s.dec.Next()
		if err != nil {
			return err
		}
		done, err := s.negotiationStep(&raw)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// negotiationStep handles one element before the session is bound. It
// returns done once a resource is bound.
func (s *stream) negotiationStep(raw *xmltok.Raw) (bool, error) {
	switch {
	case raw.Space == stanza.NSTLS && raw.Local == "starttls":
		return false, s.startTLS()
	case raw.Space == stanza.NSSASL:
		return false, s.sasl(raw)
	case raw.Space == stanza.NSClient && raw.Local == "iq":
		return s.preSessionIQ(raw)
	case raw.Space == stanza.NSSM && !s.user.IsZero():
		if raw.Local == "resume" {
			return s.resume(raw)
		}
		// XEP-0198 §3: enable comes after binding.
		return false, s.write(smFailed("unexpected-request", -1))
	}
	return false, &stanza.StreamError{Condition: stanza.NotAuthorized}
}

// startTLS upgrades the connection (RFC 6120 §5.4.2).
func (s *stream) startTLS() error {
	if s.secure || s.framed {
		s.write([]byte("<failure xmlns='" + stanza.NSTLS + "'/></stream:stream>"))
		return errClosed
	}
	if err := s.write([]byte("<proceed xmlns='" + stanza.NSTLS + "'/>")); err != nil {
		return err
	}
	if err := s.handshakeTLS(); err != nil {
		s.log.Debug("STARTTLS handshake failed", "err", err)
		return errClosed
	}
	s.rd.conn = s.conn
	s.dec.Reset(&s.rd)
	s.bw.Reset(s.conn)
	return s.openStream()
}

// preSessionIQ handles IQs before binding: in-band registration before
// authentication, resource binding and the legacy session after it.
func (s *stream) preSessionIQ(raw *xmltok.Raw) (bool, error) {
	if s.tlsRequired() {
		return false, &stanza.StreamError{Condition: stanza.PolicyViolation, Text: "STARTTLS is required"}
	}
	st := &stanza.Stanza{Kind: stanza.IQ, Bytes: raw.Bytes, Type: raw.Type, ID: raw.ID}
	el, err := st.Element()
	if err != nil {
		return false, err
	}
	if s.user.IsZero() {
		reply := s.srv.opts.Core.PreAuth(context.Background(), link.PreAuthClient{Domain: s.domain, RemoteAddr: s.remoteIP, Secure: s.secure}, st)
		return false, s.write(reply.Bytes)
	}
	var payload *xmltok.Element
	if len(el.Children) > 0 {
		payload = el.Children[0]
	}
	if raw.Type != "set" || payload == nil || payload.Space != stanza.NSBind || payload.Local != "bind" {
		// Anything but binding before a resource is bound.
		return false, &stanza.StreamError{Condition: stanza.NotAuthorized, Text: "bind a resource first"}
	}
	res := ""
	if r := payload.Child(stanza.NSBind, "resource"); r != nil {
		res = strings.TrimSpace(r.Text)
	}
	// The writer exists before the session so that the core can queue
	// stanzas at once; it starts after the bind result is written.
	s.mu.Lock()
	down := s.shuttingDown
	s.binding = !down
	s.mu.Unlock()
	if down {
		return false, errClosed
	}
	w := newWriter(s.conn, s.srv.opts.SendQueue, s.srv.opts.WriteTimeout)
	b := &binding{srv: s.srv, w: w}
	sess, err := s.srv.opts.Core.Open(context.Background(), link.OpenRequest{User: s.user, Resource: res, RemoteAddr: s.remoteIP, Transport: s.transport}, b)
	if err != nil {
		var se *stanza.Error
		if !errors.As(err, &se) {
			s.log.Warn("bind failed", "err", err)
			se = stanza.ErrInternalServerError
		}
		if s.unbind() {
			return false, errClosed // ended meanwhile
		}
		return false, s.write(stanza.ErrorReply(st, se, jid.JID{}).Bytes)
	}
	s.full = sess.JID()
	s.fullStr = s.full.String()
	bind := xmltok.NewElement(stanza.NSBind, "bind")
	bind.Add(xmltok.NewElement(stanza.NSBind, "jid").SetText(s.fullStr))
	if err := s.write(stanza.Result(st, bind, jid.JID{}).Bytes); err != nil {
		sess.Close(nil)
		s.unbind()
		return false, err
	}
	b.sess, b.full = sess, s.full
	s.sess, s.b = sess, b
	s.attach(w)
	return true, nil
}

// unbind ends a binding that failed; true when the stream was ended
// meanwhile.
func (s *stream) unbind() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.binding = false
	return s.shuttingDown
}

// attach makes w the stream's writer once a session is bound or resumed;
// a shutdown that began meanwhile ends it at once.
func (s *stream) attach(w *writer) {
	s.log = s.log.With("jid", s.fullStr)
	s.mu.Lock()
	s.w = w
	s.binding = false
	down, e := s.shuttingDown, s.endErr
	s.mu.Unlock()
	if down {
		if e == nil {
			e = &stanza.StreamError{Condition: stanza.SystemShutdown}
		}
		w.close(e)
	}
}

// awaitPeerClose gives the client closeGrace to send its closing tag after
// ours (RFC 6120 §4.4), reading and discarding what comes before it, so
// that it is not cut off mid-write.
func (s *stream) awaitPeerClose() {
	s.conn.SetReadDeadline(time.Now().Add(closeGrace))
	var buf [512]byte
	var tail []byte
	for {
		n, err := s.conn.Read(buf[:])
		if n > 0 {
			tail = append(tail, buf[:n]...)
			if bytes.Contains(tail, streamEnd) {
				return
			}
			if len(tail) > len(streamEnd) {
				tail = append(tail[:0], tail[len(tail)-len(streamEnd):]...)
			}
		}
		if err != nil {
			return
		}
	}
}

var streamEnd = []byte("stream>")
