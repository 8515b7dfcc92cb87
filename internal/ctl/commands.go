package ctl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/meridian-xmpp/meridian/core/admin"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

// run dispatches a command.
func (c *client) run(args []string) error {
	var err error
	switch args[0] {
	case "user":
		err = c.user(args[1:])
	case "session":
		err = c.session(args[1:])
	case "send":
		err = c.send(args[1:])
	case "domains":
		err = c.domains(args[1:])
	case "status":
		err = c.status(args[1:])
	case "mesh":
		err = c.mesh(args[1:])
	case "drain":
		err = c.drain(args[1:])
	default:
		err = usageError("unknown command %q", args[0])
	}
	if errors.Is(err, errPrinted) {
		return nil
	}
	return err
}

func (c *client) user(args []string) error {
	if len(args) == 0 {
		return usageError("user: which command?")
	}
	verb, args := args[0], args[1:]
	if verb == "remove" {
		verb = "del"
	}
	// Optional password: add and passwd take one more argument.
	maxArgs := map[string]int{"add": 2, "del": 1, "list": 1, "passwd": 2, "info": 1}
	max, ok := maxArgs[verb]
	if !ok {
		return usageError("unknown command %q", "user "+verb)
	}
	if len(args) < 1 || len(args) > max {
		return usageError("user %s: wrong number of arguments", verb)
	}
	// Accounts can be managed with the node stopped (the store is locked
	// while it runs).
	c.offline = true
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
	j, err := account(args[0])
	if err != nil {
		return err
	}
	path := "/v1/users/" + url.PathEscape(j.String())
	switch verb {
	case "del":
		return c.call("DELETE", path, nil, nil)
	case "info":
		var out struct {
			JID      string          `json:"jid"`
			Sessions []admin.Session `json:"sessions"`
			Region   []admin.Place   `json:"region_sessions"`
		}
		if err := c.call("GET", path, nil, &out); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s: %d session(s)\n", out.JID, len(out.Sessions))
		if len(out.Sessions) > 0 {
			c.sessionTable(out.Sessions)
		}
		if out.Region != nil {
			fmt.Fprintf(c.stdout, "in the region: %d session(s)\n", len(out.Region))
			if len(out.Region) > 0 {
				c.table([]string{"JID", "CORE", "EDGE", "AVAILABLE", "PRIORITY", "SINCE"}, len(out.Region), func(i int) []string {
					p := out.Region[i]
					return []string{p.JID, p.Core, p.Edge, strconv.FormatBool(p.Available), strconv.Itoa(p.Priority), p.Since.Format(time.RFC3339)}
				})
			}
		}
		return nil
	}
	pw, err := c.password(args[1:])
	if err != nil {
		return err
	}
	if verb == "add" {
		if err := c.call("POST", "/v1/users", map[string]string{"jid": j.String(), "password": pw}, nil); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "created %s\n", j)
		return nil
	}
	return c.call("PUT", path+"/password", map[string]string{"password": pw}, nil)
}

// password is the argument, or the first line of stdin.
func (c *client) password(args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("no password given (argument or first line of stdin)")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func account(s string) (jid.JID, error) {
	j, err := jid.Parse(s)
	if err != nil || j.Local() == "" || !j.IsBare() {
		return jid.JID{}, fmt.Errorf("%q is not an account JID (user@domain)", s)
	}
	return j, nil
}

func (c *client) session(args []string) error {
	switch {
	case len(args) >= 1 && len(args) <= 2 && args[0] == "list":
		q := ""
		if len(args) == 2 {
			if strings.Contains(args[1], "@") {
				q = "?user=" + url.QueryEscape(args[1])
			} else {
				q = "?domain=" + url.QueryEscape(args[1])
			}
		}
		var out struct {
			Sessions []admin.Session `json:"sessions"`
		}
		if err := c.call("GET", "/v1/sessions"+q, nil, &out); err != nil {
			return err
		}
		c.sessionTable(out.Sessions)
		return nil
	case len(args) == 2 && args[0] == "kick":
		j, err := jid.Parse(args[1])
		if err != nil || j.Local() == "" {
			return fmt.Errorf("%q is not a user's JID", args[1])
		}
		if !j.IsBare() {
			if err := c.call("DELETE", "/v1/sessions/"+url.PathEscape(j.String()), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "ended %s\n", j)
			return nil
		}
		var out struct {
			Kicked int `json:"kicked"`
		}
		if err := c.call("DELETE", "/v1/users/"+url.PathEscape(j.String())+"/sessions", nil, &out); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "ended %d session(s) of %s\n", out.Kicked, j)
		return nil
	}
	return usageError("session: list [DOMAIN|JID] or kick JID")
}

