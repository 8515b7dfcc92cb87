// Package contactaddresses is the contact_addresses module (XEP-0157):
// the server's disco#info carries a XEP-0128 form of FORM_TYPE
// http://jabber.org/network/serverinfo listing the addresses of the
// service's abuse desk, administrators, and so on, from the config. It
// checks each address when the config is loaded and announces the form
// through the host; disco renders it. It must not answer any query
// itself.
//
// It is a module of its own rather than settings of disco so that disco
// stays a generic renderer of what modules announce (it names no
// feature or form), and so that it can be switched off and configured
// like every other XEP.
//
// Addresses are URIs: mailto: with an e-mail address (RFC 6068), xmpp:
// with a JID (RFC 5122), or https: with a host (RFC 9110). Other schemes,
// plain http: among them, are refused: people follow these links to
// report abuse and security problems, and a page that anyone on the
// path can rewrite is not where that should happen.
package contactaddresses

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// FormType is the FORM_TYPE of XEP-0157 §3.
const FormType = "http://jabber.org/network/serverinfo"

// Config is [modules.contact_addresses]: the addresses for each role.
// Keys left empty are not announced; with none at all there is no form.
type Config struct {
	Abuse    []string `toml:"abuse"`
	Admin    []string `toml:"admin"`
	Feedback []string `toml:"feedback"`
	Sales    []string `toml:"sales"`
	Security []string `toml:"security"`
	Status   []string `toml:"status"`
	Support  []string `toml:"support"`
}

// role is one key of the config and the form field it fills.
type role struct {
	key, field string
	values     []string
}

// fields pairs each key with its registered field, in the order of the
// XEP-0157 registry (status-addresses, a later addition to it, before
// support-addresses in alphabetical order).
func (c *Config) fields() []role {
	return []role{
		{"abuse", "abuse-addresses", c.Abuse},
		{"admin", "admin-addresses", c.Admin},
		{"feedback", "feedback-addresses", c.Feedback},
		{"sales", "sales-addresses", c.Sales},
		{"security", "security-addresses", c.Security},
		{"status", "status-addresses", c.Status},
		{"support", "support-addresses", c.Support},
	}
}

// Validate checks every address and names the key of each bad one.
func (c *Config) Validate() error {
	var errs []error
	for _, f := range c.fields() {
		for i, v := range f.values {
			if err := CheckURI(v); err != nil {
				errs = append(errs, fmt.Errorf("modules.contact_addresses.%s[%d]: %q: %w", f.key, i, v, err))
			}
		}
	}
	return errors.Join(errs...)
}

// CheckURI reports whether s is an address this module announces.
func CheckURI(s string) error {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" {
		return errors.New("not a URI (want mailto:, xmpp: or https:)")
	}
	switch strings.ToLower(scheme) {
	case "mailto":
		// RFC 6068: the address before any ?headers, percent-encoded.
		addr, _, _ := strings.Cut(rest, "?")
		addr, err := url.PathUnescape(addr)
		if err != nil {
			return fmt.Errorf("bad percent-encoding: %v", err)
		}
		a, err := mail.ParseAddress(addr)
		if err != nil || a.Name != "" || a.Address != addr {
			return errors.New("mailto: needs one plain e-mail address")
		}
	case "xmpp":
		// RFC 5122 §2.2: xmpp:node@domain/resource?query#fragment; the
		// authority form (xmpp://) names the sender, not a contact.
		if strings.HasPrefix(rest, "//") {
			return errors.New("xmpp: needs a JID, not an authority (xmpp://)")
		}
		addr, _, _ := strings.Cut(rest, "?")
		addr, _, _ = strings.Cut(addr, "#")
		addr, err := url.PathUnescape(addr)
		if err != nil {
			return fmt.Errorf("bad percent-encoding: %v", err)
		}
		if _, err := jid.Parse(addr); err != nil || addr == "" {
			return errors.New("xmpp: needs a valid JID")
		}
	case "https":
		u, err := url.Parse(s)
		if err != nil {
			return err
		}
		if u.Host == "" || u.Opaque != "" || u.User != nil {
			return errors.New("https: needs a host (https://host/...) and no user information")
		}
	default:
		return fmt.Errorf("scheme %q not allowed (want mailto:, xmpp: or https:)", scheme)
	}
	return nil
}

func init() {
	module.Register(module.Info{
		Name:   "contact_addresses",
		Config: func() any { return &Config{} },
		New:    New,
	})
}

// New provisions the module: it announces the form when any address is
// configured.
func New(h module.Host, cfg any) (module.Instance, error) {
	c := cfg.(*Config)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	form := module.InfoForm{FormType: FormType}
	for _, f := range c.fields() {
		if len(f.values) > 0 {
			form.Fields = append(form.Fields, module.FormField{Var: f.field, Type: "list-multi", Values: append([]string(nil), f.values...)})
		}
	}
	if len(form.Fields) > 0 {
		h.AddInfoForm(module.Server, form)
	}
	return struct{}{}, nil
}
