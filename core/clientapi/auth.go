package clientapi

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Authentication. A request carries either HTTP Basic credentials (RFC
// 7617) — the account's bare JID as the user-id and its password — or a
// bearer token (RFC 6750) that POST /tokens issued. A token is
//
//	"v1." base64url(payload) "." base64url(HMAC-SHA-256(key, payload))
//
// where payload is JSON {"sub": bare JID, "exp": Unix seconds, "cv":
// credential version}. The credential version is an HMAC of the
// account's stored SCRAM salts and keys: a password change (new salt) or
// the account's removal makes every token issued before it invalid, with
// no revocation list. The key lives in a file under the data directory,
// so tokens survive a restart; deleting the file revokes every token.

const tokenPrefix = "v1."

// Realm is the realm of the WWW-Authenticate challenges.
const Realm = "meridian"

type ctxKey struct{}

// user returns the authenticated account of a request.
func user(r *http.Request) jid.JID { return r.Context().Value(ctxKey{}).(jid.JID) }

// authed wraps a handler that needs an authenticated user: Basic or
// bearer.
func (a *API) authed(h http.HandlerFunc) http.HandlerFunc {
	return a.authenticate(h, true)
}

// basicOnly wraps a handler that needs the password (POST /tokens: a
// token does not extend itself).
func (a *API) basicOnly(h http.HandlerFunc) http.HandlerFunc {
	return a.authenticate(h, false)
}

func (a *API) authenticate(h http.HandlerFunc, bearerOK bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var (
			u   jid.JID
			err error
		)
		authz := r.Header.Get("Authorization")
		scheme, cred, _ := strings.Cut(authz, " ")
		switch {
		case strings.EqualFold(scheme, "Basic"):
			u, err = a.basic(ctx, r)
		case strings.EqualFold(scheme, "Bearer") && bearerOK:
			u, err = a.verifyToken(ctx, strings.TrimSpace(cred))
			if err != nil {
				a.challenge(w, true, "invalid_token", err.Error())
				return
			}
		default:
			err = errMissing
		}
		if errors.Is(err, errBackend) {
			a.opts.Logger.Error("client API: checking credentials failed", "err", err)
			fail(w, http.StatusInternalServerError, "cannot check credentials")
			return
		}
		if err != nil {
			a.challenge(w, bearerOK, "", err.Error())
			return
		}
		h(w, r.WithContext(context.WithValue(ctx, ctxKey{}, u)))
	}
}

var (
	errMissing    = errors.New("authentication required")
	errBadCreds   = errors.New("bad credentials")
	errBadToken   = errors.New("invalid token")
	errExpired    = errors.New("token expired")
	errBackend    = errors.New("credential store failed")
	errNotAccount = errors.New("not an account of this server")
)

// challenge answers 401 with the schemes the endpoint accepts.
func (a *API) challenge(w http.ResponseWriter, bearer bool, bearerError, msg string) {
	h := w.Header()
	h.Add("WWW-Authenticate", `Basic realm="`+Realm+`", charset="UTF-8"`)
	if bearer {
		c := `Bearer realm="` + Realm + `"`
		if bearerError != "" {
			c += `, error="` + bearerError + `"`
		}
		h.Add("WWW-Authenticate", c)
	}
	fail(w, http.StatusUnauthorized, msg)
}

// account parses the user-id of Basic credentials or a token's subject:
// the bare JID of an account of a served domain.
func (a *API) account(s string) (jid.JID, error) {
	u, err := jid.Parse(s)
	if err != nil || u.Local() == "" || !u.IsBare() || !a.opts.Core.IsLocal(u.Domain()) {
		return jid.JID{}, errNotAccount
	}
	return u, nil
}

func (a *API) basic(ctx context.Context, r *http.Request) (jid.JID, error) {
	name, pass, ok := r.BasicAuth()
	if !ok {
		return jid.JID{}, errMissing
	}
	u, err := a.account(name)
	if err != nil {
		return jid.JID{}, errBadCreds
	}
	ok, err = a.opts.Core.VerifyPassword(ctx, u.Domain(), u.Local(), pass)
	if err != nil {
		return jid.JID{}, fmt.Errorf("%w: %v", errBackend, err)
	}
	if !ok {
		return jid.JID{}, errBadCreds
	}
	return u, nil
}

