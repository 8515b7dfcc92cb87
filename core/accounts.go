package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/sasl"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// Credentials implements link.Core.
func (c *Core) Credentials(ctx context.Context, domain, username, hash string) (sasl.Credentials, error) {
	if !c.IsLocal(domain) {
		return sasl.Credentials{}, sasl.ErrUnknownUser
	}
	a, err := c.stores.Accounts.GetAccount(ctx, domain, username)
	if errors.Is(err, auth.ErrNotFound) {
		return sasl.Credentials{}, sasl.ErrUnknownUser
	}
	if err != nil {
		return sasl.Credentials{}, err
	}
	if hash == "SHA-1" {
		return a.SHA1, nil
	}
	return a.SHA256, nil
}

// VerifyPassword implements link.Core.
func (c *Core) VerifyPassword(ctx context.Context, domain, username, password string) (bool, error) {
	if !c.IsLocal(domain) {
		return false, nil
	}
	a, err := c.stores.Accounts.GetAccount(ctx, domain, username)
	if errors.Is(err, auth.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return auth.Verify(a, password), nil
}

// CreateUser implements module.Host.
func (c *Core) CreateUser(ctx context.Context, bare jid.JID, password string) error {
	if !c.IsLocal(bare.Domain()) || bare.Local() == "" || !bare.IsBare() {
		return fmt.Errorf("core: %q is not an account of a served domain", bare)
	}
	a, err := auth.NewAccount(bare.Domain(), bare.Local(), password, c.opts.ScramIterations)
	if err != nil {
		return err
	}
	if err := c.stores.Accounts.CreateAccount(ctx, a); err != nil {
		return err
	}
	for _, h := range c.hooks {
		if h.UserCreated != nil {
			h.UserCreated(ctx, bare)
		}
	}
	return nil
}

// SetPassword implements module.Host.
func (c *Core) SetPassword(ctx context.Context, bare jid.JID, password string) error {
	s1, s256, err := auth.Credentials(password, c.opts.ScramIterations)
	if err != nil {
		return err
	}
	return c.stores.Accounts.SetCredentials(ctx, bare.Domain(), bare.Local(), s1, s256)
}

// RemoveUser implements module.Host: the account goes first, so nobody
// logs in while its data is removed; then every module drops its data and
// the user's sessions end with <not-authorized/>.
func (c *Core) RemoveUser(ctx context.Context, bare jid.JID) error {
	if err := c.stores.Accounts.DeleteAccount(ctx, bare.Domain(), bare.Local()); err != nil {
		return err
	}
	for _, h := range c.hooks {
		if h.UserRemoved != nil {
			h.UserRemoved(ctx, bare)
		}
	}
	c.kick(bare, &stanza.StreamError{Condition: stanza.NotAuthorized, Text: "account removed"})
	return nil
}

// PreAuth implements link.Core.
func (c *Core) PreAuth(ctx context.Context, cl link.PreAuthClient, iq *stanza.Stanza) *stanza.Stanza {
	server := jid.JID{}
	if d, err := jid.New("", cl.Domain, ""); err == nil {
		server = d
	}
	p := iq.Payload()
	if iq.Kind != stanza.IQ || (iq.Type != "get" && iq.Type != "set") || p == nil {
		return stanza.ErrorReply(iq, stanza.ErrServiceUnavailable, jid.JID{})
	}
	h, ok := c.preAuthIQ[p.Space]
	if !ok {
		return stanza.ErrorReply(iq, stanza.ErrServiceUnavailable, jid.JID{})
	}
	res, err := h(ctx, cl.Domain, cl.RemoteAddr, iqOf(iq, p, server))
	if err != nil {
		return stanza.ErrorReply(iq, asStanzaError(err), jid.JID{})
	}
	return stanza.Result(iq, res, jid.JID{})
}

// ListUsers lists the accounts of a served domain.
func (c *Core) ListUsers(ctx context.Context, domain string) ([]string, error) {
	if !c.IsLocal(domain) {
		return nil, fmt.Errorf("core: domain %q is not served here", domain)
	}
	return c.stores.Accounts.ListAccounts(ctx, domain)
}
