package vcard

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/internal/modtest"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
)

func setup(t *testing.T, cfg Config) (*modtest.Host, *modtest.UserData, *Module) {
	t.Helper()
	h := modtest.New(time.Unix(0, 0), "example.com")
	s := modtest.NewUserData()
	h.SetStore("userdata", s)
	inst, err := New(h, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.AddUser(modtest.JID(t, alice), "pw")
	h.AddUser(modtest.JID(t, bob), "pw")
	return h, s, inst.(*Module)
}

func xml(t *testing.T, s string) *xmltok.Element {
	t.Helper()
	el, err := xmltok.Parse([]byte(s), stanza.NSClient, nil)
	if err != nil {
		t.Fatal(err)
	}
	return el
}

var image = []byte("\x89PNG\r\n\x1a\n not really an image, but bytes all the same")

func photoCard() string {
	b64 := base64.StdEncoding.EncodeToString(image)
	// Line breaks as RFC 2045 writes them (XEP-0153 §4.5: ignored).
	return "<vCard xmlns='vcard-temp'><FN>Alice</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>" +
		b64[:20] + "\n" + b64[20:] + "\n</BINVAL></PHOTO></vCard>"
}

func imageHash() string {
	sum := sha1.Sum(image)
	return hex.EncodeToString(sum[:])
}

func TestFeatures(t *testing.T) {
	h, _, _ := setup(t, Config{})
	for _, target := range []module.Target{module.Server, module.Account} {
		if f := h.Features(target); len(f) != 1 || f[0] != NS {
			t.Errorf("target %d: features %v", target, f)
		}
	}
}

func TestGetSet(t *testing.T) {
	h, s, _ := setup(t, Config{MaxSize: 64 << 10})
	ctx := context.Background()
	// XEP-0054 §3.1: no vCard yet, own → an empty vCard.
	for _, to := range []string{"", alice} {
		res, err := h.IQ(ctx, t, alice+"/a", to, "get", xmltok.NewElement(NS, "vCard"))
		if err != nil || res.String() != "<vCard xmlns='vcard-temp'/>" {
			t.Fatalf("own empty vCard (to %q): %v %v", to, res, err)
		}
	}
	// §3.3: another user's missing vCard is an error.
	if _, err := h.IQ(ctx, t, bob+"/b", alice, "get", xmltok.NewElement(NS, "vCard")); modtest.Condition(err) != "item-not-found" {
		t.Fatalf("other's missing vCard: %v", err)
	}
	card := xml(t, photoCard())
	if res, err := h.IQ(ctx, t, alice+"/a", "", "set", card); err != nil || res != nil {
		t.Fatalf("set: %v %v", res, err)
	}
	want := card.String()
	for _, q := range []struct{ from, to string }{{alice + "/a", ""}, {alice + "/a", alice}, {bob + "/b", alice}} {
		res, err := h.IQ(ctx, t, q.from, q.to, "get", xmltok.NewElement(NS, "vCard"))
		if err != nil || res.String() != want {
			t.Fatalf("get from %s to %q: %v %v", q.from, q.to, res, err)
		}
	}
	// An empty vCard clears it.
	if _, err := h.IQ(ctx, t, alice+"/a", alice, "set", xmltok.NewElement(NS, "vCard")); err != nil {
		t.Fatal(err)
	}
	if n := s.Keys(modtest.JID(t, alice)); n != 0 {
		t.Errorf("an empty vCard left %d keys", n)
	}
	if _, err := h.IQ(ctx, t, bob+"/b", alice, "get", xmltok.NewElement(NS, "vCard")); modtest.Condition(err) != "item-not-found" {
		t.Fatalf("cleared vCard: %v", err)
	}
}

func TestBadRequests(t *testing.T) {
	h, s, _ := setup(t, Config{MaxSize: 200})
	ctx := context.Background()
	big := "<vCard xmlns='vcard-temp'><DESC>" + strings.Repeat("x", 200) + "</DESC></vCard>"
	cases := []struct {
		name, from, to, typ, payload, want string
	}{
		{"set another user's", bob + "/b", alice, "set", "<vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard>", "forbidden"},
		{"over max_size", alice + "/a", "", "set", big, "not-acceptable"},
		{"BINVAL not base64", alice + "/a", "", "set", "<vCard xmlns='vcard-temp'><PHOTO><BINVAL>!!!*</BINVAL></PHOTO></vCard>", "bad-request"},
		{"not a vCard", alice + "/a", "", "get", "<vcard xmlns='vcard-temp'/>", "bad-request"},
		{"no such user", alice + "/a", "nobody@example.com", "get", "<vCard xmlns='vcard-temp'/>", "service-unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h.IQ(ctx, t, tc.from, tc.to, tc.typ, xml(t, tc.payload))
			if got := modtest.Condition(err); got != tc.want {
				t.Errorf("got %q (%v), want %s", got, res, tc.want)
			}
		})
	}
	if n := s.Keys(modtest.JID(t, alice)); n != 0 {
		t.Errorf("refused sets stored %d keys", n)
	}
	// The limit counts the vCard's XML: one that fits is stored.
	if _, err := h.IQ(ctx, t, alice+"/a", "", "set", xml(t, "<vCard xmlns='vcard-temp'><FN>ok</FN></vCard>")); err != nil {
		t.Fatal(err)
	}
	// A store that fails is internal-server-error, never a made-up answer.
	s.SetErr(errors.New("disk on fire"))
	for _, typ := range []string{"get", "set"} {
		if _, err := h.IQ(ctx, t, alice+"/a", "", typ, xmltok.NewElement(NS, "vCard")); modtest.Condition(err) != "internal-server-error" {
			t.Errorf("%s with a failing store: %v", typ, err)
		}
	}
}

