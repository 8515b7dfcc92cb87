// Package module is the registry of feature modules (DESIGN principle 5).
// A module registers itself in an init function with its name, its config
// defaults and a constructor; the node's config enables it; at start it is
// provisioned with a Host through which it registers IQ handlers, disco
// features and hooks. The package must not know any module by name.
package module

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Info describes a module.
type Info struct {
	Name string
	// Config returns a pointer to the module's config struct filled with
	// defaults (decoded from [modules.<name>]); nil for modules with no keys.
	Config func() any
	// New provisions the module on a host.
	New func(h Host, cfg any) (Instance, error)
	// Requires names modules that must be enabled too.
	Requires []string
}

// Instance is a provisioned module. It may implement Stopper.
type Instance any

// Stopper is implemented by modules that hold resources.
type Stopper interface{ Stop() }

var (
	mu      sync.Mutex
	modules = map[string]Info{}
)

// Register adds a module. It panics on a duplicate name.
func Register(info Info) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := modules[info.Name]; dup {
		panic(fmt.Sprintf("module: %q registered twice", info.Name))
	}
	modules[info.Name] = info
}

// Lookup returns a registered module.
func Lookup(name string) (Info, bool) {
	mu.Lock()
	defer mu.Unlock()
	i, ok := modules[name]
	return i, ok
}

