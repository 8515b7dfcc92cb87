package users

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
)

// file reads accounts from lines "user@domain password" (or "user
// password" for --domain); blank lines and lines starting with # are
// skipped. A load node takes Count lines from line Offset.
type file struct {
	s    Spec
	path string
}

func (f file) List() ([]User, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer fh.Close()
	var us []User
	sc := bufio.NewScanner(fh)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		j, pw, ok := strings.Cut(t, " ")
		pw = strings.TrimSpace(pw)
		if !ok || pw == "" {
			return nil, fmt.Errorf("users: %s:%d: want \"user@%s password\"", f.path, line, f.s.Domain)
		}
		local, dom, hasDomain := strings.Cut(j, "@")
		if !hasDomain {
			dom = f.s.Domain
		}
		if local == "" || !strings.EqualFold(dom, f.s.Domain) {
			return nil, fmt.Errorf("users: %s:%d: %q is not a user of %s", f.path, line, j, f.s.Domain)
		}
		us = append(us, User{Local: local, Domain: f.s.Domain, Password: pw})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("users: %s: %w", f.path, err)
	}
	if len(us) < f.s.Offset+f.s.Count {
		return nil, fmt.Errorf("users: %s has %d users, the run needs %d from number %d", f.path, len(us), f.s.Count, f.s.Offset)
	}
	return us[f.s.Offset : f.s.Offset+f.s.Count], nil
}

func (file) Create(context.Context, User, net.IP) error { return nil }
