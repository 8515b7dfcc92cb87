// Package last is the Last Activity module (XEP-0012): the server's uptime,
// and on behalf of a user, how long ago they logged out and their last
// status, which it records when their last session ends. It owns the Store
// interface that storage backends implement; it must not decide presence
// subscriptions itself (it reads them from the roster store).
package last

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// NS is the last activity namespace.
const NS = "jabber:iq:last"

func init() {
	module.Register(module.Info{Name: "last", New: New})
}

// rosterItems is the part of roster.Store this module reads.
type rosterItems interface {
	Item(ctx context.Context, user, contact jid.JID) (it roster.Item, ok bool, err error)
}

// Module is a provisioned last activity module.
type Module struct {
	h      module.Host
	log    *slog.Logger
	store  Store
	roster rosterItems // nil: no roster, only users themselves may ask
	now    func() time.Time
}

// New provisions the module. It has no configuration; it needs the "last"
// store and reads the "roster" store when there is one.
func New(h module.Host, _ any) (module.Instance, error) {
	m := &Module{h: h, log: h.Logger().With("module", "last"), now: time.Now}
	s, ok := h.Store("last").(Store)
	if !ok || s == nil {
		return nil, errors.New("last: the storage backend has no last activity store")
	}
	m.store = s
	if r := h.Store("roster"); r != nil {
		ri, ok := r.(rosterItems)
		if !ok {
			return nil, fmt.Errorf("last: roster store %T cannot look up an item", r)
		}
		m.roster = ri
	}
	h.AddFeature(module.Server, NS)
	h.AddFeature(module.Account, NS)
	h.HandleIQ(module.Server, NS, m.uptime)
	h.HandleIQ(module.Account, NS, m.lastActivity)
	h.AddHooks(module.Hooks{
		SessionClosed: m.sessionClosed,
		UserRemoved:   m.userRemoved,
	})
	return m, nil
}

func check(iq module.IQ) error {
	if iq.Set {
		return stanza.ErrNotAllowed
	}
	if iq.Payload.Local != "query" {
		return stanza.ErrBadRequest
	}
	return nil
}

func result(seconds int64, status string) *xmltok.Element {
	if seconds < 0 {
		seconds = 0 // a clock that stepped back
	}
	return xmltok.NewElement(NS, "query",
		xmltok.Attr{Name: "seconds", Value: strconv.FormatInt(seconds, 10)}).SetText(status)
}

// uptime answers a query to the server: seconds since it started
// (XEP-0012 §5).
func (m *Module) uptime(_ context.Context, iq module.IQ) (*xmltok.Element, error) {
	if err := check(iq); err != nil {
		return nil, err
	}
	return result(int64(m.now().Sub(m.h.Started())/time.Second), ""), nil
}

// lastActivity answers a query to a user's bare JID (XEP-0012 §4): 0 while
// they have an available resource, else the time since they logged out.
func (m *Module) lastActivity(ctx context.Context, iq module.IQ) (*xmltok.Element, error) {
	if err := check(iq); err != nil {
		return nil, err
	}
	user := iq.To
	ok, err := m.authorized(ctx, iq.From.Bare(), user)
	if err != nil {
		m.log.Warn("roster lookup failed", "user", user.String(), "err", err)
		return nil, stanza.ErrInternalServerError
	}
	if !ok {
		// XEP-0012 §4: only a contact with a subscription to the user's
		// presence may know.
		return nil, stanza.ErrForbidden
	}
	for _, s := range m.h.Sessions(user) {
		if s.Available {
			return result(0, ""), nil
		}
	}
	at, status, found, err := m.store.GetLast(ctx, user)
	if err != nil {
		m.log.Warn("last activity lookup failed", "user", user.String(), "err", err)
		return nil, stanza.ErrInternalServerError
	}
	if !found {
		return nil, stanza.ErrItemNotFound
	}
	return result(int64(m.now().Sub(at)/time.Second), status), nil
}

// authorized reports whether requester may see user's last activity: the
// user themself, or a contact the user's roster says is subscribed to the
// user's presence (subscription "from" or "both", RFC 6121 §2.1.2.5).
func (m *Module) authorized(ctx context.Context, requester, user jid.JID) (bool, error) {
	if requester == user {
		return true, nil
	}
	if m.roster == nil {
		return false, nil
	}
	it, ok, err := m.roster.Item(ctx, user, requester)
	if err != nil || !ok {
		return false, err
	}
	return it.Subscription == roster.SubFrom || it.Subscription == roster.SubBoth, nil
}

func (m *Module) sessionClosed(ctx context.Context, s module.SessionInfo, status string, last bool) {
	if !last {
		return
	}
	user := s.JID.Bare()
	if err := m.store.SetLast(ctx, user, m.now(), status); err != nil {
		m.log.Warn("recording last activity failed", "user", user.String(), "err", err)
	}
}

func (m *Module) userRemoved(ctx context.Context, user jid.JID) {
	if err := m.store.DeleteUser(ctx, user); err != nil {
		m.log.Warn("removing last activity failed", "user", user.String(), "err", err)
	}
}
