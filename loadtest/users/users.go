// Package users provides the accounts of a load run: generated names
// (<prefix><n>) that exist already, are registered in-band (XEP-0077) or
// created through Meridian's admin API, or accounts read from a file for
// servers provisioned by other means (ejabberdctl, prosodyctl). It must
// not log anyone in.
package users

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// User is one account.
type User struct {
	Local    string
	Domain   string
	Password string
}

// JID is the user's bare JID.
func (u User) JID() string { return u.Local + "@" + u.Domain }

// Spec says where a run's accounts come from.
type Spec struct {
	// From: "existing" (accounts <Prefix><n> exist), "ibr" (register
	// them in-band), "admin:/path/admin.sock" or "admin:http://host:port"
	// (Meridian's admin API), "file:/path" (lines "jid password").
	From     string
	Prefix   string
	Password string
	Domain   string
	Count    int // how many users
	Offset   int // first user number (or line) of this load node
}

// Source lists a run's accounts and makes sure they exist.
type Source interface {
	// List returns the accounts, in order.
	List() ([]User, error)
	// Create makes sure one account exists; a no-op for accounts that
	// are assumed or read from a file. ip is the source address to
	// connect from (nil for any).
	Create(ctx context.Context, u User, ip net.IP) error
}

// Registrar registers one account in-band; the load engine provides it
// so that registration uses the run's transport and options.
type Registrar func(ctx context.Context, u User, ip net.IP) error

// Open returns the source a Spec names.
func Open(s Spec, register Registrar) (Source, error) {
	if s.Count <= 0 {
		return nil, fmt.Errorf("users: count must be positive")
	}
	switch {
	case s.From == "" || s.From == "existing":
		return generated{s, nil}, nil
	case s.From == "ibr":
		if register == nil {
			return nil, fmt.Errorf("users: ibr needs a registrar")
		}
		return generated{s, func(ctx context.Context, u User, ip net.IP) error { return register(ctx, u, ip) }}, nil
	case strings.HasPrefix(s.From, "admin:"):
		a, err := newAdmin(strings.TrimPrefix(s.From, "admin:"))
		if err != nil {
			return nil, err
		}
		return generated{s, func(ctx context.Context, u User, _ net.IP) error { return a.create(ctx, u) }}, nil
	case strings.HasPrefix(s.From, "file:"):
		return file{s, strings.TrimPrefix(s.From, "file:")}, nil
	}
	return nil, fmt.Errorf("users: --users-from %q: want existing, ibr, admin:SOCKET|URL or file:PATH", s.From)
}

// generated are the accounts <prefix><n>.
type generated struct {
	s      Spec
	create func(ctx context.Context, u User, ip net.IP) error
}

func (g generated) List() ([]User, error) {
	if g.s.Prefix == "" {
		return nil, fmt.Errorf("users: empty user prefix")
	}
	us := make([]User, g.s.Count)
	for i := range us {
		us[i] = User{Local: g.s.Prefix + strconv.Itoa(g.s.Offset+i), Domain: g.s.Domain, Password: g.s.Password}
	}
	return us, nil
}

func (g generated) Create(ctx context.Context, u User, ip net.IP) error {
	if g.create == nil {
		return nil
	}
	return g.create(ctx, u, ip)
}