func TestConfig(t *testing.T) {
	h := modtest.New(time.Unix(0, 0), "example.com")
	h.SetStore("userdata", modtest.NewUserData())
	if _, err := New(h, &Config{MaxSize: -1}); err == nil || !strings.Contains(err.Error(), "modules.vcard.max_size") {
		t.Errorf("negative max_size: %v", err)
	}
	if _, err := New(modtest.New(time.Unix(0, 0), "example.com"), &Config{}); err == nil {
		t.Error("New without a userdata store succeeded")
	}
}

// send runs the UserSend hooks the way the core does.
func send(h *modtest.Host, from module.SessionInfo, st *stanza.Stanza) *stanza.Stanza {
	for _, hk := range h.RunHooks() {
		if hk.UserSend != nil {
			if st = hk.UserSend(context.Background(), from, st); st == nil {
				return nil
			}
		}
	}
	return st
}

func presence(t *testing.T, s string) *stanza.Stanza {
	return stanza.FromElement(xml(t, s))
}

func TestPresenceHash(t *testing.T) {
	h, _, _ := setup(t, Config{})
	ctx := context.Background()
	a := module.SessionInfo{JID: modtest.JID(t, alice+"/a")}
	h.AddSession(a)

	// No vCard: an empty photo (XEP-0153 §4.1 rule 3).
	out := send(h, a, presence(t, "<presence from='alice@example.com/a'><show>away</show></presence>"))
	const empty = "<presence from='alice@example.com/a'><show>away</show><x xmlns='vcard-temp:x:update'><photo/></x></presence>"
	if string(out.Bytes) != empty || out.Kind != stanza.Presence || out.From != a.JID {
		t.Fatalf("no vCard: %s", out.Bytes)
	}

	// A photo is set: the next broadcast carries its hash, the cached
	// entry being refreshed by the set.
	if _, err := h.IQ(ctx, t, alice+"/a", "", "set", xml(t, photoCard())); err != nil {
		t.Fatal(err)
	}
	out = send(h, a, presence(t, "<presence from='alice@example.com/a'/>"))
	want := "<presence from='alice@example.com/a'><x xmlns='vcard-temp:x:update'><photo>" + imageHash() + "</photo></x></presence>"
	if string(out.Bytes) != want {
		t.Fatalf("with a photo:\n got %s\nwant %s", out.Bytes, want)
	}

	// Left alone: a client's own update child (even an empty one), and
	// anything that is not a presence broadcast.
	for _, s := range []string{
		"<presence from='alice@example.com/a'><x xmlns='vcard-temp:x:update'><photo>abc</photo></x></presence>",
		"<presence from='alice@example.com/a'><x xmlns='vcard-temp:x:update'/></presence>",
		"<presence from='alice@example.com/a' type='unavailable'/>",
		"<presence from='alice@example.com/a' to='bob@example.com' type='subscribe'/>",
		"<presence from='alice@example.com/a' to='room@muc.example.com/alice'/>",
		"<message from='alice@example.com/a' to='bob@example.com'><body>hi</body></message>",
	} {
		in := presence(t, s)
		if out := send(h, a, in); out != in {
			t.Errorf("changed %s into %s", s, out.Bytes)
		}
	}

	// Removing the photo: the hash goes back to empty.
	if _, err := h.IQ(ctx, t, alice+"/a", "", "set", xml(t, "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>")); err != nil {
		t.Fatal(err)
	}
	if out := send(h, a, presence(t, "<presence from='alice@example.com/a'/>")); !strings.Contains(string(out.Bytes), "<photo/>") {
		t.Fatalf("after removing the photo: %s", out.Bytes)
	}
}

