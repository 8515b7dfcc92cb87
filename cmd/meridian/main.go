// Command meridian runs a Meridian node. With no arguments it is a
// complete single-node XMPP server for the domain localhost.
//
//	meridian [--config FILE]           run a node
//	meridian config check FILE         validate a config file
//	meridian user add|remove|list|passwd ...   manage accounts
//	meridian ca init|issue ...         cluster CA for the edge link
//	meridian version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/internal/ctl"
	"github.com/meridian-xmpp/meridian/link/ca"
	"github.com/meridian-xmpp/meridian/node"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "config":
			return configCmd(args[1:])
		case "ca":
			return ca.Main(args[1:], os.Stdout, os.Stderr)
		case "user":
			return ctl.Main("meridian", args, os.Stdin, os.Stdout, os.Stderr)
		case "version":
			fmt.Println(version())
			return 0
		}
	}
	fs := flag.NewFlagSet("meridian", flag.ContinueOnError)
	cfgFile := fs.String("config", "", "config file (TOML); default: built-in single-node defaults")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: meridian [--config FILE]\n       meridian config check FILE\n       meridian [--config FILE] %s\n       meridian version\n", "user ...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 && fs.Arg(0) == "user" {
		return ctl.Main("meridian", args, os.Stdin, os.Stdout, os.Stderr)
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	cfg, err := load(*cfgFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log := newLogger(cfg.Log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	n, err := node.New(cfg, log)
	if err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	if err := n.Start(); err != nil {
		log.Error("start failed", "err", err)
		return 1
	}
	banner(n, cfg, *cfgFile)
	// A signal, or the end of a lame-duck drain (meridianctl drain).
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case <-n.Drained():
		log.Info("drained: shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Node.ShutdownGrace.Duration)
	defer cancel()
	if err := n.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

func load(file string) (*config.Config, error) {
	if file != "" {
		return config.Load(file)
	}
	cfg := config.Default()
	if err := cfg.ApplyEnv(os.Environ()); err != nil {
		return nil, err
	}
	return cfg, cfg.Validate()
}

func configCmd(args []string) int {
	if len(args) != 2 || args[0] != "check" {
		fmt.Fprintln(os.Stderr, "usage: meridian config check FILE")
		return 2
	}
	cfg, err := config.Load(args[1])
	if err == nil {
		_, err = node.Modules(cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("%s: ok (%d virtual hosts)\n", args[1], len(cfg.VHosts))
	return 0
}

func newLogger(c config.Log) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func banner(n *node.Node, cfg *config.Config, file string) {
	fmt.Printf("Meridian %s (%s) serving %v (data in %s)\n", version(), strings.Join(cfg.Node.Roles, "+"), cfg.Hosts(), cfg.Node.DataDir)
	for _, a := range n.Addrs("c2s") {
		fmt.Printf("  XMPP clients (STARTTLS):   %s\n", a)
	}
	for _, a := range n.Addrs("c2s_tls") {
		fmt.Printf("  XMPP clients (direct TLS): %s\n", a)
	}
	for _, a := range n.Addrs("http") {
		fmt.Printf("  HTTP /healthz /metrics:    http://%s\n", a)
	}
	for _, a := range n.Addrs("link") {
		fmt.Printf("  Edge link (QUIC, UDP):     %s\n", a)
	}
	if n.CertFile != "" {
		fmt.Printf("  TLS certificate:           %s\n", n.CertFile)
	}
	if n.Core() == nil {
		fmt.Println("Accounts live on the cores: add users there.")
		return
	}
	cf := ""
	if file != "" {
		cf = " --config " + file
	}
	fmt.Printf("Add a user:  meridian%s user add alice@%s\n", cf, cfg.Hosts()[0])
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
