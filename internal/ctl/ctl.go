// Package ctl is the command line for administering a node, shared by
// `meridianctl` and `meridian user`: accounts, sessions, stanzas sent on
// a user's behalf, domains, status and the mesh, all through the admin
// REST API (docs/admin-api.yaml). It talks to the local node's admin
// socket, or to --url with a bearer token; account commands open the
// store themselves when no node runs. It owns argument parsing and
// output, nothing else.
package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/node"
)

// Usage is the command summary.
const Usage = `user add JID [PASSWORD]        create an account (password read from stdin if omitted)
user del JID                   delete an account and its data (also: user remove)
user list DOMAIN               list the accounts of a domain
user passwd JID [PASSWORD]     set an account's password
user info JID                  an account and its sessions
session list [DOMAIN|JID]      list connected sessions
session kick JID               end a session (full JID) or all of an account's (bare JID)
send FROM TO BODY...           send a chat message as FROM
send FROM [STANZA]             send a stanza as FROM (read from stdin if omitted)
domains                        the served domains with account and session counts
status                         the node's status
mesh members                   the members of the mesh
drain [--timeout 5m] [--period 30s] [--to HOST:PORT]... [NODE]
                               lame-duck drain: stop taking clients, move them
                               to other edges, then exit (NODE: check the name)

Options go before the command: --url http://host:port targets a node's
[admin] listen (token from --token or MERIDIAN_ADMIN_TOKEN); without it
the local node's socket under the data dir is used. --json prints the
API's JSON.`

// Main runs a command; args start after the program name. It returns the
// exit status.
func Main(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "node config file (default: built-in defaults)")
	dataDir := fs.String("data-dir", "", "node data directory (overrides the config)")
	url := fs.String("url", os.Getenv(config.EnvAdminURL), "admin API of a remote node, http://host:port (env "+config.EnvAdminURL+")")
	token := fs.String("token", "", "bearer token for --url (default: env "+config.EnvAdminToken+")")
	asJSON := fs.Bool("json", false, "print the API's JSON instead of tables")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [--config FILE] [--data-dir DIR] [--url URL [--token T]] [--json] COMMAND\n\n%s\n", prog, Usage)
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	c := &client{stdin: stdin, stdout: stdout, json: *asJSON, url: strings.TrimRight(*url, "/"), token: *token}
	if c.token == "" {
		c.token = os.Getenv(config.EnvAdminToken)
	}
	if c.url == "" {
		cfg, err := loadConfig(*cfgFile)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if *dataDir != "" {
			cfg.Node.DataDir = *dataDir
		}
		c.cfg = cfg
	}
	if err := c.run(rest); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

func usageError(format string, a ...any) error {
	return fmt.Errorf("%w: %s\n%s", errUsage, fmt.Sprintf(format, a...), Usage)
}

func loadConfig(file string) (*config.Config, error) {
	if file != "" {
		return config.Load(file)
	}
	cfg := config.Default()
	if err := cfg.ApplyEnv(os.Environ()); err != nil {
		return nil, err
	}
	return cfg, cfg.Validate()
}

type client struct {
	cfg    *config.Config // nil with url
	url    string
	token  string
	json   bool
	stdin  io.Reader
	stdout io.Writer
	// offline lets a command run against the store when no node runs.
	offline bool
}

// apiError is an error the API answered.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// call performs an admin API request and decodes the answer into out (a
// pointer, or nil). With --json the answer is printed instead.
func (c *client) call(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	resp, err := c.do(method, path, rd)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(raw, &e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		if resp.StatusCode == http.StatusConflict {
			return fmt.Errorf("%w: %s", auth.ErrExists, e.Error)
		}
		return &apiError{resp.StatusCode, e.Error}
	}
	if c.json && len(raw) > 0 {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			b, _ := json.MarshalIndent(v, "", "  ")
			fmt.Fprintf(c.stdout, "%s\n", b)
			return errPrinted
		}
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// errPrinted tells a command that --json printed the answer.
var errPrinted = errors.New("printed")

// do sends a request to --url, the local socket, or (for commands that
// allow it, when no node runs) a node opened in this process.
func (c *client) do(method, path string, body io.Reader) (*http.Response, error) {
	if c.url != "" {
		req, err := http.NewRequest(method, c.url+path, body)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			return nil, fmt.Errorf("admin API %s: %w", c.url, err)
		}
		return resp, nil
	}
	req, _ := http.NewRequest(method, "http://node"+path, body)
	req.Header.Set("Content-Type", "application/json")
	sock := node.AdminSocket(c.cfg.Node.DataDir)
	conn, err := net.DialTimeout("unix", sock, time.Second)
	if err == nil {
		conn.Close()
		hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}, Timeout: 30 * time.Second}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("admin socket %s: %w", sock, err)
		}
		return resp, nil
	}
	if !c.offline {
		return nil, fmt.Errorf("no node is running on %s (admin socket %s: %v); use --url for a remote node", c.cfg.Node.DataDir, sock, err)
	}
	n, err := node.New(c.cfg, nil)
	if err != nil {
		return nil, err
	}
	defer n.Shutdown(context.Background())
	rec := httptest.NewRecorder()
	n.AdminHandler().ServeHTTP(rec, req)
	return rec.Result(), nil
}
