// Package ctl is the command line for administering a node: account
// commands shared by `meridianctl` and `meridian user`. While the node
// runs it talks to the node's admin socket; when no node runs it opens the
// store itself. It owns argument parsing and output, nothing else.
package ctl

import (
	"bufio"
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
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/node"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// Usage is the command summary.
const Usage = `user add JID [PASSWORD]      create an account (password read from stdin if omitted)
user remove JID              delete an account and its data
user list DOMAIN             list the accounts of a domain
user passwd JID [PASSWORD]   set an account's password`

// Main runs a command; args start after the program name. It returns the
// exit status.
func Main(prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "node config file (default: built-in defaults)")
	dataDir := fs.String("data-dir", "", "node data directory (overrides the config)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s [--config FILE] [--data-dir DIR] COMMAND\n\n%s\n", prog, Usage)
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) < 2 || rest[0] != "user" {
		fs.Usage()
		return 2
	}
	cfg, err := loadConfig(*cfgFile)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *dataDir != "" {
		cfg.Node.DataDir = *dataDir
	}
	c := &client{cfg: cfg, stdin: stdin, stdout: stdout}
	if err := c.user(rest[1], rest[2:]); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 1
	}
	return 0
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
	cfg    *config.Config
	stdin  io.Reader
	stdout io.Writer
}

func (c *client) user(verb string, args []string) error {
	need := map[string]int{"add": 1, "remove": 1, "list": 1, "passwd": 1}
	n, ok := need[verb]
	if !ok {
		return fmt.Errorf("unknown command %q\n%s", "user "+verb, Usage)
	}
	if len(args) < n || len(args) > n+1 || (len(args) == n+1 && verb != "add" && verb != "passwd") {
		return fmt.Errorf("wrong number of arguments\n%s", Usage)
	}
	if verb == "list" {
		var out struct {
			Users []string `json:"users"`
		}
		if err := c.call("GET", "/v1/users?domain="+url.QueryEscape(args[0]), nil, &out); err != nil {
			return err
		}
		for _, u := range out.Users {
			fmt.Fprintf(c.stdout, "%s@%s\n", u, args[0])
		}
		return nil
	}
	j, err := jid.Parse(args[0])
	if err != nil || j.Local() == "" || !j.IsBare() {
		return fmt.Errorf("%q is not an account JID (user@domain)", args[0])
	}
	switch verb {
	case "remove":
		return c.call("DELETE", "/v1/users/"+url.PathEscape(j.String()), nil, nil)
	case "add", "passwd":
		pw := ""
		if len(args) == 2 {
			pw = args[1]
		} else {
			line, err := bufio.NewReader(c.stdin).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("no password given (argument or first line of stdin)")
			}
			pw = strings.TrimRight(line, "\r\n")
		}
		if verb == "add" {
			if err := c.call("POST", "/v1/users", map[string]string{"jid": j.String(), "password": pw}, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "created %s\n", j)
			return nil
		}
		return c.call("PUT", "/v1/users/"+url.PathEscape(j.String())+"/password", map[string]string{"password": pw}, nil)
	}
	return nil
}

// call performs an admin API request against the running node, or
// against a node opened in this process when none runs.
func (c *client) call(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://node"+path, rd)
	var h http.Handler
	sock := node.AdminSocket(c.cfg.Node.DataDir)
	var resp *http.Response
	conn, err := net.DialTimeout("unix", sock, time.Second)
	if err == nil {
		conn.Close()
		hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}, Timeout: 30 * time.Second}
		resp, err = hc.Do(req)
		if err != nil {
			return fmt.Errorf("admin socket %s: %w", sock, err)
		}
	} else {
		n, err := node.New(c.cfg, nil)
		if err != nil {
			return err
		}
		defer n.Shutdown(context.Background())
		h = n.AdminHandler()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		resp = rec.Result()
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		if e.Error == "" {
			e.Error = resp.Status
		}
		if resp.StatusCode == http.StatusConflict {
			return fmt.Errorf("%w: %s", auth.ErrExists, e.Error)
		}
		return errors.New(e.Error)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}