// TestPresenceHashFromStore: a user whose vCard was stored before this
// session (another node run) gets its hash on the first broadcast.
func TestPresenceHashFromStore(t *testing.T) {
	h, s, _ := setup(t, Config{})
	if err := s.Put(context.Background(), modtest.JID(t, alice), Key, []byte(photoCard())); err != nil {
		t.Fatal(err)
	}
	a := module.SessionInfo{JID: modtest.JID(t, alice+"/a")}
	out := send(h, a, presence(t, "<presence from='alice@example.com/a'/>"))
	if !strings.Contains(string(out.Bytes), "<photo>"+imageHash()+"</photo>") {
		t.Fatalf("%s", out.Bytes)
	}
	// A store failure leaves the presence as it was.
	for _, hk := range h.RunHooks() {
		if hk.SessionClosed != nil {
			hk.SessionClosed(context.Background(), a, "", true)
		}
	}
	s.SetErr(errors.New("down"))
	in := presence(t, "<presence from='alice@example.com/a'/>")
	if out := send(h, a, in); out != in {
		t.Fatalf("with a failing store: %s", out.Bytes)
	}
}

func TestUserRemoved(t *testing.T) {
	h, s, _ := setup(t, Config{})
	ctx := context.Background()
	if _, err := h.IQ(ctx, t, alice+"/a", "", "set", xml(t, photoCard())); err != nil {
		t.Fatal(err)
	}
	s.Put(ctx, modtest.JID(t, alice), "other", []byte("x"))
	if err := h.RemoveUser(ctx, modtest.JID(t, alice)); err != nil {
		t.Fatal(err)
	}
	if n := s.Keys(modtest.JID(t, alice)); n != 0 {
		t.Errorf("%d keys left after removal", n)
	}
}

func TestPhotoHash(t *testing.T) {
	unpadded := strings.TrimRight(base64.StdEncoding.EncodeToString(image), "=")
	for _, tc := range []struct {
		card, hash string
		bad        bool
	}{
		{"<vCard xmlns='vcard-temp'/>", "", false},
		{"<vCard xmlns='vcard-temp'><PHOTO><EXTVAL>https://x/y.png</EXTVAL></PHOTO></vCard>", "", false},
		{"<vCard xmlns='vcard-temp'><PHOTO><BINVAL>  </BINVAL></PHOTO></vCard>", "", false},
		{"<vCard xmlns='vcard-temp'><PHOTO><BINVAL>" + unpadded + "</BINVAL></PHOTO></vCard>", imageHash(), false},
		{photoCard(), imageHash(), false},
		{"<vCard xmlns='vcard-temp'><PHOTO><BINVAL>@@@@</BINVAL></PHOTO></vCard>", "", true},
	} {
		got, err := photoHash(xml(t, tc.card))
		if got != tc.hash || (err != nil) != tc.bad {
			t.Errorf("%.60s: %q, %v", tc.card, got, err)
		}
	}
}
