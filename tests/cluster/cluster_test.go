//go:build cluster

// Package cluster_test runs the local cluster of scripts/cluster.sh —
// Redis, PostgreSQL, three cores and two edges, each its own meridian
// process on loopback — and drives it with independent clients: chat and
// presence across edges and cores, a core killed (SIGKILL)
// mid-conversation, an edge drained, a roster and an offline message
// that follow a user to another core. Run by scripts/cluster-test.sh
// (make cluster-test).
package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// cluster is a running local cluster.
type cluster struct {
	t        *testing.T
	dir      string
	base     int
	root     string // the repository
	registry string // redis or memory
}

// freeBase finds a first port with the 70 after it free on loopback (TCP
// and UDP), picked at random: the cluster's nodes bind them right after.
func freeBase(t *testing.T) int {
	for range 50 {
		base := 20000 + rand.IntN(40000)
		ok := true
		for p := base; p < base+70 && ok; p++ {
			addr := "127.0.0.1:" + strconv.Itoa(p)
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				ok = false
				break
			}
			pc, err := net.ListenPacket("udp", addr)
			ln.Close()
			if err != nil {
				ok = false
				break
			}
			pc.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free range of 70 ports on loopback")
	return 0
}

func startCluster(t *testing.T, registry string) *cluster {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, dir: t.TempDir(), base: freeBase(t), root: root, registry: registry}
	// PostgreSQL runs as its own user when the test runs as root: it must
	// reach its data directory inside the test's.
	for _, d := range []string{c.dir, filepath.Dir(c.dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range []string{"core-1", "core-2", "core-3", "edge-1", "edge-2", "redis", "postgres/server.log"} {
				b, _ := os.ReadFile(filepath.Join(c.dir, n, "log"))
				t.Logf("--- %s log (last 4 KB)\n%s", n, tail(b, 4096))
			}
		}
		c.script("stop")
	})
	c.script("start")
	return c
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (c *cluster) script(verb string) string {
	cmd := exec.Command(filepath.Join(c.root, "scripts/cluster.sh"), verb)
	cmd.Dir = c.root
	cmd.Env = append(os.Environ(), "MERIDIAN_CLUSTER_DIR="+c.dir, "MERIDIAN_CLUSTER_PORT="+strconv.Itoa(c.base), "MERIDIAN_CLUSTER_REGISTRY="+c.registry)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("cluster.sh %s: %v\n%s", verb, err, out)
	}
	return string(out)
}

// node k: core-1..3 = 1..3, edge-1..2 = 4..5 (scripts/cluster.sh).
func (c *cluster) c2s(edge int) string { return "127.0.0.1:" + strconv.Itoa(c.base+40+3+edge) }

