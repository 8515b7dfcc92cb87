package clientapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

type fakeCore struct{ accounts map[string]auth.Account }

func (f *fakeCore) IsLocal(d string) bool { return d == "localhost" }
func (f *fakeCore) VerifyPassword(_ context.Context, d, u, p string) (bool, error) {
	a, ok := f.accounts[u+"@"+d]
	return ok && auth.Verify(a, p), nil
}
func (f *fakeCore) SendAs(context.Context, jid.JID, *stanza.Stanza) error { return nil }
func (f *fakeCore) GetAccount(_ context.Context, d, u string) (auth.Account, error) {
	a, ok := f.accounts[u+"@"+d]
	if !ok {
		return auth.Account{}, auth.ErrNotFound
	}
	return a, nil
}

func newTestAPI(t *testing.T, now *time.Time) (*API, *fakeCore) {
	t.Helper()
	a, err := auth.NewAccount("localhost", "alice", "pw", 4096)
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeCore{accounts: map[string]auth.Account{"alice@localhost": a}}
	return New(Options{Core: fc, Accounts: fc, Key: make([]byte, 32), TokenTTL: time.Hour, Now: func() time.Time { return *now }}), fc
}

func TestTokenLifetime(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	api, fc := newTestAPI(t, &now)
	u, _ := jid.Parse("alice@localhost")
	tok, err := api.issue(context.Background(), u, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := api.verifyToken(context.Background(), tok); err != nil || got != u {
		t.Fatalf("fresh token: %v %v", got, err)
	}
	now = now.Add(time.Hour)
	if _, err := api.verifyToken(context.Background(), tok); err != errExpired {
		t.Fatalf("expired token: %v", err)
	}
	now = now.Add(-time.Minute)
	// Another key signs other tokens.
	other := New(Options{Core: fc, Accounts: fc, Key: []byte(strings.Repeat("k", 32)), Now: api.opts.Now})
	if _, err := other.verifyToken(context.Background(), tok); err != errBadToken {
		t.Fatalf("token of another key: %v", err)
	}
	for _, bad := range []string{"", "v1.", "v1.x.y", tok + "x", "v2" + tok[2:], strings.Replace(tok, ".", ".e30", 1)} {
		if _, err := api.verifyToken(context.Background(), bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	// A new password is a new credential version.
	a, _ := auth.NewAccount("localhost", "alice", "pw", 4096)
	fc.accounts["alice@localhost"] = a
	if _, err := api.verifyToken(context.Background(), tok); err != errBadToken {
		t.Fatalf("token after a password change: %v", err)
	}
}

func TestExpiredTokenAnswers401(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	api, _ := newTestAPI(t, &now)
	req := httptest.NewRequest("POST", "/tokens", nil)
	req.SetBasicAuth("alice@localhost", "pw")
	w := httptest.NewRecorder()
	api.ServeHTTP(w, req)
	if w.Code != 201 {
		t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	tok := w.Body.String()
	tok = tok[strings.Index(tok, "v1."):]
	tok = tok[:strings.IndexByte(tok, '"')]
	now = now.Add(2 * time.Hour)
	req = httptest.NewRequest("GET", "/contacts", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w = httptest.NewRecorder()
	api.ServeHTTP(w, req)
	ch := strings.Join(w.Result().Header.Values("WWW-Authenticate"), ";")
	if w.Code != http.StatusUnauthorized || !strings.Contains(ch, `error="invalid_token"`) || !strings.Contains(w.Body.String(), "expired") {
		t.Fatalf("expired: %d %q %s", w.Code, ch, w.Body)
	}
}

func TestLoadKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "k")
	k1, err := LoadKey(p)
	if err != nil || len(k1) != keySize {
		t.Fatalf("create: %v", err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	k2, err := LoadKey(p)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("reload: %v", err)
	}
	os.WriteFile(p, []byte("short"), 0o600)
	if _, err := LoadKey(p); err == nil {
		t.Fatal("short key accepted")
	}
}
