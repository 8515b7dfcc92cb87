package node_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meridian-xmpp/meridian/core/admin"
	"github.com/meridian-xmpp/meridian/internal/config"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/node"
)

// testLog is the nodes' logger: discarded unless MERIDIAN_TEST_LOG is set.
func testLog(name string) *slog.Logger {
	if os.Getenv("MERIDIAN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
	}
	return slog.New(slog.DiscardHandler)
}

// coreConfig is a core-only node on loopback: the edge link on link (port
// 0: a free one), the development CA in caDir, data in dataDir.
func coreConfig(t *testing.T, name, caDir, dataDir, link string) *config.Config {
	cfg := xmpptest.Config(t)
	cfg.Node.Name = name
	cfg.Node.Roles = []string{"core"}
	cfg.Node.DataDir = dataDir
	cfg.Link.Listen = link
	cfg.Link.CADir = caDir
	return cfg
}

// edgeConfig is an edge-only node on loopback using cores (none: the mesh
// must be set by the caller).
func edgeConfig(t *testing.T, name, caDir string, cores ...string) *config.Config {
	cfg := xmpptest.Config(t)
	cfg.Node.Name = name
	cfg.Node.Roles = []string{"edge"}
	cfg.Link.Cores = cores
	cfg.Link.CADir = caDir
	return cfg
}

// startNode runs a node of any roles until the test ends (or until it is
// shut down earlier).
func startNode(t *testing.T, cfg *config.Config) *node.Node {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := node.New(cfg, testLog(cfg.Node.Name))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(n) })
	return n
}

func shutdown(n *node.Node) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n.Shutdown(ctx)
}

// edgeServer wraps an edge-only node as the xmpptest helpers expect.
func edgeServer(t *testing.T, cfg *config.Config) *xmpptest.Server {
	t.Helper()
	n := startNode(t, cfg)
	return &xmpptest.Server{Node: n, Config: cfg, C2S: n.Addrs("c2s")[0].String(), TLS: n.Addrs("c2s_tls")[0].String(), Web: n.Addrs("web")[0].String(), WebTLS: n.Addrs("web_tls")[0].String()}
}

func addUsers(t *testing.T, core *node.Node, users ...string) {
	t.Helper()
	for _, u := range users {
		if err := core.Core().CreateUser(context.Background(), mustJID(t, u+"@localhost"), "secret"); err != nil {
			t.Fatal(err)
		}
	}
}

// chatTo sends a message from a to b's full JID and expects b to get it.
func chatTo(t *testing.T, from, to *xmpptest.Conn, body string) {
	t.Helper()
	from.Send("<message type='chat' to='" + to.JID + "' id='m-" + body + "'><body>" + body + "</body></message>")
	for range 20 {
		el := to.Next()
		if el.Local == "message" && xmpptest.HasText(el, body) {
			if el.Attr("from") != from.JID {
				t.Fatalf("message from %q, want %q", el.Attr("from"), from.JID)
			}
			return
		}
	}
	t.Fatalf("%s did not get %q", to.JID, body)
}

func available(t *testing.T, cs ...*xmpptest.Conn) {
	t.Helper()
	for _, c := range cs {
		c.Send("<presence/>")
		c.ExpectPresence(c.JID, "") // self-presence (RFC 6121 §4.2.2)
	}
}