func (c *client) sessionTable(ss []admin.Session) {
	c.table([]string{"JID", "TRANSPORT", "ADDRESS", "SINCE", "AVAILABLE", "PRIORITY"}, len(ss), func(i int) []string {
		s := ss[i]
		return []string{s.JID, s.Transport, s.RemoteAddr, s.Since.Local().Format(time.DateTime), strconv.FormatBool(s.Available), strconv.Itoa(s.Priority)}
	})
}

// send: FROM TO BODY... is a chat message; FROM [STANZA] a stanza.
func (c *client) send(args []string) error {
	var out struct {
		ID string `json:"id"`
	}
	switch {
	case len(args) >= 3:
		body := strings.Join(args[2:], " ")
		if err := c.call("POST", "/v1/messages", map[string]string{"from": args[0], "to": args[1], "body": body}, &out); err != nil {
			return err
		}
	case len(args) == 2 || len(args) == 1:
		st := ""
		if len(args) == 2 {
			st = args[1]
		} else {
			b, err := io.ReadAll(c.stdin)
			if err != nil {
				return err
			}
			st = strings.TrimSpace(string(b))
		}
		if err := c.call("POST", "/v1/stanzas", map[string]string{"from": args[0], "stanza": st}, &out); err != nil {
			return err
		}
	default:
		return usageError("send: FROM TO BODY... or FROM [STANZA]")
	}
	fmt.Fprintf(c.stdout, "sent %s\n", out.ID)
	return nil
}

func (c *client) domains(args []string) error {
	if len(args) != 0 {
		return usageError("domains takes no arguments")
	}
	var out struct {
		Domains []admin.Domain `json:"domains"`
	}
	if err := c.call("GET", "/v1/domains", nil, &out); err != nil {
		return err
	}
	c.table([]string{"DOMAIN", "USERS", "SESSIONS"}, len(out.Domains), func(i int) []string {
		d := out.Domains[i]
		return []string{d.Domain, strconv.Itoa(d.Users), strconv.Itoa(d.Sessions)}
	})
	return nil
}

func (c *client) status(args []string) error {
	if len(args) != 0 {
		return usageError("status takes no arguments")
	}
	var s admin.Status
	if err := c.call("GET", "/v1/status", nil, &s); err != nil {
		return err
	}
	var byTransport []string
	for t, n := range s.SessionsByTransport {
		byTransport = append(byTransport, fmt.Sprintf("%s %d", t, n))
	}
	slices.Sort(byTransport)
	rows := [][2]string{
		{"node", s.Node},
		{"version", s.Version},
		{"roles", strings.Join(s.Roles, ", ")},
		{"uptime", (time.Duration(s.UptimeSeconds) * time.Second).String()},
		{"sessions", fmt.Sprintf("%d (%s)", s.Sessions, strings.Join(byTransport, ", "))},
		{"streams", strconv.Itoa(s.Streams)},
		{"goroutines", strconv.Itoa(s.Goroutines)},
		{"draining", strconv.FormatBool(s.Draining)},
		{"memory", fmt.Sprintf("heap %.1f MiB, from the OS %.1f MiB", float64(s.Memory.HeapAllocBytes)/(1<<20), float64(s.Memory.SysBytes)/(1<<20))},
	}
	if s.LinkCore != "" {
		rows = append(rows, [2]string{"link to core", s.LinkCore})
	}
	if len(s.ClusterPeers) > 0 {
		rows = append(rows, [2]string{"cluster peers", strings.Join(s.ClusterPeers, ", ")})
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

func (c *client) mesh(args []string) error {
	if len(args) != 1 || args[0] != "members" {
		return usageError("mesh members")
	}
	var out struct {
		Members []admin.Member `json:"members"`
	}
	if err := c.call("GET", "/v1/mesh", nil, &out); err != nil {
		return err
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	c.table([]string{"NAME", "ADDRESS", "STATUS", "ROLES", "REGION", "LINK", "C2S", "HTTP", "DOMAINS", "LOAD", "VERSION", ""}, len(out.Members), func(i int) []string {
		m := out.Members[i]
		var notes []string
		if m.Problem != "" {
			notes = append(notes, "not routed: "+m.Problem)
		}
		if m.Draining {
			notes = append(notes, "draining")
		}
		if m.Self {
			notes = append(notes, "this node")
		}
		note := ""
		if len(notes) > 0 {
			note = "(" + strings.Join(notes, "; ") + ")"
		}
		return []string{m.Name, m.Address, m.Status, dash(strings.Join(m.Roles, ",")), dash(m.Region), dash(m.Link), dash(m.C2S), dash(m.HTTP),
			dash(strings.Join(m.Domains, ",")), strconv.Itoa(m.Load), dash(m.Version), note}
	})
	return nil
}

// table prints aligned columns under a header.
func (c *client) table(header []string, n int, row func(int) []string) {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for i := range n {
		fmt.Fprintln(tw, strings.Join(row(i), "\t"))
	}
	tw.Flush()
}