// Names lists registered modules in order.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	out := make([]string, 0, len(modules))
	for n := range modules {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Target says whom an IQ is addressed to.
type Target int

const (
	// Server: the IQ is to a served domain (to='example.com').
	Server Target = iota
	// Account: the IQ is to a user's bare JID, or has no to (RFC 6120
	// §10.3.3: handled on behalf of the sender's account).
	Account
)

// IQ is an IQ request handed to a module.
type IQ struct {
	Stanza  *stanza.Stanza
	Payload *xmltok.Element
	From    jid.JID // full JID of the requester
	To      jid.JID // the addressed JID; for Account with no to, the sender's bare JID
	Set     bool    // type='set' (else 'get')
}

// ErrReplied is returned by an IQHandler that has already delivered its
// reply itself (e.g. before ending the requester's session).
var ErrReplied = errors.New("module: handler replied itself")

// IQHandler answers an IQ. It returns the payload of the result (nil for
// an empty result) or a *stanza.Error.
type IQHandler func(ctx context.Context, iq IQ) (*xmltok.Element, error)

// SessionInfo is a snapshot of a session for modules.
type SessionInfo struct {
	JID        jid.JID
	Priority   int
	Available  bool
	Presence   *stanza.Stanza // last available presence broadcast, nil if none
	Interested bool           // requested the roster (RFC 6121 §2.1.6)
}

// Hooks are callbacks modules add; all are optional.
type Hooks struct {
	// OutboundPresence sees presence a client sends to a JID (subscription
	// requests, probes, directed presence). Return true when handled.
	OutboundPresence func(ctx context.Context, from SessionInfo, st *stanza.Stanza) bool
	// InboundPresence sees presence addressed to a local user's bare JID
	// or to an unavailable full JID. Return true when handled.
	InboundPresence func(ctx context.Context, st *stanza.Stanza) bool
	// PresenceBroadcast runs after a client changed its own presence
	// (presence without to). initial is true for the first available
	// presence of the session.
	PresenceBroadcast func(ctx context.Context, s SessionInfo, st *stanza.Stanza, initial bool)
	// SessionOpened runs once a session is bound.
	SessionOpened func(ctx context.Context, s SessionInfo)
	// SessionClosed runs when a session ended; status is the text of the
	// last unavailable presence.
	SessionClosed func(ctx context.Context, s SessionInfo, status string, last bool)
	// UserRemoved runs when an account is deleted: remove its data.
	UserRemoved func(ctx context.Context, user jid.JID)
	// UserCreated runs after an account was created (in-band
	// registration, admin API, command line).
	UserCreated func(ctx context.Context, user jid.JID)
	// OfflineMessage may store a message for a user with no available
	// resource. Return true when stored.
	OfflineMessage func(ctx context.Context, st *stanza.Stanza) bool
	// UserSend sees every stanza a local session sends (presence
	// broadcasts included) before the router acts on it. It returns the
	// stanza to go on with (st itself or a changed copy), or nil when it
	// handled the stanza (replied, dropped). Hooks run in the order the
	// modules were provisioned.
	UserSend func(ctx context.Context, from SessionInfo, st *stanza.Stanza) *stanza.Stanza
	// UserReceive sees every stanza the router is about to hand to a
	// local account (to is its bare or full JID), whoever sent it,
	// before delivery, offline storage or an IQ handler. Same return
	// contract as UserSend.
	UserReceive func(ctx context.Context, to jid.JID, st *stanza.Stanza) *stanza.Stanza
	// MessageDelivered runs after a message to a local account was
	// handed to sessions: to is the address the message had, delivered
	// the full JIDs that got it (never empty).
	MessageDelivered func(ctx context.Context, st *stanza.Stanza, to jid.JID, delivered []jid.JID)
}

// Host is what the core offers modules.
type Host interface {
	Logger() *slog.Logger
	Hosts() []string
	IsLocal(domain string) bool
	// Store returns a persistent store by kind ("accounts", "roster",
	// "last", "offline", "userdata", "pubsub", "archive"), nil when the
	// backend has none.
	Store(kind string) any
	// Route sends a stanza from the server (from must be set).
	Route(ctx context.Context, st *stanza.Stanza)
	// DeliverTo sends a stanza straight to one local session; false if none.
	DeliverTo(full jid.JID, st *stanza.Stanza) bool
	// Sessions lists the sessions of a local user.
	Sessions(bare jid.JID) []SessionInfo
	// DeliverElsewhere finds an available session (priority not negative)
	// of a local user on another core of the region and hands it, as they
	// are and in order, the stanzas take returns; false, and take not
	// called, when there is none.
	DeliverElsewhere(ctx context.Context, bare jid.JID, take func() []*stanza.Stanza) bool
	// SetInterested marks a session as having requested its roster.
	SetInterested(full jid.JID)
	// UserExists reports whether a local account exists.
	UserExists(ctx context.Context, bare jid.JID) (bool, error)
	// RemoveUser deletes an account and its data and ends its sessions.
	RemoveUser(ctx context.Context, bare jid.JID) error
	// SetPassword changes an account's password.
	SetPassword(ctx context.Context, bare jid.JID, password string) error
	// CreateUser creates an account.
	CreateUser(ctx context.Context, bare jid.JID, password string) error
	// HandleIQ registers an IQ handler for a payload namespace.
	HandleIQ(t Target, space string, h IQHandler)
	// HandlePreAuthIQ registers a handler for IQs of unauthenticated
	// clients (in-band registration).
	HandlePreAuthIQ(space string, h PreAuthHandler)
	// AddFeature announces a disco feature (XEP-0030) of the server.
	AddFeature(target Target, ns string)
	// AddIdentity announces a disco identity of the server.
	AddIdentity(category, typ, name string)
	// AddInfoForm announces a XEP-0128 extended information form of the
	// server or of accounts, returned in disco#info after the features.
	// A FORM_TYPE may be announced once per target (XEP-0128: an entity
	// must not give the same FORM_TYPE twice).
	AddInfoForm(target Target, f InfoForm)
	// Features, Identities and InfoForms list what modules announced.
	Features(target Target) []string
	Identities() []Identity
	InfoForms(target Target) []InfoForm
	// AddAccountDisco extends the disco answers about local accounts
	// (XEP-0030 queries to a bare JID) with what a module serves on their
	// behalf; AccountDisco lists the extensions in the order added.
	AddAccountDisco(d AccountDisco)
	AccountDisco() []AccountDisco
	// AddStreamFeature adds a child of <stream:features/>: offered before
	// authentication when preAuth, else after it. fn returns nil to offer
	// nothing on a given domain.
	AddStreamFeature(preAuth bool, fn func(domain string) *xmltok.Element)
	AddHooks(h Hooks)
	Started() time.Time
	// Request sends an IQ get or set (from must be set, to a local
	// session or account) and waits for its result or error, which
	// never reach the router's other handlers. It returns
	// ErrRequestTimeout when nothing came back before ctx ends or
	// RequestTimeout passed.
	Request(ctx context.Context, iq *stanza.Stanza) (*stanza.Stanza, error)
}

// RequestTimeout bounds Host.Request when ctx has no earlier deadline.
const RequestTimeout = 10 * time.Second

// ErrRequestTimeout is returned by Host.Request when no reply came.
var ErrRequestTimeout = errors.New("module: no reply to IQ request")

// Identity is a disco identity.
type Identity struct{ Category, Type, Name string }

// InfoForm is a XEP-0128 service discovery extension: a data form
// (XEP-0004) of type "result" whose hidden FORM_TYPE field names the
// registered form (XEP-0068), followed by its fields in order.
type InfoForm struct {
	FormType string
	Fields   []FormField
}

// FormField is one field of an InfoForm.
type FormField struct {
	Var    string
	Type   string // optional field type, e.g. "list-multi"
	Values []string
}

// AccountDisco is what a module that serves entities or nodes on behalf
// of local accounts (personal eventing, XEP-0163) adds to the disco
// answers about an account. account is the bare JID asked about,
// requester the full JID asking; the core has checked that the account
// exists. Every field is optional.
type AccountDisco struct {
	// Identity is announced in the disco#info of every account.
	Identity Identity
	// Info answers disco#info for a node of the account: the identities,
	// features and extended information forms (XEP-0128) of the answer.
	// It returns stanza.ErrItemNotFound for a node it does not serve.
	Info func(ctx context.Context, requester, account jid.JID, node string) (DiscoInfo, error)
	// Items lists the disco#items of the account (node "") or of one of
	// its nodes, as requester may see them. It returns
	// stanza.ErrItemNotFound for a node it does not serve.
	Items func(ctx context.Context, requester, account jid.JID, node string) ([]DiscoItem, error)
}

// DiscoInfo is a disco#info answer (XEP-0030 §3.1, XEP-0128).
type DiscoInfo struct {
	Identities []Identity
	Features   []string
	Forms      []*xmltok.Element // jabber:x:data forms of type result
}

// DiscoItem is one item of a disco#items answer (XEP-0030 §4.1).
type DiscoItem struct {
	JID  jid.JID
	Node string
	Name string
}

// PreAuthHandler answers an IQ of an unauthenticated client.
type PreAuthHandler func(ctx context.Context, domain, remoteAddr string, iq IQ) (*xmltok.Element, error)
