package node_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/admin"
	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/node"
)

// meshNode starts a node with the mesh on loopback, fast failure detection,
// and an admin client on its socket whose answers are held against the
// OpenAPI document.
func meshNode(t *testing.T, c *contract, name, region string, roles []string, seeds ...string) (*xmpptest.Server, *adminClient) {
	t.Helper()
	cfg := xmpptest.Config(t)
	cfg.Node.Name = name
	cfg.Node.Roles = roles
	if cfg.CoreOnly() {
		cfg.Link.Listen = "127.0.0.1:0"
	}
	// The nodes of a test (sibling temp dirs) share a development CA.
	cfg.Link.CADir = filepath.Join(filepath.Dir(cfg.Node.DataDir), "cluster-ca")
	cfg.Mesh = config.Mesh{
		Enabled:       true,
		Bind:          "127.0.0.1:0",
		Seeds:         seeds,
		Region:        region,
		Secret:        "AAECAwQFBgcICQoLDA0ODw==",
		ProbeInterval: config.Duration{Duration: 200 * time.Millisecond},
		ProbeTimeout:  config.Duration{Duration: 100 * time.Millisecond},
		LoadInterval:  config.Duration{Duration: time.Second},
	}
	s := xmpptest.Start(t, cfg)
	sock := node.AdminSocket(cfg.Node.DataDir)
	unix := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}
	return s, &adminClient{t: t, http: &http.Client{Transport: &contract{t: t, base: unix, doc: c.doc, router: c.router, seen: c.seen}}, base: "http://node"}
}

func getMembers(t *testing.T, api *adminClient) map[string]admin.Member {
	t.Helper()
	var out struct{ Members []admin.Member }
	api.expect(200, "GET", "/v1/mesh", nil).decode(t, &out)
	m := map[string]admin.Member{}
	for _, mem := range out.Members {
		m[mem.Name] = mem
	}
	return m
}

// waitMembers polls /v1/mesh until cond holds, within a generous deadline.
func waitMembers(t *testing.T, api *adminClient, what string, cond func(map[string]admin.Member) bool) map[string]admin.Member {
	t.Helper()
	end := time.Now().Add(30 * time.Second)
	for {
		ms := getMembers(t, api)
		if cond(ms) {
			return ms
		}
		if time.Now().After(end) {
			t.Fatalf("%s: not reached; members %+v", what, ms)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMeshNodes: two nodes with the mesh on find each other through one
// seed and list each other, with their tags, in GET /v1/mesh; a node that
// shuts down is seen to leave.
func TestMeshNodes(t *testing.T) {
	c := newContract(t)
	a, apiA := meshNode(t, c, "core-1", "eu", []string{"core"})
	seed := a.Mesh().Addr()
	b, apiB := meshNode(t, c, "edge-1", "eu", []string{"edge"}, seed)
	xmpptest.Dial(t, b.C2S, "localhost").Open() // one open stream: load 1 (see below)

	for _, api := range []*adminClient{apiA, apiB} {
		waitMembers(t, api, "both alive", func(ms map[string]admin.Member) bool {
			return len(ms) == 2 && ms["core-1"].Status == "alive" && ms["edge-1"].Status == "alive"
		})
	}
	ms := waitMembers(t, apiA, "edge load gossiped", func(ms map[string]admin.Member) bool { return ms["edge-1"].Load >= 1 })
	e := ms["edge-1"]
	if e.Self || e.Address != b.Mesh().Addr() || e.Region != "eu" || strings.Join(e.Roles, ",") != "edge" ||
		strings.Join(e.Domains, ",") != "localhost" || e.HTTP != b.HTTP || e.Version == "" || e.Problem != "" {
		t.Errorf("core-1 sees edge-1 as %+v (http %s)", e, b.HTTP)
	}
	if !ms["core-1"].Self || ms["core-1"].Address != seed {
		t.Errorf("core-1 sees itself as %+v", ms["core-1"])
	}
	if got := a.Mesh().Edges("eu"); len(got) != 1 || got[0].Name != "edge-1" {
		t.Errorf("Edges(eu) = %+v", got)
	}

	// A graceful shutdown is a leave, not a failure.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.Shutdown(ctx)
	waitMembers(t, apiA, "edge-1 left", func(ms map[string]admin.Member) bool { return ms["edge-1"].Status == "left" })
	if got := a.Mesh().Edges("eu"); len(got) != 0 {
		t.Errorf("Edges(eu) after the edge left = %+v", got)
	}
}

// TestMeshOff: without the mesh, /v1/mesh lists this node alone, with its
// client address and tags, and nothing binds a mesh port.
func TestMeshOff(t *testing.T) {
	c := newContract(t)
	cfg := xmpptest.Config(t)
	cfg.Node.Name = "solo"
	s := xmpptest.Start(t, cfg)
	if s.Mesh() != nil {
		t.Fatal("mesh started while disabled")
	}
	sock := node.AdminSocket(cfg.Node.DataDir)
	unix := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}
	api := &adminClient{t: t, http: &http.Client{Transport: &contract{t: t, base: unix, doc: c.doc, router: c.router, seen: c.seen}}, base: "http://node"}
	ms := getMembers(t, api)
	self := ms["solo"]
	if len(ms) != 1 || !self.Self || self.Status != "alive" || self.Address != s.C2S || self.Region != "default" || strings.Join(self.Domains, ",") != "localhost" {
		t.Fatalf("members: %+v", ms)
	}
}

// TestMeshTagsTooLong: a node whose tags do not fit fails to start, naming
// the key to shorten.
func TestMeshTagsTooLong(t *testing.T) {
	cfg := xmpptest.Config(t)
	cfg.Mesh.Enabled = true
	cfg.Mesh.Bind = "127.0.0.1:0"
	for i := range 40 {
		cfg.VHosts = append(cfg.VHosts, config.VHost{Domain: "domain-number-" + string(rune('a'+i%26)) + strings.Repeat("x", i) + ".example"})
	}
	n, err := node.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Start()
	if err == nil {
		n.Shutdown(context.Background())
		t.Fatal("started with 40 domains in the tags")
	}
	if !strings.Contains(err.Error(), "vhosts") || !strings.Contains(err.Error(), "512") {
		t.Fatalf("error does not name vhosts and the limit: %v", err)
	}
}