type tokenPayload struct {
	Sub string `json:"sub"`
	Exp int64  `json:"exp"`
	CV  string `json:"cv"`
}

// credentialVersion changes whenever the account's password does.
func (a *API) credentialVersion(acc auth.Account) string {
	m := hmac.New(sha256.New, a.opts.Key)
	m.Write([]byte("meridian client-api credential version\x00"))
	for _, c := range [][]byte{acc.SHA256.Salt, acc.SHA256.StoredKey, acc.SHA1.Salt, acc.SHA1.StoredKey} {
		fmt.Fprintf(m, "%d:", len(c))
		m.Write(c)
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

func (a *API) sign(payload []byte) []byte {
	m := hmac.New(sha256.New, a.opts.Key)
	m.Write(payload)
	return m.Sum(nil)
}

// issue signs a token for u valid until exp.
func (a *API) issue(ctx context.Context, u jid.JID, exp time.Time) (string, error) {
	acc, err := a.opts.Accounts.GetAccount(ctx, u.Domain(), u.Local())
	if err != nil {
		return "", err
	}
	p, _ := json.Marshal(tokenPayload{Sub: u.String(), Exp: exp.Unix(), CV: a.credentialVersion(acc)})
	enc := base64.RawURLEncoding
	return tokenPrefix + enc.EncodeToString(p) + "." + enc.EncodeToString(a.sign(p)), nil
}

// verifyToken checks a bearer token: signature, expiry, and that the
// account still has the credentials it was issued for.
func (a *API) verifyToken(ctx context.Context, tok string) (jid.JID, error) {
	body, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok {
		return jid.JID{}, errBadToken
	}
	pb, sb, ok := strings.Cut(body, ".")
	enc := base64.RawURLEncoding
	p, err1 := enc.DecodeString(pb)
	sig, err2 := enc.DecodeString(sb)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(sig, a.sign(p)) {
		return jid.JID{}, errBadToken
	}
	var tp tokenPayload
	if err := json.Unmarshal(p, &tp); err != nil {
		return jid.JID{}, errBadToken
	}
	if a.opts.Now().Unix() >= tp.Exp {
		return jid.JID{}, errExpired
	}
	u, err := a.account(tp.Sub)
	if err != nil {
		return jid.JID{}, errBadToken
	}
	acc, err := a.opts.Accounts.GetAccount(ctx, u.Domain(), u.Local())
	if errors.Is(err, auth.ErrNotFound) {
		return jid.JID{}, errBadToken
	}
	if err != nil {
		return jid.JID{}, fmt.Errorf("%w: %v", errBackend, err)
	}
	if !hmac.Equal([]byte(a.credentialVersion(acc)), []byte(tp.CV)) {
		return jid.JID{}, errBadToken
	}
	return u, nil
}

// tokenReply is the answer of POST /tokens.
type tokenReply struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	u := user(r)
	exp := a.opts.Now().Add(a.opts.TokenTTL).Truncate(time.Second).UTC()
	tok, err := a.issue(r.Context(), u, exp)
	if err != nil {
		a.opts.Logger.Error("client API: issuing a token failed", "user", u.String(), "err", err)
		fail(w, http.StatusInternalServerError, "cannot issue a token")
		return
	}
	reply(w, http.StatusCreated, tokenReply{Token: tok, ExpiresAt: exp})
}

// keySize is the length of the token signing key.
const keySize = 32

// LoadKey reads the token signing key from path, creating the file
// (mode 0600) with a new random key when it does not exist.
func LoadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < keySize {
			return nil, fmt.Errorf("client api: key file %s is shorter than %d bytes", path, keySize)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("client api: %w", err)
	}
	b = make([]byte, keySize)
	rand.Read(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadKey(path) // another process wrote it first
	}
	if err != nil {
		return nil, fmt.Errorf("client api: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("client api: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("client api: %w", err)
	}
	return b, nil
}
