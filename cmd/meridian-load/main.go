// Command meridian-load is Meridian's load generator: it drives any XMPP
// server (Meridian, Prosody, ejabberd) with real clients and reports
// connect/TLS/auth and end-to-end latency percentiles, throughput, logins
// per second, errors by kind and the server's memory and CPU, as JSON and
// as an HTML report. Wiring only: the engine is package loadtest.
//
//	meridian-load run --server 127.0.0.1:5222 --domain localhost --scenario chat --users 200 --rate 5000 ...
//	meridian-load agent --listen 127.0.0.1:7000
//	meridian-load control --agents 127.0.0.1:7000,127.0.0.1:7001 run <run flags>
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/meridian-xmpp/meridian/loadtest"
	"github.com/meridian-xmpp/meridian/loadtest/dist"
	"github.com/meridian-xmpp/meridian/loadtest/report"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

const usage = `usage:
  meridian-load run [flags]                        run a scenario from this machine
  meridian-load agent --listen ADDR                serve runs for a controller
  meridian-load control --agents A,B run [flags]   run a scenario on several agents
Run "meridian-load run -h" for the run flags. Exit status: 0 the run ran
(errors during it are counted in the result), 1 it could not start or no
user logged in, 2 usage.`

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
		agents := fs.String("agents", "", "comma-separated agent addresses (host:port)")
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
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	}
	fmt.Fprintln(stderr, usage)
	return 2
}

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
	fmt.Fprintf(stderr, "%s: %d/%d connected, %.0f logins/s; sent %d, received %d, %.0f/s; latency p50 %.2f ms p99 %.2f ms max %.2f ms; errors %v\n",
		res.Scenario, res.Connected, res.Users, res.LoginsPerSec, res.MessagesSent, res.MessagesReceived, res.MessagesPerSec,
		res.Latency.P50, res.Latency.P99, res.Latency.Max, res.Errors)
	if s := res.Server; s.PID != 0 {
		fmt.Fprintf(stderr, "server pid %d: %.1f KiB per session, CPU %.0f%% (max %.0f%%)\n", s.PID, float64(s.RSSPerSession)/1024, s.CPUPercent, s.CPUPercentMax)
	}
	if res.Connected == 0 {
		fmt.Fprintln(stderr, "meridian-load: no user logged in")
		return 1
	}
	return 0
}