// TestRolesStaticCores: a core-only node and an edge-only node that finds
// it through link.cores. Clients of the edge log in (SASL against the
// core's accounts), manage their roster, subscribe, see each other's
// presence and exchange messages, over TCP and WebSocket; the edge opens
// no store and its admin API serves only what needs no core.
func TestRolesStaticCores(t *testing.T) {
	caDir := filepath.Join(t.TempDir(), "ca")
	core := startNode(t, coreConfig(t, "core-1", caDir, t.TempDir(), "127.0.0.1:0"))
	if len(core.Addrs("c2s")) != 0 || len(core.Addrs("web")) != 0 || len(core.Addrs("web_tls")) != 0 {
		t.Fatalf("a core-only node listens for clients: %v %v", core.Addrs("c2s"), core.Addrs("web"))
	}
	link := core.Addrs("link")[0].String()
	addUsers(t, core, "alice", "bob", "carol")

	ecfg := edgeConfig(t, "edge-1", caDir, link)
	edge := edgeServer(t, ecfg)
	if edge.Core() != nil {
		t.Fatal("an edge-only node has a core")
	}
	if _, err := os.Stat(filepath.Join(ecfg.Node.DataDir, "meridian.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an edge-only node opened the store: %v", err)
	}

	a := xmpptest.Login(t, edge.C2S, "localhost", "alice", "secret", "a")
	b := xmpptest.Login(t, edge.C2S, "localhost", "bob", "secret", "b")
	if got := edge.LinkConnected(); got != "core-1" {
		t.Fatalf("edge connected to %q", got)
	}

	// Roster set and get: IQs through the link to the core's roster module.
	a.Send("<iq type='get' id='r0'><query xmlns='jabber:iq:roster'/></iq>")
	if el := a.Expect("iq"); el.Attr("type") != "result" {
		t.Fatalf("roster get: %s", el)
	}
	a.Send("<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='carol@localhost' name='Carol'/></query></iq>")
	expectPush(t, a, "carol@localhost")
	a.Send("<iq type='get' id='r2'><query xmlns='jabber:iq:roster'/></iq>")
	for {
		el := a.Expect("iq")
		if el.Attr("id") != "r2" {
			continue
		}
		if el.Attr("type") != "result" || !xmpptest.HasText(el, "carol@localhost") || !xmpptest.HasText(el, "Carol") {
			t.Fatalf("roster get: %s", el)
		}
		break
	}

	available(t, a, b)
	xmpptest.SubscribeBoth(a, b)
	chatTo(t, a, b, "hello-bob")
	chatTo(t, b, a, "hello-alice")

	// A WebSocket client of the edge.
	ws, wsJID := loginWS(t, edge, true, "SCRAM-SHA-256-PLUS", "carol", "web")
	a.Send("<message type='chat' to='" + wsJID + "'><body>to-carol</body></message>")
	for {
		el := ws.expect("message")
		if strings.Contains(el.String(), "to-carol") {
			if el.Attr("from") != a.JID {
				t.Fatalf("from %q", el.Attr("from"))
			}
			break
		}
	}

	// The core sees the edge's sessions; the edge's status counts streams.
	if n := core.Core().SessionCount(); n != 3 {
		t.Errorf("core holds %d sessions, want 3", n)
	}
	c := newContract(t)
	api := adminOn(t, c, ecfg.Node.DataDir)
	var st admin.Status
	api.expect(200, "GET", "/v1/status", nil).decode(t, &st)
	if strings.Join(st.Roles, ",") != "edge" || st.Streams < 3 || st.Sessions != 0 {
		t.Errorf("edge status: %+v", st)
	}
	r := api.expect(503, "GET", "/v1/users?domain=localhost", nil)
	if !strings.Contains(string(r.body), "no core role") {
		t.Errorf("503 body: %s", r.body)
	}
	api.expect(503, "GET", "/v1/sessions", nil)
	api.expect(200, "GET", "/v1/mesh", nil)
}

// adminOn is an admin client on a node's socket, held to the document.
func adminOn(t *testing.T, c *contract, dataDir string) *adminClient {
	sock := node.AdminSocket(dataDir)
	unix := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}
	return &adminClient{t: t, http: &http.Client{Transport: &contract{t: t, base: unix, doc: c.doc, router: c.router, seen: c.seen}}, base: "http://node"}
}

