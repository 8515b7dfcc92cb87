// Package bosh serves XMPP over BOSH (XEP-0124, XEP-0206): an http.Handler
// that turns sequences of HTTP requests into one client stream each and
// runs it through the c2s server like any other connection. It owns the
// BOSH session rules (sids, the rid window, held requests, inactivity,
// pauses, terminal binding conditions) and the translation between
// <body/> wrappers and stream bytes; it must not know about SASL, binding
// or routing, which stay in c2s.
//
// Choices within the XEPs:
//   - Terminal binding conditions are answered with HTTP 200 and
//     <body type='terminate' condition='...'/> (XEP-0124 §17.2); a legacy
//     client (no 'ver' in its session request) gets the HTTP code the
//     condition superseded (400, 403, 404; §17.1). A request that is not a
//     <body/> at all gets HTTP 400 with the bad-request body, one over the
//     size limit HTTP 413.
//   - An unknown sid, a rid beyond the window or older than the buffered
//     responses, and a session that expired are all item-not-found.
//   - Stream features come in the session creation response: the request
//     is held until the stream has written them.
//   - A session refused because web.bosh.max_sessions are open gets
//     remote-connection-failed: no stream could be opened for it.
//   - Polling sessions (hold=0 or wait=0) are told polling='2'; two empty
//     requests less than a second apart after an empty answer end the
//     session with policy-violation. Long-poll sessions cannot poll: their
//     empty requests are held.
//   - Inactivity ends a session without a closing tag: the stream sees a
//     lost connection, so a stream with XEP-0198 resumption enabled can be
//     resumed over a new BOSH session or any other transport.
//   - One sweeper goroutine answers expired long-polls and ends inactive
//     sessions for all sessions; a held request costs its HTTP handler's
//     goroutine and no timer.
package bosh

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/edge/c2s"
	"github.com/meridian-xmpp/meridian/internal/cors"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// pollingInterval is the shortest polling interval advertised to clients.
const pollingInterval = 2 * time.Second

// Options configure a Handler. Durations are whole seconds on the wire.
type Options struct {
	// Serve runs a client stream on a connection: (*c2s.Server).ServeTransport.
	Serve func(net.Conn, c2s.Transport)
	// HostKnown reports whether a session may be opened to a domain.
	HostKnown func(domain string) bool
	// CheckOrigin reports whether a browser page may use the endpoint; nil
	// allows every origin.
	CheckOrigin func(*http.Request) bool
	MaxWait     time.Duration // longest wait granted (client's 'wait' is capped)
	MaxHold     int           // most requests held at once (client's 'hold' is capped)
	MaxRequests int           // 'requests' ceiling
	Inactivity  time.Duration // longest time with no request held
	MaxPause    time.Duration // longest pause granted; 0 disables pausing
	MaxSessions int
	// Limits bound each payload like a stanza on TCP; a request body may
	// be MaxStanzaSize plus 16 KiB.
	Limits xmltok.Limits
	Logger *slog.Logger
	// Tick is how often the sweeper runs (default 500 ms).
	Tick time.Duration
}

// Handler is the BOSH endpoint. Close it at shutdown.
type Handler struct {
	opts     Options
	log      *slog.Logger
	maxBody  int64
	maxQueue int

	mu       sync.RWMutex
	sessions map[string]*session
	closed   bool

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New returns a Handler and starts its sweeper.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Tick <= 0 {
		o.Tick = 500 * time.Millisecond
	}
	if o.Limits.MaxStanzaSize <= 0 {
		o.Limits.MaxStanzaSize = 256 << 10
	}
	if o.Limits.MaxDepth <= 0 {
		o.Limits.MaxDepth = 64
	}
	h := &Handler{
		opts: o, log: o.Logger,
		maxBody: int64(o.Limits.MaxStanzaSize) + 16<<10,
		// What a session queues while the client collects nothing: as
		// much as a few full stanzas, at least 1 MiB.
		maxQueue: max(4*o.Limits.MaxStanzaSize, 1<<20),
		sessions: map[string]*session{},
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go h.sweep()
	return h
}

// Sessions returns the number of open sessions.
func (h *Handler) Sessions() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.sessions)
}

// Close stops the sweeper and ends every session with system-shutdown.
// It may be called on a nil Handler.
func (h *Handler) Close() {
	if h == nil {
		return
	}
	h.once.Do(func() {
		close(h.stop)
		<-h.done
		h.mu.Lock()
		h.closed = true
		list := make([]*session, 0, len(h.sessions))
		for _, s := range h.sessions {
			list = append(list, s)
		}
		h.mu.Unlock()
		for _, s := range list {
			s.mu.Lock()
			if !s.gone {
				st, body := terminal("system-shutdown", false)
				s.end("shutdown", st, body)
			}
			s.mu.Unlock()
		}
	})
}

func (h *Handler) remove(sid string) {
	h.mu.Lock()
	delete(h.sessions, sid)
	h.mu.Unlock()
	metrics.BOSHSessions.Dec()
}

