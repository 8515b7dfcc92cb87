package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/meridian-xmpp/meridian/loadtest/client"
)

// User is an account the run logs in as.
type User struct {
	Local    string
	Password string
}

// JID is the user's bare JID.
func (u User) JID(domain string) string { return u.Local + "@" + domain }

// users returns the accounts of a run, creating them when asked.
func (r *runner) users(ctx context.Context) ([]User, error) {
	c := r.cfg
	from := c.UsersFrom
	if path, ok := strings.CutPrefix(from, "file:"); ok {
		return usersFromFile(path, c.Domain, c.Users)
	}
	us := make([]User, c.Users)
	for i := range us {
		us[i] = User{Local: c.UserPrefix + strconv.Itoa(c.UserOffset+i), Password: c.Password}
	}
	switch {
	case from == "existing":
		return us, nil
	case from == "ibr":
		return us, r.each(ctx, us, func(u User, ip net.IP) error {
			return client.Register(ctx, r.options(u, ip))
		})
	case strings.HasPrefix(from, "admin:"):
		hc := adminClient(strings.TrimPrefix(from, "admin:"))
		return us, r.each(ctx, us, func(u User, _ net.IP) error {
			body, _ := json.Marshal(map[string]string{"jid": u.JID(c.Domain), "password": u.Password})
			resp, err := hc.Post("http://admin/v1/users", "application/json", bytes.NewReader(body))
			if err != nil {
				return &client.Error{Kind: "admin", Err: err}
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
				return &client.Error{Kind: "admin", Err: fmt.Errorf("admin API: %s", resp.Status)}
			}
			return nil
		})
	}
	return nil, fmt.Errorf("loadtest: users-from %q: want existing, ibr, file:PATH or admin:SOCKET", from)
}

// each runs fn for every user, Concurrency at a time; the first error
// stops the provisioning.
func (r *runner) each(ctx context.Context, us []User, fn func(User, net.IP) error) error {
	sem := make(chan struct{}, r.cfg.Concurrency)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i, u := range us {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(u, r.source(i)); err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("loadtest: provisioning %s: %w", u.Local, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func usersFromFile(path, domain string, n int) ([]User, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loadtest: %w", err)
	}
	defer f.Close()
	var us []User
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		j, pw, ok := strings.Cut(t, " ")
		local, dom, hasAt := strings.Cut(j, "@")
		if !ok || !hasAt || dom != domain || local == "" {
			return nil, fmt.Errorf("loadtest: %s:%d: want \"user@%s password\"", path, line, domain)
		}
		us = append(us, User{Local: local, Password: strings.TrimSpace(pw)})
	}
	if len(us) < n {
		return nil, fmt.Errorf("loadtest: %s has %d users, the run needs %d", path, len(us), n)
	}
	return us[:n], sc.Err()
}

func adminClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
}
