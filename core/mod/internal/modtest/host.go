// Package modtest is a fake module.Host for the unit tests of the modules
// under core/mod. It records what a module registers (handlers, features,
// identities, stream features, hooks) and calls its IQ handlers the way the
// core's router does, so that a module can be tested without a core. It
// must not be imported by non-test code.
package modtest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Host is a fake module.Host. Create one with New; it is safe for
// concurrent use.
type Host struct {
	domains []string
	started time.Time

	mu         sync.Mutex
	stores     map[string]any
	users      map[jid.JID]string // bare JID → password
	sessions   map[jid.JID][]module.SessionInfo
	elsewhere  map[jid.JID]bool
	events     []string
	iq         [2]map[string]module.IQHandler
	preAuth    map[string]module.PreAuthHandler
	features   [2][]string
	identities []module.Identity
	forms      [2][]module.InfoForm
	accDisco   []module.AccountDisco
	preFeat    []func(string) *xmltok.Element
	postFeat   []func(string) *xmltok.Element
	hooks      []module.Hooks
	responder  func(*stanza.Stanza) (*stanza.Stanza, error)

	// CreateErr, when set, is returned by CreateUser instead of creating.
	CreateErr error
}

var _ module.Host = (*Host)(nil)

// New returns a host serving domains, started at started.
func New(started time.Time, domains ...string) *Host {
	h := &Host{
		domains:  domains,
		started:  started,
		stores:   map[string]any{},
		users:    map[jid.JID]string{},
		sessions: map[jid.JID][]module.SessionInfo{},
		preAuth:  map[string]module.PreAuthHandler{},
	}
	h.iq[module.Server] = map[string]module.IQHandler{}
	h.iq[module.Account] = map[string]module.IQHandler{}
	return h
}

// JID parses s or fails the test.
func JID(t testing.TB, s string) jid.JID {
	t.Helper()
	j, err := jid.Parse(s)
	if err != nil {
		t.Fatalf("jid %q: %v", s, err)
	}
	return j
}

// SetStore makes Store(kind) return v.
func (h *Host) SetStore(kind string, v any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stores[kind] = v
}

// AddUser creates an account.
func (h *Host) AddUser(bare jid.JID, password string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.users[bare] = password
}

// Password returns an account's password; ok is false when there is no
// such account.
func (h *Host) Password(bare jid.JID) (password string, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	password, ok = h.users[bare]
	return password, ok
}

// AddSession adds a session of s.JID's user.
func (h *Host) AddSession(s module.SessionInfo) {
	h.mu.Lock()
	defer h.mu.Unlock()
	bare := s.JID.Bare()
	h.sessions[bare] = append(h.sessions[bare], s)
}

// Events lists, in order, the side effects modules caused: "deliver <to>
// <stanza bytes>", "route <stanza bytes>", "create <jid>", "password <jid>",
// "remove <jid>".
func (h *Host) Events() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

func (h *Host) event(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, fmt.Sprintf(format, args...))
}

// RunHooks returns the hooks modules added.
func (h *Host) RunHooks() []module.Hooks {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.hooks)
}

// Logger implements module.Host; it discards.
func (h *Host) Logger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Hosts implements module.Host.
func (h *Host) Hosts() []string { return slices.Clone(h.domains) }

// IsLocal implements module.Host.
func (h *Host) IsLocal(domain string) bool { return slices.Contains(h.domains, domain) }

// Store implements module.Host.
func (h *Host) Store(kind string) any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stores[kind]
}

// Route implements module.Host: it records the stanza.
func (h *Host) Route(_ context.Context, st *stanza.Stanza) { h.event("route %s", st.Bytes) }

// DeliverTo implements module.Host: it records the stanza and reports
// whether full has a session.
func (h *Host) DeliverTo(full jid.JID, st *stanza.Stanza) bool {
	h.event("deliver %s %s", full, st.Bytes)
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.ContainsFunc(h.sessions[full.Bare()], func(s module.SessionInfo) bool { return s.JID == full })
}

// Sessions implements module.Host.
func (h *Host) Sessions(bare jid.JID) []module.SessionInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sessions[bare])
}

// DeliverElsewhere implements module.Host: users are on other cores when
// the test says so (SetElsewhere); what goes there is recorded as events.
func (h *Host) DeliverElsewhere(_ context.Context, bare jid.JID, take func() []*stanza.Stanza) bool {
	h.mu.Lock()
	on := h.elsewhere[bare]
	h.mu.Unlock()
	if !on {
		return false
	}
	for _, st := range take() {
		h.event("elsewhere %s %s", bare, st.Bytes)
	}
	return true
}

// SetElsewhere makes DeliverElsewhere find bare (or not) on another core.
func (h *Host) SetElsewhere(bare jid.JID, on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.elsewhere == nil {
		h.elsewhere = map[jid.JID]bool{}
	}
	h.elsewhere[bare] = on
}

// SetInterested implements module.Host.
func (h *Host) SetInterested(full jid.JID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ss := h.sessions[full.Bare()]
	for i := range ss {
		if ss[i].JID == full {
			ss[i].Interested = true
		}
	}
}

// UserExists implements module.Host.
func (h *Host) UserExists(_ context.Context, bare jid.JID) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.users[bare]
	return ok, nil
}