func (h *Handler) sweep() {
	defer close(h.done)
	t := time.NewTicker(h.opts.Tick)
	defer t.Stop()
	var list []*session
	for {
		select {
		case <-h.stop:
			return
		case now := <-t.C:
			h.mu.RLock()
			for _, s := range h.sessions {
				list = append(list, s)
			}
			h.mu.RUnlock()
			for i, s := range list {
				s.tick(now)
				list[i] = nil
			}
			list = list[:0]
		}
	}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	allowed := h.opts.CheckOrigin == nil || h.opts.CheckOrigin(r)
	if allowed {
		cors.Grant(w.Header(), r)
	}
	switch r.Method {
	case http.MethodPost:
	case http.MethodOptions:
		if !allowed {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		cors.Preflight(w.Header(), r, "POST, OPTIONS", "Content-Type", 24*time.Hour)
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "XMPP over BOSH (XEP-0206): POST <body/> wrappers here", http.StatusMethodNotAllowed)
		return
	}
	if !allowed {
		metrics.BOSHRequests.WithLabelValues("rejected").Inc()
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			metrics.BOSHRequests.WithLabelValues("rejected").Inc()
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		}
		return
	}
	b, err := parseBody(data, h.opts.Limits)
	if err != nil {
		metrics.BOSHRequests.WithLabelValues("rejected").Inc()
		_, resp := terminal("bad-request", false)
		write(w, "", http.StatusBadRequest, resp)
		return
	}
	if b.sid == "" {
		h.create(w, r, b)
		return
	}
	h.mu.RLock()
	s := h.sessions[b.sid]
	h.mu.RUnlock()
	if s == nil {
		metrics.BOSHRequests.WithLabelValues("rejected").Inc()
		st, resp := terminal("item-not-found", false)
		write(w, "", st, resp)
		return
	}
	if s.secure && r.TLS == nil {
		// XEP-0124 §15.1: a secure session is not continued in clear, nor
		// ended by such a request.
		metrics.BOSHRequests.WithLabelValues("rejected").Inc()
		http.Error(w, "this session must use HTTPS", http.StatusForbidden)
		return
	}
	req, st, resp := s.receive(b, time.Now())
	if req == nil && resp == nil && st == 0 {
		// Ended while this request was on its way.
		st, resp = terminal("item-not-found", s.legacy)
	}
	if req != nil {
		select {
		case <-req.done:
		case <-r.Context().Done():
			return // the answer stays buffered for a retransmission
		}
		st, resp = req.status, req.resp
	}
	if st == 200 {
		metrics.BOSHRequests.WithLabelValues("ok").Inc()
	}
	write(w, s.ctype, st, resp)
}

// create opens a session (XEP-0124 §7, XEP-0206 §4).
func (h *Handler) create(w http.ResponseWriter, r *http.Request, b *body) {
	reject := func(cond string) {
		metrics.BOSHRequests.WithLabelValues("rejected").Inc()
		st, resp := terminal(cond, b.attrs["ver"] == "")
		write(w, "", st, resp)
	}
	to := b.attrs["to"]
	switch {
	case to == "":
		reject("improper-addressing")
		return
	case h.opts.HostKnown != nil && !h.opts.HostKnown(to):
		reject("host-unknown")
		return
	}
	hold := b.intAttr("hold", 1)
	waitSecs := b.intAttr("wait", int(h.opts.MaxWait/time.Second))
	if hold < 0 || waitSecs < 0 {
		reject("bad-request")
		return
	}
	s := &session{
		h: h, domain: to, lang: b.attrs["xml:lang"],
		hold:   min(hold, h.opts.MaxHold),
		wait:   time.Duration(min(int64(waitSecs), int64(h.opts.MaxWait/time.Second))) * time.Second,
		legacy: b.attrs["ver"] == "",
		ver:    version(b.attrs["ver"]),
		ctype:  contentType(b.attrs["content"]),
		secure: r.TLS != nil,
	}
	if s.wait == 0 {
		s.hold = 0
	}
	s.requests = min(h.opts.MaxRequests, max(2, s.hold+1))
	var id [16]byte
	rand.Read(id[:])
	s.sid = hex.EncodeToString(id[:])
	s.conn = newConn(s, addr("bosh"), addr(r.RemoteAddr))

	h.mu.Lock()
	switch {
	case h.closed:
		h.mu.Unlock()
		reject("system-shutdown")
		return
	case len(h.sessions) >= h.opts.MaxSessions:
		h.mu.Unlock()
		reject("remote-connection-failed")
		return
	}
	// The session is complete before the sweeper or Close can see it.
	now := time.Now()
	req := newRequest(b)
	req.create = true
	// The creation request waits for the stream features, briefly even
	// for a polling client.
	req.expires = now.Add(max(s.wait, 2*time.Second))
	s.next = b.rid + 1
	s.held = []*request{req}
	s.idleSince = now
	metrics.BOSHHeld.Inc()
	h.sessions[s.sid] = s
	h.mu.Unlock()
	metrics.BOSHSessions.Inc()
	metrics.BOSHRequests.WithLabelValues("created").Inc()
	s.conn.push(s.header())
	h.opts.Serve(s.conn, c2s.Transport{Name: "bosh", Secure: r.TLS != nil})
	select {
	case <-req.done:
	case <-r.Context().Done():
		return
	}
	write(w, s.ctype, req.status, req.resp)
}

// version is the BOSH version answered: the client's or 1.11, whichever
// is lower (XEP-0124 §7.2).
func version(client string) string {
	const ours = "1.11"
	major, minor, ok := strings.Cut(client, ".")
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if !ok || err1 != nil || err2 != nil || ma > 1 || (ma == 1 && mi >= 11) {
		return ours
	}
	return client
}

// contentType is the Content-Type of a session's responses: the client's
// 'content' (XEP-0124 §7.1) when it is an XML type, so that no response
// can be made to render as a page, else text/xml.
func contentType(content string) string {
	c := strings.ToLower(strings.TrimSpace(content))
	if strings.HasPrefix(c, "text/xml") || strings.HasPrefix(c, "application/xml") {
		return content
	}
	return "text/xml; charset=utf-8"
}

func write(w http.ResponseWriter, ctype string, status int, body []byte) {
	if ctype == "" {
		ctype = "text/xml; charset=utf-8"
	}
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	// XEP-0124 §5: no chunked responses.
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
