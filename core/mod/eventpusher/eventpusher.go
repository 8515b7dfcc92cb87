// Package eventpusher forwards server events to external HTTP services
// (webhooks): messages sent and received, presence changes, accounts
// registered and removed, sessions opened and closed. Each endpoint has
// its own bounded queue and worker; a delivery is a JSON POST signed with
// HMAC-SHA256, retried with exponential backoff until the endpoint
// answers 2xx or the attempts run out. Nothing is dropped silently: queue
// overflow and given-up deliveries are counted in
// meridian_events_dropped_total.
package eventpusher

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// Event kinds.
const (
	MessageSent     = "message_sent"
	MessageReceived = "message_received"
	Presence        = "presence"
	UserRegistered  = "user_registered"
	UserRemoved     = "user_removed"
	SessionOpened   = "session_opened"
	SessionClosed   = "session_closed"
)

// Kinds lists every event kind.
var Kinds = []string{MessageSent, MessageReceived, Presence, UserRegistered, UserRemoved, SessionOpened, SessionClosed}

// Headers of a delivery.
const (
	HeaderEvent     = "X-Meridian-Event"
	HeaderDelivery  = "X-Meridian-Delivery"
	HeaderSignature = "X-Meridian-Signature" // "sha256=" hex HMAC-SHA256 of the body
)

// Endpoint is one [[modules.event_pusher.endpoints]] table.
type Endpoint struct {
	URL    string   `toml:"url"`
	Secret string   `toml:"secret"`
	Events []string `toml:"events"` // empty: every kind
	// Queue bounds the events waiting for this endpoint.
	Queue int `toml:"queue"`
	// MaxAttempts bounds the tries of one event (0: until it succeeds).
	MaxAttempts int `toml:"max_attempts"`
}

// Config is [modules.event_pusher].
type Config struct {
	Endpoints []Endpoint `toml:"endpoints"`
	// Timeout bounds one HTTP request; RetryInitial is the first backoff,
	// doubled per failure up to RetryMax. Go duration strings.
	Timeout      string `toml:"timeout"`
	RetryInitial string `toml:"retry_initial"`
	RetryMax     string `toml:"retry_max"`
}

// Validate checks the values; errors name the key.
func (c *Config) Validate() error {
	for _, k := range []struct{ key, v string }{{"timeout", c.Timeout}, {"retry_initial", c.RetryInitial}, {"retry_max", c.RetryMax}} {
		if d, err := time.ParseDuration(k.v); err != nil || d <= 0 {
			return fmt.Errorf("modules.event_pusher.%s: %q is not a positive duration", k.key, k.v)
		}
	}
	for i, e := range c.Endpoints {
		key := fmt.Sprintf("modules.event_pusher.endpoints[%d]", i)
		u, err := url.Parse(e.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s.url: %q is not an http or https URL", key, e.URL)
		}
		if e.Secret == "" {
			return fmt.Errorf("%s.secret: required (deliveries are signed with it)", key)
		}
		for _, k := range e.Events {
			if !slices.Contains(Kinds, k) {
				return fmt.Errorf("%s.events: unknown event %q (known: %v)", key, k, Kinds)
			}
		}
		if e.Queue < 0 || e.MaxAttempts < 0 {
			return fmt.Errorf("%s: queue and max_attempts must not be negative", key)
		}
	}
	return nil
}

func init() {
	module.Register(module.Info{
		Name:   "event_pusher",
		Config: func() any { return &Config{Timeout: "5s", RetryInitial: "500ms", RetryMax: "1m"} },
		New:    New,
	})
}

// Event is the JSON body of a delivery; fields that do not apply to a
// kind are left out. docs/configuration.md documents the schema.
type Event struct {
	ID        string `json:"id"`
	Event     string `json:"event"`
	Timestamp string `json:"timestamp"` // RFC 3339, UTC
	User      string `json:"user"`      // the local account (bare JID)
	Resource  string `json:"resource,omitempty"`
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	Type      string `json:"type,omitempty"`       // message or presence type
	MessageID string `json:"message_id,omitempty"` // the stanza's id
	Body      string `json:"body,omitempty"`
	Available *bool  `json:"available,omitempty"`
	Show      string `json:"show,omitempty"`
	Status    string `json:"status,omitempty"`
	Priority  *int   `json:"priority,omitempty"`
}

// Module is a provisioned event pusher.
type Module struct {
	log     *slog.Logger
	workers []*worker
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	now     func() time.Time
}

type worker struct {
	m        *Module
	ep       Endpoint
	name     string // the URL without credentials, for metrics and logs
	kinds    map[string]bool
	queue    chan delivery
	client   *http.Client
	initial  time.Duration
	maxDelay time.Duration
}

type delivery struct {
	kind string
	id   string
	body []byte
}

