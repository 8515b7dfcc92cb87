package main

import (
	"bytes"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/ctl"
	"github.com/meridian-xmpp/meridian/node"
)

// TestDrainExits: the server's run returns 0 once a drain is over, with
// no signal.
func TestDrainExits(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"MERIDIAN_NODE_DATA_DIR":         dir,
		"MERIDIAN_C2S_LISTEN":            "127.0.0.1:0",
		"MERIDIAN_C2S_DIRECT_TLS_LISTEN": "127.0.0.1:0",
		"MERIDIAN_HTTP_LISTEN":           "127.0.0.1:0",
		"MERIDIAN_WEB_LISTEN":            "",
		"MERIDIAN_WEB_TLS_LISTEN":        "127.0.0.1:0",
		"MERIDIAN_LOG_LEVEL":             "error",
	} {
		t.Setenv(k, v)
	}
	// The banner goes to stdout: keep the test's output clean.
	stdout := os.Stdout
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	os.Stdout = devnull
	defer func() { os.Stdout = stdout }()

	exited := make(chan int, 1)
	go func() { exited <- run(nil) }()
	sock := node.AdminSocket(dir)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		select {
		case code := <-exited:
			t.Fatalf("meridian exited with %d before the drain", code)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the node never served its admin socket")
		}
	}
	var out, errb bytes.Buffer
	if code := ctl.Main("meridianctl", []string{"--data-dir=" + dir, "drain", "--period=0s"}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("drain: %d %s", code, errb.String())
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("meridian exited with %d after the drain", code)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("meridian still running after the drain")
	}
}
