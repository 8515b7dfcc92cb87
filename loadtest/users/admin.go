package users

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// admin creates accounts through Meridian's admin API: POST /v1/users
// {"jid","password"} answers 201 (created) or 409 (exists), on the unix
// socket <data_dir>/admin.sock or an HTTP URL.
type admin struct {
	hc   *http.Client
	base string
}

func newAdmin(where string) (*admin, error) {
	if where == "" {
		return nil, fmt.Errorf("users: admin: want admin:/path/admin.sock or admin:http://host:port")
	}
	if strings.HasPrefix(where, "http://") || strings.HasPrefix(where, "https://") {
		return &admin{hc: &http.Client{Timeout: 30 * time.Second}, base: strings.TrimSuffix(where, "/")}, nil
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", where)
		},
		MaxIdleConnsPerHost: 64,
	}
	return &admin{hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}, base: "http://admin"}, nil
}

func (a *admin) create(ctx context.Context, u User) error {
	body, _ := json.Marshal(map[string]string{"jid": u.JID(), "password": u.Password})
	req, err := http.NewRequestWithContext(ctx, "POST", a.base+"/v1/users", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("users: admin: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("users: admin: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusConflict {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Errorf("users: admin: creating %s: %s: %s", u.JID(), resp.Status, bytes.TrimSpace(msg))
}