// New provisions the module.
func New(h module.Host, cfg any) (module.Instance, error) {
	c := *cfg.(*Config)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	timeout, _ := time.ParseDuration(c.Timeout)
	initial, _ := time.ParseDuration(c.RetryInitial)
	maxDelay, _ := time.ParseDuration(c.RetryMax)
	ctx, cancel := context.WithCancel(context.Background())
	m := &Module{log: h.Logger().With("module", "event_pusher"), cancel: cancel, now: time.Now}
	for _, ep := range c.Endpoints {
		if ep.Queue == 0 {
			ep.Queue = 1000
		}
		u, _ := url.Parse(ep.URL)
		u.User = nil
		w := &worker{m: m, ep: ep, name: u.String(), queue: make(chan delivery, ep.Queue),
			client: &http.Client{Timeout: timeout}, initial: initial, maxDelay: maxDelay}
		if len(ep.Events) > 0 {
			w.kinds = map[string]bool{}
			for _, k := range ep.Events {
				w.kinds[k] = true
			}
		}
		// The endpoint's series exist from the start, at zero.
		metrics.EventsDelivered.WithLabelValues(w.name)
		metrics.EventsDropped.WithLabelValues(w.name, "queue_full")
		metrics.EventsDropped.WithLabelValues(w.name, "gave_up")
		m.workers = append(m.workers, w)
		m.wg.Add(1)
		go w.run(ctx)
	}
	if len(m.workers) == 0 {
		return m, nil
	}
	h.AddHooks(module.Hooks{
		UserSend:    m.userSend,
		UserReceive: m.userReceive,
		PresenceBroadcast: func(_ context.Context, s module.SessionInfo, st *stanza.Stanza, _ bool) {
			m.presence(s, st)
		},
		UserCreated: func(_ context.Context, u jid.JID) { m.emit(Event{Event: UserRegistered, User: u.String()}) },
		UserRemoved: func(_ context.Context, u jid.JID) { m.emit(Event{Event: UserRemoved, User: u.String()}) },
		SessionOpened: func(_ context.Context, s module.SessionInfo) {
			m.emit(Event{Event: SessionOpened, User: s.JID.Bare().String(), Resource: s.JID.Resource()})
		},
		SessionClosed: func(_ context.Context, s module.SessionInfo, status string, _ bool) {
			m.emit(Event{Event: SessionClosed, User: s.JID.Bare().String(), Resource: s.JID.Resource(), Status: status})
		},
	})
	return m, nil
}

// Stop ends the workers; what is still queued is not delivered.
func (m *Module) Stop() {
	m.cancel()
	m.wg.Wait()
}

// message turns a message with a body into an event; ok is false for
// anything else (chat states, receipts, errors).
func message(kind string, user jid.JID, st *stanza.Stanza) (Event, bool) {
	if st.Kind != stanza.Message || st.Type == "error" {
		return Event{}, false
	}
	el, err := st.Element()
	if err != nil {
		return Event{}, false
	}
	b := el.Child(stanza.NSClient, "body")
	if b == nil {
		return Event{}, false
	}
	return Event{Event: kind, User: user.Bare().String(), Resource: user.Resource(), From: st.From.String(), To: st.To.String(),
		Type: typeOr(st.Type, "normal"), MessageID: st.ID, Body: b.Text}, true
}

func typeOr(t, d string) string {
	if t == "" {
		return d
	}
	return t
}

func (m *Module) userSend(_ context.Context, from module.SessionInfo, st *stanza.Stanza) *stanza.Stanza {
	if ev, ok := message(MessageSent, from.JID, st); ok {
		m.emit(ev)
	}
	return st
}

func (m *Module) userReceive(_ context.Context, to jid.JID, st *stanza.Stanza) *stanza.Stanza {
	if ev, ok := message(MessageReceived, to, st); ok {
		ev.Resource = to.Resource()
		m.emit(ev)
	}
	return st
}

func (m *Module) presence(s module.SessionInfo, st *stanza.Stanza) {
	avail := st.Type == ""
	ev := Event{Event: Presence, User: s.JID.Bare().String(), Resource: s.JID.Resource(), Type: typeOr(st.Type, "available"), Available: &avail}
	if el, err := st.Element(); err == nil {
		if c := el.Child(stanza.NSClient, "show"); c != nil {
			ev.Show = c.Text
		}
		if c := el.Child(stanza.NSClient, "status"); c != nil {
			ev.Status = c.Text
		}
	}
	if avail {
		p := s.Priority
		ev.Priority = &p
	}
	m.emit(ev)
}

// emit queues an event for every endpoint that wants its kind.
func (m *Module) emit(ev Event) {
	var raw [12]byte
	rand.Read(raw[:])
	ev.ID = hex.EncodeToString(raw[:])
	ev.Timestamp = m.now().UTC().Format(time.RFC3339Nano)
	body, err := json.Marshal(ev)
	if err != nil {
		m.log.Error("encoding an event failed", "err", err)
		return
	}
	for _, w := range m.workers {
		if w.kinds != nil && !w.kinds[ev.Event] {
			continue
		}
		select {
		case w.queue <- delivery{kind: ev.Event, id: ev.ID, body: body}:
		default:
			metrics.EventsDropped.WithLabelValues(w.name, "queue_full").Inc()
			m.log.Warn("webhook queue full: event dropped", "endpoint", w.name, "event", ev.Event)
		}
	}
}

// Sign returns the signature header value of a body.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (w *worker) run(ctx context.Context) {
	defer w.m.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case d := <-w.queue:
			w.deliver(ctx, d)
		}
	}
}

// deliver posts one event until it is accepted, the attempts run out or
// the module stops. Events of an endpoint go out in order.
func (w *worker) deliver(ctx context.Context, d delivery) {
	delay := w.initial
	for attempt := 1; ; attempt++ {
		err := w.post(ctx, d)
		if err == nil {
			metrics.EventsDelivered.WithLabelValues(w.name).Inc()
			return
		}
		if w.ep.MaxAttempts > 0 && attempt >= w.ep.MaxAttempts {
			metrics.EventsDropped.WithLabelValues(w.name, "gave_up").Inc()
			w.m.log.Warn("webhook delivery given up", "endpoint", w.name, "event", d.kind, "attempts", attempt, "err", err)
			return
		}
		w.m.log.Debug("webhook delivery failed, retrying", "endpoint", w.name, "event", d.kind, "in", delay, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, w.maxDelay)
	}
}

func (w *worker) post(ctx context.Context, d delivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.ep.URL, bytes.NewReader(d.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Meridian")
	req.Header.Set(HeaderEvent, d.kind)
	req.Header.Set(HeaderDelivery, d.id)
	req.Header.Set(HeaderSignature, Sign(w.ep.Secret, d.body))
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
