// Command meridian-load is Meridian's load generator: it drives any XMPP
// server with real clients and reports latency percentiles, throughput,
// logins per second and the server's memory and CPU.
//
//	meridian-load run --server 127.0.0.1:5222 --domain localhost --scenario chat --users 200 --rate 5000 ...
//	meridian-load agent --listen 127.0.0.1:7000
//	meridian-load control --agents 127.0.0.1:7000,127.0.0.1:7001 run <run flags>
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest"
	"github.com/meridian-xmpp/meridian/loadtest/dist"
	"github.com/meridian-xmpp/meridian/loadtest/report"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage:
  meridian-load run [flags]                       run a scenario from this machine
  meridian-load agent --listen ADDR               serve runs for a controller
  meridian-load control --agents A,B run [flags]  run a scenario on several agents
Run "meridian-load run -h" for the run flags.`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "run":
		cfg, out, err := parseRun(args[1:], stderr)
		if err != nil {
			return 2
		}
		res, err := loadtest.Run(ctx, *cfg)
		return finish(res, err, out, stdout, stderr)
	case "agent":
		fs := flag.NewFlagSet("agent", flag.ContinueOnError)
		fs.SetOutput(stderr)
		listen := fs.String("listen", "127.0.0.1:7000", "address to serve the controller on")
		if fs.Parse(args[1:]) != nil {
			return 2
		}
		if err := dist.Serve(ctx, *listen, stderr); err != nil {
			fmt.Fprintln(stderr, "meridian-load agent:", err)
			return 1
		}
		return 0
	case "control":
		fs := flag.NewFlagSet("control", flag.ContinueOnError)
		fs.SetOutput(stderr)
		agents := fs.String("agents", "", "comma-separated agent addresses")
		if fs.Parse(args[1:]) != nil || *agents == "" || fs.NArg() == 0 || fs.Arg(0) != "run" {
			fmt.Fprintln(stderr, usage)
			return 2
		}
		cfg, out, err := parseRun(fs.Args()[1:], stderr)
		if err != nil {
			return 2
		}
		res, err := dist.Control(ctx, strings.Split(*agents, ","), *cfg)
		return finish(res, err, out, stdout, stderr)
	}
	fmt.Fprintln(stderr, usage)
	return 2
}

type outputs struct{ json, html string }

func finish(res *loadtest.Result, err error, out outputs, stdout, stderr io.Writer) int {
	if err != nil {
		fmt.Fprintln(stderr, "meridian-load:", err)
		return 1
	}
	if err := report.WriteJSON(out.json, stdout, res); err != nil {
		fmt.Fprintln(stderr, "meridian-load:", err)
		return 1
	}
	if out.html != "" {
		if err := report.WriteHTML(out.html, res); err != nil {
			fmt.Fprintln(stderr, "meridian-load:", err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "%s: %d/%d connected, %.0f logins/s, %.0f msgs/s (sent %d, received %d), latency p50 %.2f ms p99 %.2f ms max %.2f ms, errors %v\n",
		res.Scenario, res.Connected, res.Users, res.LoginsPerSec, res.MessagesPerSec, res.MessagesSent, res.MessagesReceived,
		res.Latency.P50, res.Latency.P99, res.Latency.Max, res.Errors)
	if s := res.ServerStats; s != nil {
		fmt.Fprintf(stderr, "server pid %d: %d B per session, CPU %.1f %%\n", s.PID, s.RSSPerSession, s.CPUPercent)
	}
	return 0
}

func parseRun(args []string, stderr io.Writer) (*loadtest.Config, outputs, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &loadtest.Config{}
	var out outputs
	var sources string
	var progress bool
	fs.StringVar(&c.Server, "server", "127.0.0.1:5222", "server address host:port")
	fs.StringVar(&c.Domain, "domain", "localhost", "XMPP domain")
	fs.StringVar(&c.Transport, "transport", "starttls", "starttls, tls (websocket and quic when the server offers them)")
	fs.StringVar(&c.Scenario, "scenario", "chat", "scenario: "+strings.Join(loadtest.ScenarioNames(), ", "))
	fs.IntVar(&c.Users, "users", 100, "number of users")
	fs.IntVar(&c.UserOffset, "user-offset", 0, "first user number")
	fs.StringVar(&c.UserPrefix, "user-prefix", "load", "user names are PREFIX<n>")
	fs.StringVar(&c.Password, "password", "secret", "password of every user")
	fs.StringVar(&c.UsersFrom, "users-from", "existing", "existing, ibr, file:PATH or admin:SOCKET")
	fs.StringVar(&c.Mechanism, "mechanism", "PLAIN", "SASL mechanism: PLAIN, SCRAM-SHA-1, SCRAM-SHA-256")
	fs.DurationVar(&c.Ramp, "ramp", 0, "spread the logins over this time")
	fs.Float64Var(&c.ConnectRate, "connect-rate", 0, "logins per second (0: spread over --ramp, or as fast as possible)")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "length of the load phase")
	fs.Float64Var(&c.Rate, "rate", 1000, "stanzas per second, all users together")
	fs.IntVar(&c.RosterSize, "roster-size", 10, "contacts per user")
	fs.DurationVar(&c.Think, "think", 0, "least time between two sends of one user")
	fs.StringVar(&sources, "sources", "", "source addresses: one address, or a range like 127.0.0.2-127.0.0.254")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "server process to measure (RSS, CPU)")
	fs.DurationVar(&c.Drain, "drain", 2*time.Second, "wait for in-flight messages after the load phase")
	fs.IntVar(&c.Concurrency, "concurrency", 64, "logins in flight at once")
	fs.StringVar(&out.json, "json", "-", "write the JSON result here (- for stdout)")
	fs.StringVar(&out.html, "html", "", "write an HTML report here")
	fs.BoolVar(&progress, "progress", true, "print a progress line every --every")
	fs.DurationVar(&c.Every, "every", time.Second, "progress and series interval")
	if err := fs.Parse(args); err != nil {
		return nil, out, err
	}
	if progress {
		c.Progress = stderr
	}
	ips, err := parseSources(sources)
	if err != nil {
		fmt.Fprintln(stderr, "meridian-load: --sources:", err)
		return nil, out, err
	}
	c.Sources = ips
	return c, out, nil
}

// parseSources reads "A" or "A-B" (IPv4, same /8 or not).
func parseSources(s string) ([]net.IP, error) {
	if s == "" {
		return nil, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	lo := net.ParseIP(strings.TrimSpace(a)).To4()
	if lo == nil {
		return nil, fmt.Errorf("%q is not an IPv4 address", a)
	}
	if !isRange {
		return []net.IP{lo}, nil
	}
	hi := net.ParseIP(strings.TrimSpace(b)).To4()
	if hi == nil {
		return nil, fmt.Errorf("%q is not an IPv4 address", b)
	}
	l, h := binary.BigEndian.Uint32(lo), binary.BigEndian.Uint32(hi)
	if h < l || h-l > 1<<20 {
		return nil, fmt.Errorf("bad range %s", s)
	}
	var out []net.IP
	for v := l; v <= h; v++ {
		ip := make(net.IP, 4)
		binary.BigEndian.PutUint32(ip, v)
		out = append(out, ip)
	}
	return out, nil
}
