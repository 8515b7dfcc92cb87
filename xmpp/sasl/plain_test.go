package sasl

import (
	"errors"
	"testing"
)

func TestPlain(t *testing.T) {
	broken := errors.New("disk on fire")
	tests := []struct {
		name     string
		msg      string
		domain   string
		want     string // failure condition; "" for success
		username string
	}{
		{"ok", "\x00user\x00pencil", "", "", "user"},
		{"case mapped", "\x00User\x00pencil", "", "", "user"},
		{"width mapped", "\x00ｕｓｅｒ\x00pencil", "", "", "user"},
		{"authzid self", "user\x00user\x00pencil", "", "", "user"},
		{"authzid bare JID", "user@example.com\x00user\x00pencil", "example.com", "", "user"},
		{"authzid other", "admin\x00user\x00pencil", "", InvalidAuthzid, ""},
		{"authzid other, wrong password", "admin\x00user\x00x", "", NotAuthorized, ""},
		{"wrong password", "\x00user\x00pencils", "", NotAuthorized, ""},
		{"unknown user", "\x00nobody\x00pencil", "", NotAuthorized, ""},
		{"unpreparable user", "\x00a b\x00pencil", "", NotAuthorized, ""},
		{"storage error", "\x00broken\x00pencil", "", TemporaryAuthFailure, ""},
		{"unpreparable password", "\x00user\x00pen\x07cil", "", NotAuthorized, ""},
		{"two fields", "user\x00pencil", "", MalformedRequest, ""},
		{"four fields", "\x00user\x00pencil\x00x", "", MalformedRequest, ""},
		{"no authcid", "\x00\x00pencil", "", MalformedRequest, ""},
		{"no password", "\x00user\x00", "", MalformedRequest, ""},
		{"bad UTF-8", "\x00us\xffer\x00pencil", "", MalformedRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := accounts.config()
			cfg.Domain = tc.domain
			verify := cfg.VerifyPlain
			cfg.VerifyPlain = func(u, p string) (bool, error) {
				if u == "broken" {
					return false, broken
				}
				return verify(u, p)
			}
			s, err := NewServer(PLAIN, cfg)
			if err != nil {
				t.Fatal(err)
			}
			out, done, err := s.Step([]byte(tc.msg))
			if tc.want != "" {
				wantFailure(t, err, tc.want)
				if done || s.Username() != "" {
					t.Fatal("failure reported done or a username")
				}
				return
			}
			if err != nil || !done || out != nil {
				t.Fatalf("Step = %q, %v, %v", out, done, err)
			}
			if s.Username() != tc.username {
				t.Fatalf("Username = %q, want %q", s.Username(), tc.username)
			}
		})
	}
}

func TestPlainPreparesPassword(t *testing.T) {
	var got string
	s, _ := NewServer(PLAIN, Config{VerifyPlain: func(u, p string) (bool, error) { got = p; return true, nil }})
	s.Step(nil) // no initial response: empty challenge first
	if _, done, err := s.Step([]byte("\x00user\x00pen\u00a0cil")); err != nil || !done {
		t.Fatal(err)
	}
	if got != "pen cil" {
		t.Fatalf("VerifyPlain got password %q", got)
	}
}
