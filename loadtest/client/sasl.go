package client

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	msasl "mellium.im/sasl"
)

// Mechanisms lists the SASL mechanisms the client implements.
var Mechanisms = []string{"PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"}

func mechanism(name string) (msasl.Mechanism, error) {
	switch name {
	case "", "PLAIN":
		return msasl.Plain, nil
	case "SCRAM-SHA-1":
		return msasl.ScramSha1, nil
	case "SCRAM-SHA-256":
		return msasl.ScramSha256, nil
	}
	return msasl.Mechanism{}, fmt.Errorf("unsupported SASL mechanism %q (want one of %v)", name, Mechanisms)
}

// auth runs SASL (RFC 6120 §6) and restarts the stream.
func (c *Conn) auth() error {
	name := c.opts.Mechanism
	if name == "" {
		name = "PLAIN"
	}
	m, err := mechanism(name)
	if err != nil {
		return failDetail(KindAuth, "mechanism", err)
	}
	var offered []string
	if ms := c.Features.Child(nsSASL, "mechanisms"); ms != nil {
		for _, e := range ms.ChildrenNamed(nsSASL, "mechanism") {
			offered = append(offered, strings.TrimSpace(e.Text))
		}
	}
	if !slices.Contains(offered, name) {
		return failDetail(KindAuth, "mechanism", fmt.Errorf("the server does not offer %s (offers %v)", name, offered))
	}
	user, pass := []byte(c.opts.User), []byte(c.opts.Password)
	n := msasl.NewClient(m, msasl.Credentials(func() ([]byte, []byte, []byte) { return user, pass, nil }))
	_, resp, err := n.Step(nil)
	if err != nil {
		return fail(KindAuth, err)
	}
	if err := c.sendNow("<auth xmlns='" + nsSASL + "' mechanism='" + name + "'>" + b64(resp) + "</auth>"); err != nil {
		return fail(KindAuth, err)
	}
	for {
		el, err := c.nextElement()
		if err != nil {
			return fail(KindAuth, err)
		}
		switch el.Local {
		case "challenge":
			ch, err := unb64(el.Text)
			if err != nil {
				return fail(KindAuth, err)
			}
			_, resp, err := n.Step(ch)
			if err != nil {
				return failDetail(KindAuth, "client", err)
			}
			if err := c.sendNow("<response xmlns='" + nsSASL + "'>" + b64(resp) + "</response>"); err != nil {
				return fail(KindAuth, err)
			}
		case "success":
			// SCRAM's server-final message proves the server knew the
			// password (RFC 5802 §3): check it when there is one.
			if data := strings.TrimSpace(el.Text); data != "" && data != "=" && name != "PLAIN" {
				b, err := unb64(data)
				if err != nil {
					return fail(KindAuth, err)
				}
				if _, _, err := n.Step(b); err != nil {
					return failDetail(KindAuth, "server-signature", err)
				}
			}
			return c.restart()
		case "failure":
			cond := "failure"
			for _, ch := range el.Children {
				if ch.Local != "text" {
					cond = ch.Local
					break
				}
			}
			return failDetail(KindAuth, cond, errors.New("SASL failure: "+el.String()))
		default:
			return failDetail(KindAuth, "unexpected", fmt.Errorf("unexpected <%s/> during SASL", el.Local))
		}
	}
}

func b64(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}

func unb64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "=" {
		return nil, nil
	}
	return base64.StdEncoding.DecodeString(s)
}
