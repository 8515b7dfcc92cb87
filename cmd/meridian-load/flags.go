package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest"
	"github.com/meridian-xmpp/meridian/loadtest/scenario"
)

type outputs struct{ json, html string }

// parseRun reads the run flags (shared by run and control run).
func parseRun(args []string, stderr io.Writer) (*loadtest.Config, outputs, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &loadtest.Config{}
	var out outputs
	var sources string
	progress := progressFlag{on: true}
	fs.StringVar(&c.Server, "server", "127.0.0.1:5222", "server address host:port")
	fs.StringVar(&c.Domain, "domain", "localhost", "XMPP domain")
	fs.StringVar(&c.Transport, "transport", "starttls", "starttls, tls (direct TLS), websocket, quic")
	fs.StringVar(&c.WSURL, "ws-url", "", "WebSocket endpoint for --transport websocket (default ws://SERVER/xmpp-websocket)")
	fs.StringVar(&c.Scenario, "scenario", "chat", "scenario: "+strings.Join(scenario.Names(), ", "))
	fs.IntVar(&c.Users, "users", 100, "number of users")
	fs.StringVar(&c.UserPrefix, "user-prefix", "load", "user names are PREFIX<n>")
	fs.IntVar(&c.UserOffset, "user-offset", 0, "first user number (or line of --users-from file:)")
	fs.StringVar(&c.Password, "password", "secret", "password of the generated users")
	fs.StringVar(&c.UsersFrom, "users-from", "existing", "existing (PREFIX<n> exist), ibr (register in-band), admin:/path/admin.sock or admin:http://HOST:PORT, file:/path (lines \"jid password\")")
	fs.StringVar(&c.Mechanism, "mechanism", "PLAIN", "SASL mechanism: PLAIN, SCRAM-SHA-1, SCRAM-SHA-256")
	fs.DurationVar(&c.Ramp, "ramp", 0, "spread the logins evenly over this time (0: as fast as --concurrency allows)")
	fs.Float64Var(&c.ConnectRate, "connect-rate", 0, "logins per second at most (0: --ramp decides)")
	fs.IntVar(&c.Concurrency, "concurrency", 64, "logins (and registrations) in flight at once")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "limit for one login and for each preparation step")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "length of the load phase")
	fs.Float64Var(&c.Rate, "rate", 1000, "stanzas per second, all users together (0 with --think: users/think)")
	fs.Int64Var(&c.Messages, "messages", 0, "end the load phase after this many stanzas (0: --duration decides)")
	fs.IntVar(&c.RosterSize, "roster-size", 10, "contacts per user (mutually subscribed)")
	fs.StringVar(&c.Rosters, "rosters", "auto", "auto: create missing roster items and subscriptions once; skip: pre-provisioned or not needed")
	fs.DurationVar(&c.Think, "think", 0, "time each user waits between two stanzas")
	fs.DurationVar(&c.Drain, "drain", 5*time.Second, "most time to wait for stanzas in flight after the load phase")
	fs.StringVar(&sources, "sources", "", "source addresses, round robin: 127.0.0.2, a range 127.0.0.2-127.0.0.254, or a comma list")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "server process to measure (RSS, CPU; same machine)")
	fs.StringVar(&out.json, "json", "-", "write the JSON result here (- for stdout)")
	fs.StringVar(&out.html, "html", "", "write the HTML report here")
	fs.DurationVar(&c.Every, "every", time.Second, "interval of the result's time series (and of the progress line when --progress has no interval)")
	fs.Var(&progress, "progress", "print a progress line to stderr: --progress 1s, --progress (every --every), --progress=false")
	if err := fs.Parse(progressArgs(args)); err != nil {
		return nil, out, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected arguments %q", fs.Args())
		fmt.Fprintln(stderr, "meridian-load:", err)
		return nil, out, err
	}
	ips, err := loadtest.ParseSources(sources)
	if err != nil {
		fmt.Fprintln(stderr, "meridian-load: --sources:", err)
		return nil, out, err
	}
	c.Sources = ips
	if progress.on {
		c.Progress = progress.every
		if c.Progress == 0 {
			c.Progress = c.Every
		}
	}
	if c.Progress > 0 {
		c.ProgressOut = stderr
		c.ProgressTTY = isTerminal(stderr)
	}
	return c, out, nil
}

// progressFlag is --progress: a boolean (bare --progress, =true,
// =false) that also takes an interval (--progress=2s, --progress 2s), so
// that both the documented --progress 1s and --progress --every 5s work.
type progressFlag struct {
	on    bool
	every time.Duration // 0: --every
}

func (p *progressFlag) IsBoolFlag() bool { return true }

func (p *progressFlag) String() string {
	if p == nil || !p.on {
		return "false"
	}
	if p.every == 0 {
		return "true"
	}
	return p.every.String()
}

func (p *progressFlag) Set(s string) error {
	switch strings.ToLower(s) {
	case "false", "off", "no", "0":
		p.on, p.every = false, 0
		return nil
	case "true", "on", "yes":
		p.on, p.every = true, 0
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("want an interval such as 1s, or true/false")
	}
	p.on, p.every = d > 0, d
	return nil
}

// progressArgs joins "--progress VALUE" into "--progress=VALUE" when
// VALUE is an interval or a boolean: the flag package would take a bare
// boolean flag's next argument as the first positional one.
func progressArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if (a == "--progress" || a == "-progress") && i+1 < len(args) {
			var p progressFlag
			if p.Set(args[i+1]) == nil {
				out = append(out, a+"="+args[i+1])
				i++
				continue
			}
		}
		if a == "--" {
			return append(out, args[i:]...)
		}
		out = append(out, a)
	}
	return out
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