// TestRolesMesh: the edge finds its region's core through the mesh, from
// one seed: the core announces its link address as the link tag.
func TestRolesMesh(t *testing.T) {
	caDir := filepath.Join(t.TempDir(), "ca")
	ccfg := coreConfig(t, "core-1", caDir, t.TempDir(), "127.0.0.1:0")
	meshOn(ccfg)
	core := startNode(t, ccfg)
	link := core.Addrs("link")[0].String()
	if got := core.Mesh().Self().Tags.Link; got != link {
		t.Fatalf("core's link tag %q, want %q", got, link)
	}
	addUsers(t, core, "alice", "bob")

	ecfg := edgeConfig(t, "edge-1", caDir)
	meshOn(ecfg, core.Mesh().Addr())
	edge := edgeServer(t, ecfg)
	xmpptest.Eventually(t, "edge connected to core-1 through the mesh", func() bool { return edge.LinkConnected() == "core-1" })
	cores := edge.Mesh().Cores("eu")
	if len(cores) != 1 || cores[0].Tags.Link != link {
		t.Fatalf("edge's route view: %+v", cores)
	}

	a := xmpptest.Login(t, edge.C2S, "localhost", "alice", "secret", "a")
	b := xmpptest.Login(t, edge.C2S, "localhost", "bob", "secret", "b")
	available(t, a, b)
	xmpptest.SubscribeBoth(a, b)
	chatTo(t, a, b, "via-mesh")

	// The core's mesh load is its sessions.
	xmpptest.Eventually(t, "core load gossiped", func() bool {
		for _, m := range edge.Mesh().Members() {
			if m.Name == "core-1" && m.Tags.Load == 2 {
				return true
			}
		}
		return false
	})
}

