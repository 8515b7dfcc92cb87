package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
)

func TestRunWritesJSONAndHTML(t *testing.T) {
	s := xmpptest.Start(t, nil)
	for i := range 4 {
		s.AddUser(t, fmt.Sprintf("load%d", i), "secret")
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--server", s.C2S, "--domain", "localhost", "--scenario", "chat", "--users", "4",
		"--roster-size", "1", "--rate", "100", "--duration", "500ms", "--sources", "127.0.0.2-127.0.0.3",
		"--json", filepath.Join(dir, "r.json"), "--html", filepath.Join(dir, "r.html"), "--progress", "200ms"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "r.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Connected        int64 `json:"connected"`
		MessagesSent     int64 `json:"messages_sent"`
		MessagesReceived int64 `json:"messages_received"`
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Connected != 4 || r.MessagesSent == 0 || r.MessagesSent != r.MessagesReceived {
		t.Fatalf("%v %s", err, b)
	}
	if h, err := os.ReadFile(filepath.Join(dir, "r.html")); err != nil || !bytes.Contains(h, []byte("<svg")) {
		t.Fatalf("html: %v", err)
	}
	if !strings.Contains(stderr.String(), "users 4/4") {
		t.Fatalf("no progress line: %s", stderr.String())
	}
	// --progress=false (the comparison script's spelling), JSON on stdout.
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"run", "--server", s.C2S, "--scenario", "login", "--users", "2", "--progress=false"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !json.Valid(stdout.Bytes()) || strings.Contains(stderr.String(), "users 2/2") {
		t.Fatalf("stdout %s stderr %s", stdout.String(), stderr.String())
	}
}

func TestExitStatus(t *testing.T) {
	var out, errw bytes.Buffer
	for _, c := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"bogus"}, 2},
		{[]string{"run", "--nope"}, 2},
		{[]string{"run", "--sources", "x-y"}, 2},
		{[]string{"run", "--progress", "soon"}, 2},
		{[]string{"control", "run"}, 2},
		{[]string{"run", "--scenario", "nope"}, 1},
		{[]string{"run", "--transport", "quic", "--scenario", "login"}, 1},
		{[]string{"run", "--server", "127.0.0.1:1", "--scenario", "login", "--users", "1", "--progress=0"}, 1},
	} {
		if got := run(c.args, &out, &errw); got != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, got, c.code, errw.String())
		}
	}
	if !strings.Contains(errw.String(), "server does not offer QUIC") {
		t.Errorf("quic: %s", errw.String())
	}
}

func TestProgressFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want time.Duration
	}{
		{nil, time.Second},
		{[]string{"--progress", "250ms"}, 250 * time.Millisecond},
		{[]string{"--progress=2s", "--every", "5s"}, 2 * time.Second},
		{[]string{"--progress", "--every", "5s"}, 5 * time.Second}, // the comparison script's spelling
		{[]string{"--progress=false"}, 0},
		{[]string{"--progress", "false", "--users", "3"}, 0},
		{[]string{"--progress", "0"}, 0},
	} {
		cfg, _, err := parseRun(c.args, io.Discard)
		if err != nil || cfg.Progress != c.want {
			t.Errorf("%v: progress %v, want %v (%v)", c.args, cfg.Progress, c.want, err)
		}
	}
	cfg, _, err := parseRun([]string{"--progress", "--users", "7"}, io.Discard)
	if err != nil || cfg.Users != 7 || cfg.Progress != time.Second || cfg.Every != time.Second {
		t.Fatalf("%+v %v", cfg, err)
	}
}
