// Package vcard is the vcard-temp module (XEP-0054) with server-side
// vCard-based avatar hashes (XEP-0153). A user gets and sets their own
// vCard (IQ with no to, or to their bare JID) and gets another user's (to
// that user's bare JID; the server answers on the user's behalf). The
// server adds <x xmlns='vcard-temp:x:update'><photo>SHA-1</photo></x> to
// a presence broadcast that lacks one, so contacts of clients that do not
// speak XEP-0153 still learn of avatar changes. It owns the "vcard" key
// of the userdata store and must not read any other.
//
// Choices where XEP-0054 leaves one:
//   - A user's own missing vCard is an empty <vCard/> result (§3.1
//     allows it or item-not-found): an editor loads the card before
//     changing it, and an empty card is what it can edit. Another
//     user's missing vCard is item-not-found (§3.3: an error MUST be
//     returned); a user that does not exist is service-unavailable
//     (answered by the core before this module runs).
//   - A set larger than max_size is not-acceptable (RFC 6120 §8.3.3.10:
//     the request does not meet criteria the server defines; XEP-0060
//     §7.1.3.4 answers an oversized payload the same way), not
//     policy-violation, which RFC 6120 §8.3.3.12 keeps for what the
//     content says, not its size.
//   - A set of an empty <vCard/> deletes the stored card.
//   - A PHOTO whose BINVAL is not base64 (XEP-0153 §4.6 rule 5) is
//     bad-request: no hash could be advertised for it.
//
// A vCard set does not re-broadcast presence: XEP-0153 §3.1 and §4.2
// make that the publishing client's job (it MUST advertise the new hash
// after an upload), and a second broadcast from the server would
// duplicate it. The server's hash goes into the next presence the client
// sends without an update child.
package vcard

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/core/userdata"
	"github.com/meridian-xmpp/meridian/internal/userlock"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Namespaces of XEP-0054 and XEP-0153.
const (
	NS       = "vcard-temp"
	NSUpdate = "vcard-temp:x:update"
)

// Key is the userdata key the vCard is stored under.
const Key = "vcard"

// Config is [modules.vcard].
type Config struct {
	// MaxSize is the largest vCard stored, in bytes of its XML (0: only
	// the stanza size limit of c2s applies).
	MaxSize int `toml:"max_size"`
	// PEPConversion keeps the vCard photo and the PEP avatar (XEP-0084)
	// in step (XEP-0398) when the pep module is on.
	PEPConversion bool `toml:"pep_conversion"`
}

// Validate checks the values.
func (c *Config) Validate() error {
	if c.MaxSize < 0 {
		return fmt.Errorf("modules.vcard.max_size: %d must not be negative (0 means no limit)", c.MaxSize)
	}
	return nil
}

func init() {
	module.Register(module.Info{
		Name:   "vcard",
		Config: func() any { return &Config{MaxSize: 64 << 10, PEPConversion: true} },
		New:    New,
	})
}

// Module is a provisioned vcard module.
type Module struct {
	h     module.Host
	cfg   Config
	store userdata.Store
	log   *slog.Logger
	locks userlock.Locks

	// photos caches the avatar hash ("" for none) of users with
	// sessions, so that a presence broadcast reads no store. Entries are
	// written under the user's lock, after the store.
	mu     sync.RWMutex
	photos map[jid.JID]string

	avatars avatars // XEP-0398 conversion
}

// New provisions the module; it needs the "userdata" store.
func New(h module.Host, cfg any) (module.Instance, error) {
	c := *cfg.(*Config)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s, ok := h.Store("userdata").(userdata.Store)
	if !ok || s == nil {
		return nil, errors.New("vcard: the storage backend has no userdata store")
	}
	m := &Module{h: h, cfg: c, store: s, log: h.Logger().With("module", "vcard"), photos: map[jid.JID]string{}}
	h.AddFeature(module.Server, NS)
	h.AddFeature(module.Account, NS)
	h.HandleIQ(module.Account, NS, m.handleIQ)
	if c.PEPConversion {
		h.AddFeature(module.Server, NSConversion)
		h.AddFeature(module.Account, NSConversion)
	}
	h.AddHooks(module.Hooks{
		UserSend: m.userSend,
		SessionOpened: func(context.Context, module.SessionInfo) {
			if c.PEPConversion {
				m.watchPEP()
			}
		},
		SessionClosed: func(_ context.Context, s module.SessionInfo, _ string, last bool) {
			if last {
				m.forget(s.JID.Bare())
			}
		},
		UserRemoved: m.userRemoved,
	})
	return m, nil
}

func (m *Module) handleIQ(ctx context.Context, iq module.IQ) (*xmltok.Element, error) {
	if iq.Payload.Local != "vCard" {
		return nil, stanza.ErrBadRequest
	}
	own := iq.To == iq.From.Bare()
	if iq.Set {
		if !own {
			// XEP-0054 §3.2: forbidden (or not-allowed).
			return nil, stanza.ErrForbidden
		}
		if err := m.set(ctx, iq.To, iq.Payload); err != nil {
			return nil, err
		}
		if m.cfg.PEPConversion {
			m.toPEP(ctx, iq.To, iq.Payload)
		}
		return nil, nil
	}
	card, ok, err := m.load(ctx, iq.To)
	if err != nil {
		m.log.Error("reading a vCard failed", "user", iq.To.String(), "err", err)
		return nil, stanza.ErrInternalServerError
	}
	switch {
	case ok:
		return card, nil
	case own:
		return xmltok.NewElement(NS, "vCard"), nil
	default:
		return nil, stanza.ErrItemNotFound
	}
}

