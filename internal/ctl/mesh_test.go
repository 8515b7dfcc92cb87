package ctl_test

import (
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
)

// TestMeshMembers: `mesh members` lists every member of the mesh with what
// it announces.
func TestMeshMembers(t *testing.T) {
	start := func(name string, seeds ...string) *xmpptest.Server {
		cfg := xmpptest.Config(t)
		cfg.Node.Name = name
		cfg.Mesh.Enabled = true
		cfg.Mesh.Bind = "127.0.0.1:0"
		cfg.Mesh.Region = "eu"
		cfg.Mesh.Seeds = seeds
		cfg.Mesh.ProbeInterval = config.Duration{Duration: 200 * time.Millisecond}
		cfg.Mesh.ProbeTimeout = config.Duration{Duration: 100 * time.Millisecond}
		return xmpptest.Start(t, cfg)
	}
	a := start("mesh-a")
	start("mesh-b", a.Mesh().Addr())
	d := "--data-dir=" + a.Config.Node.DataDir
	end := time.Now().Add(30 * time.Second)
	for {
		code, out, e := run(t, "", d, "mesh", "members")
		if code != 0 {
			t.Fatalf("mesh members: %d %s", code, e)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) == 3 && strings.Contains(out, "mesh-b") {
			for _, want := range []string{"NAME", "ADDRESS", "STATUS", "ROLES", "REGION", "LINK", "C2S", "HTTP", "DOMAINS", "LOAD", "VERSION"} {
				if !strings.Contains(lines[0], want) {
					t.Errorf("header lacks %s: %q", want, lines[0])
				}
			}
			for _, l := range lines[1:] {
				f := strings.Fields(l)
				if len(f) < 11 || f[2] != "alive" || f[3] != "edge,core" || f[4] != "eu" || !strings.HasPrefix(f[6], "127.0.0.1:") || f[8] != "localhost" {
					t.Errorf("row %q", l)
				}
			}
			if !strings.Contains(lines[1], "mesh-a") || !strings.Contains(lines[1], a.Mesh().Addr()) || !strings.Contains(lines[1], "(this node)") {
				t.Errorf("first row %q", lines[1])
			}
			return
		}
		if time.Now().After(end) {
			t.Fatalf("mesh-b never listed:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
