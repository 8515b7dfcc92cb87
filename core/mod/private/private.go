// Package private is private XML storage (XEP-0049, jabber:iq:private): a
// user stores XML fragments, each under the namespace of its root
// element, and gets them back by that namespace; no one else can read or
// change them. It owns the "private" key of the userdata store, where a
// user's fragments are kept together in one document so that max_size
// bounds what one user stores in all.
//
// Choices where XEP-0049 leaves one or is of two minds:
//   - To another user's JID: forbidden (§2.3: forbidden "is preferable"
//     to service-unavailable).
//   - An empty query: a get is bad-request (§2.3 and §3: the "Bad Format"
//     error of the error table, XEP-0086's bad-request); a set is
//     not-acceptable (§2.3: "MUST respond with a Not Acceptable error",
//     as its example of an empty set shows).
//   - Reserved namespaces (namespaces beginning with jabber: or
//     http://jabber.org/, and vcard-temp) are not-acceptable in a get or
//     a set (§2.3, the optional behaviour). A child without its own
//     namespace is in jabber:iq:private, so it is refused too.
//   - A set replaces everything stored under each namespace it carries,
//     and may carry several namespaces at once and several elements of
//     one namespace (§2.3). A get may likewise ask for several
//     namespaces; a namespace with nothing stored comes back as the
//     empty element that asked for it (what XEP-0048 clients expect).
//   - A set that would make the user's document larger than max_size is
//     not-acceptable, and nothing of it is stored.
//
// XML is stored as the element tree serialises it: namespaces, names,
// attributes and text are kept; where text and child elements are
// mixed, the text comes first (the tree keeps text per element).
package private

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/core/userdata"
	"github.com/meridian-xmpp/meridian/internal/userlock"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// NS is the private XML storage namespace.
const NS = "jabber:iq:private"

// Key is the userdata key a user's fragments are stored under.
const Key = "private"

// MaxNamespaceLen bounds the namespace of a stored fragment.
const MaxNamespaceLen = 1024

// Config is [modules.private].
type Config struct {
	// MaxSize is the most a user may store, in bytes of XML, all
	// namespaces together (0: no limit).
	MaxSize int `toml:"max_size"`
}

// Validate checks the values.
func (c *Config) Validate() error {
	if c.MaxSize < 0 {
		return fmt.Errorf("modules.private.max_size: %d must not be negative (0 means no limit)", c.MaxSize)
	}
	return nil
}

func init() {
	module.Register(module.Info{
		Name:   "private",
		Config: func() any { return &Config{MaxSize: 64 << 10} },
		New:    New,
	})
}

// Module is a provisioned private storage module.
type Module struct {
	cfg   Config
	store userdata.Store
	log   *slog.Logger
	locks userlock.Locks
}

// New provisions the module; it needs the "userdata" store.
func New(h module.Host, cfg any) (module.Instance, error) {
	c := *cfg.(*Config)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s, ok := h.Store("userdata").(userdata.Store)
	if !ok || s == nil {
		return nil, errors.New("private: the storage backend has no userdata store")
	}
	m := &Module{cfg: c, store: s, log: h.Logger().With("module", "private")}
	h.AddFeature(module.Server, NS)
	h.HandleIQ(module.Account, NS, m.handleIQ)
	h.AddHooks(module.Hooks{UserRemoved: m.userRemoved})
	return m, nil
}

// reserved reports whether ns may not be used (XEP-0049 §2.3).
func reserved(ns string) bool {
	return strings.HasPrefix(ns, "jabber:") || strings.HasPrefix(ns, "http://jabber.org/") || ns == "vcard-temp"
}

func (m *Module) handleIQ(ctx context.Context, iq module.IQ) (*xmltok.Element, error) {
	user := iq.From.Bare()
	if iq.To != user {
		return nil, stanza.ErrForbidden
	}
	q := iq.Payload
	if q.Local != "query" {
		return nil, stanza.ErrBadRequest
	}
	if len(q.Children) == 0 {
		if iq.Set {
			return nil, stanza.ErrNotAcceptable.WithText("nothing to store")
		}
		return nil, stanza.ErrBadRequest.WithText("no namespace asked for")
	}
	for _, c := range q.Children {
		if reserved(c.Space) {
			return nil, stanza.ErrNotAcceptable.WithText("reserved namespace " + c.Space)
		}
		if len(c.Space) > MaxNamespaceLen {
			return nil, stanza.ErrNotAcceptable.WithText("namespace too long")
		}
	}
	if iq.Set {
		return nil, m.set(ctx, user, q.Children)
	}
	return m.get(ctx, user, q.Children)
}

func (m *Module) get(ctx context.Context, user jid.JID, asked []*xmltok.Element) (*xmltok.Element, error) {
	doc, err := m.load(ctx, user)
	if err != nil {
		m.log.Error("reading private XML failed", "user", user.String(), "err", err)
		return nil, stanza.ErrInternalServerError
	}
	out := xmltok.NewElement(NS, "query")
	seen := map[string]bool{}
	for _, a := range asked {
		if seen[a.Space] {
			continue
		}
		seen[a.Space] = true
		found := false
		for _, c := range doc.Children {
			if c.Space == a.Space {
				out.Add(c)
				found = true
			}
		}
		if !found {
			out.Add(xmltok.NewElement(a.Space, a.Local))
		}
	}
	return out, nil
}

func (m *Module) set(ctx context.Context, user jid.JID, fragments []*xmltok.Element) error {
	replaced := map[string]bool{}
	for _, f := range fragments {
		replaced[f.Space] = true
	}
	unlock := m.locks.Lock(user)
	defer unlock()
	doc, err := m.load(ctx, user)
	if err != nil {
		m.log.Error("reading private XML failed", "user", user.String(), "err", err)
		return stanza.ErrInternalServerError
	}
	next := xmltok.NewElement(NS, "query")
	for _, c := range doc.Children {
		if !replaced[c.Space] {
			next.Add(c)
		}
	}
	next.Add(fragments...)
	b := next.Append(nil, "")
	if m.cfg.MaxSize > 0 && len(b) > m.cfg.MaxSize {
		return stanza.ErrNotAcceptable.WithText(fmt.Sprintf("private storage is limited to %d bytes", m.cfg.MaxSize))
	}
	// What is stored must read back (a prefix declared outside the
	// fragment would not).
	if _, err := parse(b); err != nil {
		return stanza.ErrBadRequest.WithText("XML cannot be stored")
	}
	if err := m.store.Put(ctx, user, Key, b); err != nil {
		m.log.Error("storing private XML failed", "user", user.String(), "err", err)
		return stanza.ErrInternalServerError
	}
	return nil
}

// load returns the user's document, an empty query when nothing is
// stored.
func (m *Module) load(ctx context.Context, user jid.JID) (*xmltok.Element, error) {
	b, ok, err := m.store.Get(ctx, user, Key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return xmltok.NewElement(NS, "query"), nil
	}
	doc, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("stored private XML: %w", err)
	}
	return doc, nil
}

func parse(b []byte) (*xmltok.Element, error) {
	return xmltok.ParseLimits(b, NS, nil, xmltok.Limits{MaxStanzaSize: max(len(b), 1), MaxDepth: 1 << 10})
}

func (m *Module) userRemoved(ctx context.Context, user jid.JID) {
	if err := m.store.RemoveUser(ctx, user); err != nil {
		m.log.Error("removing user data failed", "user", user.String(), "err", err)
	}
}