// set stores a user's vCard and refreshes the cached avatar hash.
func (m *Module) set(ctx context.Context, user jid.JID, card *xmltok.Element) error {
	b := card.Append(nil, "")
	if m.cfg.MaxSize > 0 && len(b) > m.cfg.MaxSize {
		return stanza.ErrNotAcceptable.WithText(fmt.Sprintf("vCard larger than %d bytes", m.cfg.MaxSize))
	}
	// What is stored must read back: refuse XML whose serialisation does
	// not parse (a prefix declared outside the vCard).
	if _, err := parse(b); err != nil {
		return stanza.ErrBadRequest.WithText("vCard XML cannot be stored")
	}
	hash, err := photoHash(card)
	if err != nil {
		return stanza.ErrBadRequest.WithText(err.Error())
	}
	unlock := m.locks.Lock(user)
	defer unlock()
	if len(card.Children) == 0 {
		err = m.store.Delete(ctx, user, Key)
	} else {
		err = m.store.Put(ctx, user, Key, b)
	}
	if err != nil {
		m.log.Error("storing a vCard failed", "user", user.String(), "err", err)
		return stanza.ErrInternalServerError
	}
	m.mu.Lock()
	if _, cached := m.photos[user]; cached {
		m.photos[user] = hash
	}
	m.mu.Unlock()
	return nil
}

// load reads a user's vCard.
func (m *Module) load(ctx context.Context, user jid.JID) (*xmltok.Element, bool, error) {
	b, ok, err := m.store.Get(ctx, user, Key)
	if err != nil || !ok {
		return nil, false, err
	}
	card, err := parse(b)
	if err != nil {
		return nil, false, fmt.Errorf("stored vCard: %w", err)
	}
	return card, true, nil
}

func parse(b []byte) (*xmltok.Element, error) {
	return xmltok.ParseLimits(b, NS, nil, xmltok.Limits{MaxStanzaSize: max(len(b), 1), MaxDepth: 1 << 10})
}

// photoHash returns the hex SHA-1 of the image in PHOTO/BINVAL (XEP-0153
// §3.1: of the image data, not of its base64), "" when there is none.
func photoHash(card *xmltok.Element) (string, error) {
	data, _, err := decodePhoto(card)
	if err != nil || data == nil {
		return "", err
	}
	sum := sha1.Sum(data)
	return hex.EncodeToString(sum[:]), nil
}

// decodePhoto returns the image in PHOTO/BINVAL and its TYPE (image/png
// when absent); nil when the vCard has none.
func decodePhoto(card *xmltok.Element) (data []byte, typ string, err error) {
	photo := card.Child(NS, "PHOTO")
	if photo == nil {
		return nil, "", nil
	}
	bin := photo.Child(NS, "BINVAL")
	if bin == nil {
		return nil, "", nil
	}
	// XEP-0153 §4.6 rule 5: whitespace (line breaks) is ignored.
	b64 := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, bin.Text)
	if b64 == "" {
		return nil, "", nil
	}
	data, err = base64.StdEncoding.DecodeString(b64)
	if err != nil {
		// Some clients leave out the padding.
		if data, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(b64, "=")); err != nil {
			return nil, "", errors.New("PHOTO BINVAL is not base64")
		}
	}
	typ = "image/png"
	if t := photo.Child(NS, "TYPE"); t != nil && strings.TrimSpace(t.Text) != "" {
		typ = strings.TrimSpace(t.Text)
	}
	return data, typ, nil
}

// photo returns a user's avatar hash, from the cache or the store.
func (m *Module) photo(ctx context.Context, user jid.JID) (string, error) {
	m.mu.RLock()
	hash, ok := m.photos[user]
	m.mu.RUnlock()
	if ok {
		return hash, nil
	}
	unlock := m.locks.Lock(user)
	defer unlock()
	card, found, err := m.load(ctx, user)
	if err != nil {
		return "", err
	}
	if found {
		if hash, err = photoHash(card); err != nil {
			hash = "" // stored before the check existed: advertise none
		}
	}
	m.mu.Lock()
	m.photos[user] = hash
	m.mu.Unlock()
	return hash, nil
}

func (m *Module) forget(user jid.JID) {
	m.mu.Lock()
	delete(m.photos, user)
	m.mu.Unlock()
}

// userSend adds the avatar hash to a presence broadcast without one
// (XEP-0153 §3.1): available presence with no to. The client's own
// update child, even an empty one (§4.1 rule 2: not ready yet), is left
// as it is.
func (m *Module) userSend(ctx context.Context, from module.SessionInfo, st *stanza.Stanza) *stanza.Stanza {
	if st.Kind != stanza.Presence || st.Type != "" || !st.To.IsZero() {
		return st
	}
	el, err := st.Element()
	if err != nil || el.Child(NSUpdate, "x") != nil {
		return st
	}
	hash, err := m.photo(ctx, from.JID.Bare())
	if err != nil {
		m.log.Error("reading a vCard failed", "user", from.JID.Bare().String(), "err", err)
		return st
	}
	c := el.Copy()
	c.Add(xmltok.NewElement(NSUpdate, "x").Add(xmltok.NewElement(NSUpdate, "photo").SetText(hash)))
	return stanza.FromElement(c)
}

func (m *Module) userRemoved(ctx context.Context, user jid.JID) {
	m.forget(user)
	if err := m.store.RemoveUser(ctx, user); err != nil {
		m.log.Error("removing user data failed", "user", user.String(), "err", err)
	}
}