// TestRolesCoreRestart: the core stops and a new core starts on the same
// data directory and link address. The edge reconnects by itself; its
// clients keep their streams, and their sessions are reopened on the new
// core, which routes to them again; new logins work. A reopened session
// keeps what its client told the old core without the client sending it
// again: its presence (contacts see it available, messages to the bare
// JID are delivered live), its interest in roster pushes and carbons.
func TestRolesCoreRestart(t *testing.T) {
	caDir := filepath.Join(t.TempDir(), "ca")
	coreDir := t.TempDir()
	core := startNode(t, coreConfig(t, "core-1", caDir, coreDir, "127.0.0.1:0"))
	link := core.Addrs("link")[0].String()
	addUsers(t, core, "alice", "bob", "carol")
	edge := edgeServer(t, edgeConfig(t, "edge-1", caDir, link))

	a := xmpptest.Login(t, edge.C2S, "localhost", "alice", "secret", "a")
	a2 := xmpptest.Login(t, edge.C2S, "localhost", "alice", "secret", "a2")
	b := xmpptest.Login(t, edge.C2S, "localhost", "bob", "secret", "b")
	// a asks for its roster (an interested resource, RFC 6121 §2.1.6);
	// a2 stays unavailable but enables carbons (XEP-0280).
	a.Send("<iq type='get' id='roster-1'><query xmlns='jabber:iq:roster'/></iq>")
	if r := a.Expect("iq"); r.Attr("id") != "roster-1" || r.Attr("type") != "result" {
		t.Fatalf("roster get: %s", r)
	}
	enableCarbons(t, a2)
	available(t, a, b)
	xmpptest.SubscribeBoth(a, b)
	chatTo(t, a, b, "before")

	failovers := testutil.ToFloat64(metrics.LinkFailovers)
	carried := testutil.ToFloat64(metrics.LinkCarried)
	shutdown(core)
	xmpptest.Eventually(t, "edge noticed the core left", func() bool { return testutil.ToFloat64(metrics.LinkFailovers) > failovers })
	core2 := startNode(t, coreConfig(t, "core-1", caDir, coreDir, link))
	xmpptest.Eventually(t, "edge reconnected", func() bool { return edge.LinkConnected() == "core-1" })
	xmpptest.Eventually(t, "sessions reopened on the new core", func() bool { return core2.Core().SessionCount() == 3 })

	// Without a word from the clients: bob sees alice available again
	// (her carried presence, or the answer to his carried presence's
	// probe), and the new core has both available.
	b.ExpectPresence(a.JID, "")
	xmpptest.Eventually(t, "alice and bob available on the new core", func() bool {
		n := 0
		for _, ss := range core2.Core().AllSessions() {
			if (ss.JID.String() == a.JID || ss.JID.String() == b.JID) && ss.Available {
				n++
			}
		}
		return n == 2
	})
	if got := testutil.ToFloat64(metrics.LinkCarried) - carried; got != 4 {
		// a: presence and roster get; a2: carbons; b: presence.
		t.Fatalf("%v stanzas carried, want 4", got)
	}

	// The streams are alive: an IQ to the server is answered by the new
	// core; the replies to the carrying IQs (roster get, carbons enable)
	// never reach the clients.
	a.Send("<iq type='get' id='ping-after' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
	for {
		el := a.Expect("iq")
		if el.Attr("id") == "ping-after" {
			if el.Attr("type") != "result" {
				t.Fatalf("ping after the restart: %s", el)
			}
			break
		}
		if el.Attr("type") != "set" { // roster pushes may still come
			t.Fatalf("alice got a reply she did not ask for: %s", el)
		}
	}
	a2.Send("<iq type='get' id='ping-a2' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
	if el := a2.Expect("iq"); el.Attr("id") != "ping-a2" {
		t.Fatalf("a2 got an IQ it did not ask for: %s", el)
	}
	// A message to a full JID reaches the reopened session.
	chatTo(t, a, b, "after")
	// A message to the bare JID is delivered live to the available
	// resource, and a2 gets its carbon.
	b.Send("<message type='chat' to='alice@localhost' id='bare-1'><body>to-bare</body></message>")
	for i := 0; ; i++ {
		el := a.Next()
		if el.Local == "message" && xmpptest.HasText(el, "to-bare") {
			break
		}
		if i == 20 {
			t.Fatal("the message to the bare JID did not reach alice live")
		}
	}
	// (a2 also gets <sent/> carbons of what a sent.)
	for i := 0; ; i++ {
		el := a2.Expect("message")
		if el.Child(nsCarbons, "received") != nil && xmpptest.HasText(el, "to-bare") {
			break
		}
		if i == 20 {
			t.Fatal("a2 got no carbon of the message to the bare JID")
		}
	}
	// a is still interested: a2's roster change is pushed to it.
	a2.Send("<iq type='set' id='roster-set'><query xmlns='jabber:iq:roster'><item jid='carol@localhost'/></query></iq>")
	for i := 0; ; i++ {
		el := a.Expect("iq")
		if q := el.Child("jabber:iq:roster", "query"); el.Attr("type") == "set" && q != nil &&
			q.Child("jabber:iq:roster", "item") != nil && q.Child("jabber:iq:roster", "item").Attr("jid") == "carol@localhost" {
			break
		}
		if i == 20 {
			t.Fatal("no roster push to the reopened interested resource")
		}
	}
	// New logins work.
	c := xmpptest.Login(t, edge.C2S, "localhost", "carol", "secret", "c")
	available(t, c)
	chatTo(t, c, a, "from-carol")
}

// TestRolesConfigErrors: a node whose roles lack what they need does not
// start, and the error names the key.
func TestRolesConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*config.Config)
		want string
	}{
		{"edge without cores", func(c *config.Config) { c.Node.Roles = []string{"edge"} }, "link.cores"},
		{"core without listen", func(c *config.Config) { c.Node.Roles = []string{"core"} }, "link.listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := xmpptest.Config(t)
			tc.cfg(cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), "config: "+tc.want+":") {
				t.Fatalf("got %v, want an error naming %s", err, tc.want)
			}
		})
	}
	// An edge whose core is of another CA never connects; it keeps trying.
	refused := func() float64 {
		return testutil.ToFloat64(metrics.LinkHandshakeRefused.WithLabelValues("edge", "unknown_ca")) +
			testutil.ToFloat64(metrics.LinkHandshakeRefused.WithLabelValues("core", "unknown_ca"))
	}
	before := refused()
	core := startNode(t, coreConfig(t, "core-1", filepath.Join(t.TempDir(), "ca1"), t.TempDir(), "127.0.0.1:0"))
	edge := startNode(t, edgeConfig(t, "edge-1", filepath.Join(t.TempDir(), "ca2"), core.Addrs("link")[0].String()))
	xmpptest.Eventually(t, "the link refused across CAs", func() bool { return refused() > before })
	if got := edge.LinkConnected(); got != "" {
		t.Fatalf("edge connected to %q across CAs", got)
	}
}
