package vcard

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"

	"github.com/meridian-xmpp/meridian/core/mod/pep"
	"github.com/meridian-xmpp/meridian/internal/userlock"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// XEP-0398: a user's avatar is one picture whether a client sets it in
// the vCard (XEP-0153) or publishes it with PEP (XEP-0084). A vCard set
// with a photo publishes the avatar's data and metadata; a metadata
// publication rewrites the vCard's PHOTO. Changes this module makes
// itself do not bounce back.

// Namespaces.
const (
	NSConversion     = "urn:xmpp:pep-vcard-conversion:0"
	NSAvatarData     = "urn:xmpp:avatar:data"
	NSAvatarMetadata = "urn:xmpp:avatar:metadata"
)

type avatars struct {
	once    sync.Once
	pep     *pep.Module
	syncing userlock.Busy // users whose avatar this module is rewriting
}

// watchPEP finds the PEP module on first use (it may be provisioned after
// this one) and follows its avatar node.
func (m *Module) watchPEP() *pep.Module {
	a := &m.avatars
	a.once.Do(func() {
		a.pep = pep.Lookup(m.h)
		if a.pep != nil {
			a.pep.Observe(m.fromPEP)
		}
	})
	return a.pep
}

// toPEP publishes the photo of a vCard just stored as the user's PEP
// avatar, or an empty metadata item (avatar switched off) when the vCard
// has none and a PEP avatar was there.
func (m *Module) toPEP(ctx context.Context, user jid.JID, card *xmltok.Element) {
	p := m.watchPEP()
	if p == nil || !m.avatars.syncing.Enter(user) {
		return
	}
	defer m.avatars.syncing.Leave(user)
	data, typ, _ := decodePhoto(card)
	if data == nil {
		items, err := p.Items(ctx, user, NSAvatarMetadata, 1)
		if err != nil || len(items) == 0 || !strings.Contains(string(items[0].Payload), "<info") {
			return
		}
		if _, err := p.Publish(ctx, user, NSAvatarMetadata, "", xmltok.NewElement(NSAvatarMetadata, "metadata"), nil); err != nil {
			m.log.Error("publishing an empty avatar failed", "user", user.String(), "err", err)
		}
		return
	}
	sum := sha1.Sum(data)
	id := hex.EncodeToString(sum[:])
	if items, err := p.Items(ctx, user, NSAvatarMetadata, 1); err == nil && len(items) == 1 && items[0].ID == id {
		return // the PEP avatar is this picture already
	}
	d := xmltok.NewElement(NSAvatarData, "data").SetText(base64.StdEncoding.EncodeToString(data))
	if _, err := p.Publish(ctx, user, NSAvatarData, id, d, nil); err != nil {
		m.log.Error("publishing avatar data failed", "user", user.String(), "err", err)
		return
	}
	info := xmltok.NewElement(NSAvatarMetadata, "info",
		xmltok.Attr{Name: "id", Value: id}, xmltok.Attr{Name: "bytes", Value: strconv.Itoa(len(data))}, xmltok.Attr{Name: "type", Value: typ})
	if _, err := p.Publish(ctx, user, NSAvatarMetadata, id, xmltok.NewElement(NSAvatarMetadata, "metadata").Add(info), nil); err != nil {
		m.log.Error("publishing avatar metadata failed", "user", user.String(), "err", err)
	}
}

// fromPEP follows avatar metadata publications into the vCard.
func (m *Module) fromPEP(ctx context.Context, ev pep.Event) {
	if ev.Node != NSAvatarMetadata || ev.Published == nil || len(ev.Published.Payload) == 0 {
		return
	}
	if !m.avatars.syncing.Enter(ev.Owner) {
		return
	}
	defer m.avatars.syncing.Leave(ev.Owner)
	meta, err := xmltok.Parse(ev.Published.Payload, "", nil)
	if err != nil || meta.Space != NSAvatarMetadata || meta.Local != "metadata" {
		return
	}
	card, _, err := m.load(ctx, ev.Owner)
	if err != nil {
		m.log.Error("reading a vCard failed", "user", ev.Owner.String(), "err", err)
		return
	}
	if card == nil {
		card = xmltok.NewElement(NS, "vCard")
	} else {
		card = card.Copy()
	}
	kept := card.Children[:0]
	for _, c := range card.Children {
		if !(c.Space == NS && c.Local == "PHOTO") {
			kept = append(kept, c)
		}
	}
	card.Children = kept
	// The first info the server can embed: one whose data is in PEP
	// (not a URL-only avatar).
	for _, info := range meta.ChildrenNamed(NSAvatarMetadata, "info") {
		if info.Attr("url") != "" {
			continue
		}
		it, ok, err := m.avatars.pep.Item(ctx, ev.Owner, NSAvatarData, info.Attr("id"))
		if err != nil || !ok || len(it.Payload) == 0 {
			continue
		}
		d, err := xmltok.Parse(it.Payload, "", nil)
		if err != nil || d.Space != NSAvatarData {
			continue
		}
		typ := info.Attr("type")
		if typ == "" {
			typ = "image/png"
		}
		photo := xmltok.NewElement(NS, "PHOTO").Add(
			xmltok.NewElement(NS, "TYPE").SetText(typ),
			xmltok.NewElement(NS, "BINVAL").SetText(strings.TrimSpace(d.Text)))
		card.Add(photo)
		break
	}
	if err := m.set(ctx, ev.Owner, card); err != nil {
		m.log.Info("avatar not copied into the vCard", "user", ev.Owner.String(), "err", err)
	}
}