func (c *cluster) pid(name string) int {
	b, err := os.ReadFile(filepath.Join(c.dir, name, "pid"))
	if err != nil {
		c.t.Fatal(err)
	}
	p, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

// metric reads a counter from core k's /metrics (0 when absent).
func (c *cluster) metric(k int, series string) float64 {
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(c.base+20+k) + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	f, _ := xmpptest.MetricValue(string(b), series)
	return f
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// offline counts the messages stored offline for a user in the
// cluster's PostgreSQL.
func (c *cluster) offline(user string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://meridian@127.0.0.1:%d/postgres?sslmode=disable", c.base+1))
	if err != nil {
		c.t.Logf("postgres: %v", err)
		return -1
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM offline_messages WHERE owner = $1", user).Scan(&n); err != nil {
		c.t.Logf("postgres: %v", err)
		return -1
	}
	return n
}

// admin calls a node's admin API over its local socket.
func (c *cluster) admin(name, method, path string, out any) int {
	sock := filepath.Join(c.dir, name, "admin.sock")
	hc := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	req, _ := http.NewRequest(method, "http://node"+path, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// coreOf names the core that holds a full JID's session ("" if none).
func (c *cluster) coreOf(full string) string {
	for _, n := range []string{"core-1", "core-2", "core-3"} {
		var res struct {
			Sessions []struct {
				JID string `json:"jid"`
			} `json:"sessions"`
		}
		if c.admin(n, "GET", "/v1/sessions", &res) != 200 {
			continue
		}
		for _, s := range res.Sessions {
			if s.JID == full {
				return n
			}
		}
	}
	return ""
}

// next returns the next presence or message, skipping the rest.
func next(t *testing.T, c *xmpptest.Conn) *xmltok.Element {
	t.Helper()
	for {
		el := c.Next()
		if el.Local == "presence" || el.Local == "message" {
			return el
		}
	}
}

func expectBody(t *testing.T, c *xmpptest.Conn, body string) {
	t.Helper()
	for range 30 {
		el := next(t, c)
		if el.Local == "message" && xmpptest.HasText(el, body) {
			return
		}
	}
	t.Fatalf("%s did not get %q", c.JID, body)
}

func isPresence(el *xmltok.Element, from, typ string) bool {
	return el.Local == "presence" && el.Attr("from") == from && el.Attr("type") == typ
}

// expectShow waits for an available presence from `from` with that show.
func expectShow(t *testing.T, c *xmpptest.Conn, from, show string) {
	t.Helper()
	for range 30 {
		el := next(t, c)
		if sh := el.Child("jabber:client", "show"); isPresence(el, from, "") && sh != nil && sh.Text == show {
			return
		}
	}
	t.Fatalf("%s: no presence from %s with show %q", c.JID, from, show)
}

// expectAll reads presences and messages until each of want has matched
// one, in any order.
func expectAll(t *testing.T, c *xmpptest.Conn, want map[string]func(*xmltok.Element) bool) {
	t.Helper()
	for range 30 {
		if len(want) == 0 {
			return
		}
		el, err := c.TryNext()
		if err != nil {
			t.Fatalf("%s: %v; still waiting for %v", c.JID, err, slices.Sorted(maps.Keys(want)))
		}
		if el.Local != "presence" && el.Local != "message" {
			continue
		}
		for what, match := range want {
			if match(el) {
				delete(want, what)
				break
			}
		}
	}
	if len(want) > 0 {
		t.Fatalf("%s: still waiting for %v", c.JID, slices.Sorted(maps.Keys(want)))
	}
}

func login(t *testing.T, addr, user, res string) *xmpptest.Conn {
	c := xmpptest.Login(t, addr, "localhost", user, "secret", res)
	c.Send("<presence/>")
	c.ExpectPresence(c.JID, "")
	return c
}

// TestLocalCluster runs the scenario with each session registry: Redis
// (restarted empty on the way), and in memory, replicated between the
// cores over the link.
func TestLocalCluster(t *testing.T) {
	for _, registry := range []string{"redis", "memory"} {
		t.Run(registry, func(t *testing.T) { localCluster(t, startCluster(t, registry)) })
	}
}

func localCluster(t *testing.T, c *cluster) {

	// Each core exchanges with the two others; each edge is linked to a core.
	for _, n := range []string{"core-1", "core-2", "core-3", "edge-1", "edge-2"} {
		var st struct {
			LinkCore     string   `json:"link_core"`
			ClusterPeers []string `json:"cluster_peers"`
		}
		xmpptest.Eventually(t, n+" joined its cluster or core", func() bool {
			if c.admin(n, "GET", "/v1/status", &st) != 200 {
				return false
			}
			if strings.HasPrefix(n, "core") {
				return len(st.ClusterPeers) == 2
			}
			return strings.HasPrefix(st.LinkCore, "core-")
		})
	}

	// Independent clients on two edges: they subscribe to each other, see
	// each other's presence and chat.
	alice := login(t, c.c2s(1), "alice", "laptop")
	bob := login(t, c.c2s(2), "bob", "phone")
	xmpptest.SubscribeBoth(alice, bob)
	alice.Send("<message type='chat' to='" + bob.Bare() + "'><body>hi bob</body></message>")
	expectBody(t, bob, "hi bob")
	bob.Send("<message type='chat' to='" + alice.JID + "'><body>hi alice</body></message>")
	expectBody(t, alice, "hi alice")
	aCore, bCore := c.coreOf(alice.JID), c.coreOf(bob.JID)
	t.Logf("alice on edge-1 → %s, bob on edge-2 → %s", aCore, bCore)
	if aCore == "" || bCore == "" {
		t.Fatalf("sessions not found on the cores: alice %q, bob %q", aCore, bCore)
	}
	// Any core tells where bob's session is in the region (the registry).
	var info struct {
		Region []struct {
			JID  string `json:"jid"`
			Core string `json:"core"`
			Edge string `json:"edge"`
		} `json:"region_sessions"`
	}
	if code := c.admin(aCore, "GET", "/v1/users/bob@localhost", &info); code != 200 || len(info.Region) != 1 || info.Region[0].JID != bob.JID || info.Region[0].Core != bCore || info.Region[0].Edge != "edge-2" {
		t.Fatalf("%s: bob's sessions in the region: %d %+v", aCore, code, info.Region)
	}

	// Redis restarts empty: each core notices (counted), records its
	// sessions again, and the users still reach each other across cores.
	if c.registry == "redis" {
		redisRestart(t, c, alice, bob)
	}

	// A core is killed mid-conversation: bob's. alice keeps sending; bob's
	// session moves to another core with his stream kept, and every
	// message arrives.
	killDuring(t, c, alice, bob, bCore, "n")
	newCore := ""
	xmpptest.Eventually(t, "bob's session on another core", func() bool {
		newCore = c.coreOf(bob.JID)
		return newCore != "" && newCore != bCore
	})
	t.Logf("bob's session now on %s", newCore)
	// His new core has his roster (the cores share PostgreSQL): a change
	// of his presence reaches alice.
	bob.Send("<presence><show>away</show></presence>")
	expectShow(t, alice, bob.JID, "away")
	// alice's tablet, behind edge-2: relayed to her core when edge-2's
	// core is another.
	tablet := login(t, c.c2s(2), "alice", "tablet")
	// Then the sender's core: what alice sent and her edge had not seen
	// acknowledged by her core is sent again to the next one; her tablet
	// moves too (by edge-2, or by the core relaying it), its stream kept.
	if aCore = c.coreOf(alice.JID); aCore != "" && aCore != bCore {
		var st struct {
			LinkCore string `json:"link_core"`
		}
		c.admin("edge-2", "GET", "/v1/status", &st)
		t.Logf("alice's tablet: edge-2 → %s, bound on %s (her core %s)", st.LinkCore, c.coreOf(tablet.JID), aCore)
		killDuring(t, c, alice, bob, aCore, "s")
		xmpptest.Eventually(t, "alice's session on the last core", func() bool {
			n := c.coreOf(alice.JID)
			return n != "" && n != aCore
		})
	}
	bob.Send("<message type='chat' to='" + tablet.JID + "'><body>to the tablet</body></message>")
	expectBody(t, tablet, "to the tablet")
	bob.Send("<message type='chat' to='" + alice.JID + "'><body>still here</body></message>")
	expectBody(t, alice, "still here")

	// edge-2 is drained with no redirect: it sends bob to edge-1, found
	// in the mesh, and exits when empty.
	var st struct {
		Redirect []string `json:"redirect"`
	}
	ctl := exec.Command(filepath.Join(c.root, "bin/meridianctl"), "--config", filepath.Join(c.dir, "edge-2", "meridian.toml"), "--json", "drain", "--timeout", "30s", "--period", "1s", "edge-2")
	out, err := ctl.CombinedOutput()
	if err != nil {
		t.Fatalf("meridianctl drain: %v\n%s", err, out)
	}
	if err := json.Unmarshal(out, &st); err != nil || len(st.Redirect) != 1 || st.Redirect[0] != c.c2s(1) {
		t.Fatalf("drain answered %s (%v); want a redirect to edge-1 %s", out, err, c.c2s(1))
	}
	redirect := strings.TrimPrefix(bob.EndedWith(), "see-other-host ")
	if redirect != c.c2s(1) {
		t.Fatalf("bob was sent to %q, want edge-1 %s", redirect, c.c2s(1))
	}
	edge2 := c.pid("edge-2")
	xmpptest.Eventually(t, "edge-2 exits once drained", func() bool { return !alive(edge2) })
	// While bob is away, alice writes to him: stored offline by her core,
	// in the store every core shares.
	alice.ExpectPresence(bob.JID, "unavailable")
	alice.Send("<message type='chat' to='" + bob.Bare() + "'><body>while you were away</body></message>")
	xmpptest.Eventually(t, "the message stored for bob in PostgreSQL", func() bool { return c.offline("bob@localhost") == 1 })
	bob = xmpptest.Login(t, redirect, "localhost", "bob", "secret", "phone")
	bob.Send("<presence/>")
	// Whichever core he lands on delivers it, and knows his roster: he
	// gets alice's presence, she gets his.
	expectAll(t, bob, map[string]func(*xmltok.Element) bool{
		"his own presence": func(el *xmltok.Element) bool { return isPresence(el, bob.JID, "") },
		"alice's presence": func(el *xmltok.Element) bool { return isPresence(el, alice.JID, "") },
		"the offline message": func(el *xmltok.Element) bool {
			return el.Local == "message" && xmpptest.HasText(el, "while you were away")
		},
	})
	alice.ExpectPresence(bob.JID, "")
	alice.Send("<message type='chat' to='" + bob.JID + "'><body>welcome back</body></message>")
	expectBody(t, bob, "welcome back")
	bob.Send("<message type='chat' to='" + alice.JID + "'><body>same edge now</body></message>")
	expectBody(t, alice, "same edge now")
}

func redisRestart(t *testing.T, c *cluster, alice, bob *xmpptest.Conn) {
	t.Helper()
	c.script("restart-redis")
	restarted := time.Now()
	// Sent before the cores have recorded their sessions in the new
	// Redis: the senders' cores find no entry for the recipients, and wait
	// for the registry to be complete again rather than storing the
	// messages offline.
	alice.Send("<message type='chat' to='" + bob.Bare() + "'><body>during redis</body></message>")
	bob.Send("<message type='chat' to='" + alice.Bare() + "'><body>during redis too</body></message>")
	xmpptest.Eventually(t, "every core recorded its sessions in the new Redis", func() bool {
		for k := 1; k <= 3; k++ {
			if c.metric(k, `meridian_registry_resyncs_total{backend="redis"}`) < 1 {
				return false
			}
		}
		return true
	})
	t.Logf("redis restarted; every core registered its sessions again within %s", time.Since(restarted).Round(10*time.Millisecond))
	expectBody(t, bob, "during redis")
	expectBody(t, alice, "during redis too")
	alice.Send("<message type='chat' to='" + bob.Bare() + "'><body>after redis</body></message>")
	expectBody(t, bob, "after redis")
	bob.Send("<message type='chat' to='" + alice.Bare() + "'><body>after redis too</body></message>")
	expectBody(t, alice, "after redis too")
}

// killDuring sends 60 messages from alice to bob, 50 ms apart, and kills
// the named core (SIGKILL) after the 15th: bob must get every one.
func killDuring(t *testing.T, c *cluster, alice, bob *xmpptest.Conn, core, prefix string) {
	t.Helper()
	const total = 60
	sent := make(chan error, 1)
	go func() {
		for i := 1; i <= total; i++ {
			if _, err := fmt.Fprintf(alice.Net, "<message type='chat' to='%s' id='%s%d'><body>%s%d</body></message>", bob.Bare(), prefix, i, prefix, i); err != nil {
				sent <- err
				return
			}
			if i == 15 {
				syscall.Kill(c.pid(core), syscall.SIGKILL)
			}
			time.Sleep(50 * time.Millisecond)
		}
		sent <- nil
	}()
	got := map[int]int{}
	var order []int
	bob.Timeout = 60 * time.Second
	last, gap := time.Now(), time.Duration(0)
	for len(got) < total {
		el := next(t, bob)
		if el.Local != "message" {
			continue
		}
		gap, last = max(gap, time.Since(last)), time.Now()
		for _, ch := range el.Children {
			if ch.Local == "body" && strings.HasPrefix(ch.Text, prefix) {
				n, _ := strconv.Atoi(ch.Text[len(prefix):])
				got[n]++
				order = append(order, n)
			}
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	dups, outOfOrder := 0, 0
	for i, n := range order {
		if got[n] > 1 {
			dups++
		}
		if i > 0 && n < order[i-1] {
			outOfOrder++
		}
	}
	t.Logf("killed %s after message 15: all %d messages arrived (%d duplicates, %d out of order; longest wait between two: %s, sent every 50ms)", core, total, dups, outOfOrder, gap.Round(time.Millisecond))
	if alive(c.pid(core)) {
		t.Fatalf("%s still runs", core)
	}
}