// RemoveUser implements module.Host like the core: the account goes, the
// UserRemoved hooks run, the sessions end.
func (h *Host) RemoveUser(ctx context.Context, bare jid.JID) error {
	h.mu.Lock()
	if _, ok := h.users[bare]; !ok {
		h.mu.Unlock()
		return fmt.Errorf("modtest: no account %s", bare)
	}
	delete(h.users, bare)
	delete(h.sessions, bare)
	hooks := slices.Clone(h.hooks)
	h.mu.Unlock()
	for _, hk := range hooks {
		if hk.UserRemoved != nil {
			hk.UserRemoved(ctx, bare)
		}
	}
	h.event("remove %s", bare)
	return nil
}

// SetPassword implements module.Host.
func (h *Host) SetPassword(_ context.Context, bare jid.JID, password string) error {
	h.mu.Lock()
	if _, ok := h.users[bare]; !ok {
		h.mu.Unlock()
		return fmt.Errorf("modtest: no account %s", bare)
	}
	h.users[bare] = password
	h.mu.Unlock()
	h.event("password %s", bare)
	return nil
}

// CreateUser implements module.Host; it fails with CreateErr when set, and
// like the core with an error wrapping auth.ErrExists when the account
// exists.
func (h *Host) CreateUser(_ context.Context, bare jid.JID, password string) error {
	h.mu.Lock()
	if h.CreateErr != nil {
		h.mu.Unlock()
		return h.CreateErr
	}
	if _, ok := h.users[bare]; ok {
		h.mu.Unlock()
		return fmt.Errorf("modtest: create %s: %w", bare, auth.ErrExists)
	}
	h.users[bare] = password
	h.mu.Unlock()
	h.event("create %s", bare)
	return nil
}

// HandleIQ implements module.Host. It panics on a second handler for the
// same target and namespace, as the core does.
func (h *Host) HandleIQ(t module.Target, space string, fn module.IQHandler) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.iq[t][space]; dup {
		panic("modtest: two IQ handlers for " + space)
	}
	h.iq[t][space] = fn
}

// HandlePreAuthIQ implements module.Host.
func (h *Host) HandlePreAuthIQ(space string, fn module.PreAuthHandler) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.preAuth[space] = fn
}

// AddFeature implements module.Host.
func (h *Host) AddFeature(t module.Target, ns string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.features[t] = append(h.features[t], ns)
}

// AddIdentity implements module.Host.
func (h *Host) AddIdentity(category, typ, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.identities = append(h.identities, module.Identity{Category: category, Type: typ, Name: name})
}

// Features implements module.Host. Unlike the core it does not sort, so
// that modules which need an order must make it themselves.
func (h *Host) Features(t module.Target) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.features[t])
}

// Identities implements module.Host.
func (h *Host) Identities() []module.Identity {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.identities)
}

// AddInfoForm implements module.Host. It panics on a FORM_TYPE
// announced twice for a target, as the core does.
func (h *Host) AddInfoForm(t module.Target, f module.InfoForm) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, o := range h.forms[t] {
		if o.FormType == f.FormType {
			panic("modtest: two disco#info forms of type " + f.FormType)
		}
	}
	h.forms[t] = append(h.forms[t], f)
}

// InfoForms implements module.Host.
func (h *Host) InfoForms(t module.Target) []module.InfoForm {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.forms[t])
}

// AddAccountDisco implements module.Host.
func (h *Host) AddAccountDisco(d module.AccountDisco) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.accDisco = append(h.accDisco, d)
}

// AccountDisco implements module.Host.
func (h *Host) AccountDisco() []module.AccountDisco {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.accDisco)
}

// AddStreamFeature implements module.Host.
func (h *Host) AddStreamFeature(preAuth bool, fn func(string) *xmltok.Element) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if preAuth {
		h.preFeat = append(h.preFeat, fn)
	} else {
		h.postFeat = append(h.postFeat, fn)
	}
}

// StreamFeatures returns the stream features offered on domain.
func (h *Host) StreamFeatures(domain string, preAuth bool) []*xmltok.Element {
	h.mu.Lock()
	fns := slices.Clone(h.postFeat)
	if preAuth {
		fns = slices.Clone(h.preFeat)
	}
	h.mu.Unlock()
	var out []*xmltok.Element
	for _, fn := range fns {
		if el := fn(domain); el != nil {
			out = append(out, el)
		}
	}
	return out
}

// AddHooks implements module.Host.
func (h *Host) AddHooks(hk module.Hooks) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hooks = append(h.hooks, hk)
}

// Started implements module.Host.
func (h *Host) Started() time.Time { return h.started }

// Responder, when set, answers Request; otherwise Request records the IQ
// and reports a timeout.
func (h *Host) SetResponder(fn func(iq *stanza.Stanza) (*stanza.Stanza, error)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.responder = fn
}

// Request implements module.Host.
func (h *Host) Request(_ context.Context, iq *stanza.Stanza) (*stanza.Stanza, error) {
	h.event("request %s", iq.Bytes)
	h.mu.Lock()
	fn := h.responder
	h.mu.Unlock()
	if fn == nil {
		return nil, module.ErrRequestTimeout
	}
	return fn(iq)
}
