package mesh

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
)

// deadline is how long a test waits for the mesh to converge: generous,
// as the machine may be loaded; a healthy run takes well under a second.
const deadline = 30 * time.Second

// fast is a config for loopback tests: quick probes, gossip and retries.
func fast(name string, seeds ...string) Config {
	return Config{
		Name:  name,
		Bind:  "127.0.0.1:0",
		Seeds: seeds,
		Tags:  Tags{Roles: []string{RoleEdge, RoleCore}, Region: "eu", Domains: []string{"example.com"}, Version: "dev", HTTP: "127.0.0.1:5280"},
		// Fast enough to detect failures in a few seconds, slack enough
		// that a loaded machine (the race detector, parallel packages)
		// does not make live members look dead.
		ProbeInterval:  300 * time.Millisecond,
		ProbeTimeout:   200 * time.Millisecond,
		GossipInterval: 20 * time.Millisecond,
		JoinBackoff:    50 * time.Millisecond,
		JoinBackoffMax: 500 * time.Millisecond,
		LeaveTimeout:   2 * time.Second,
	}
}

func start(t *testing.T, cfg Config) *Mesh {
	t.Helper()
	m, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return m
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%s: not reached within %s; last state: %s", what, deadline, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func describe(ms []Member) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%s(%s %s %q) ", m.Name, m.Status, m.Addr, m.Problem)
	}
	return b.String()
}

func statusOfMember(m *Mesh, name string) Status {
	for _, mem := range m.Members() {
		if mem.Name == name {
			return mem.Status
		}
	}
	return ""
}

func names(ms []Member) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	return strings.Join(out, ",")
}

// TestCluster: three members join through one seed and see each other
// with their tags; one stopped hard is marked failed and leaves the route
// view; one that leaves gracefully is marked left.
func TestCluster(t *testing.T) {
	a := start(t, fast("a"))
	bCfg := fast("b", a.Addr())
	bCfg.Tags.Roles = []string{RoleCore}
	bCfg.Tags.Link = "127.0.0.1:7000"
	b := start(t, bCfg)
	cCfg := fast("c", a.Addr())
	cCfg.Tags.Roles = []string{RoleEdge}
	cCfg.Tags.Domains = []string{"example.com", "example.net"}
	var load atomic.Int64
	load.Store(3)
	cCfg.Load = func() int { return int(load.Load()) }
	cCfg.LoadInterval = 50 * time.Millisecond
	c := start(t, cCfg)

	for _, m := range []*Mesh{a, b, c} {
		eventually(t, m.Name()+" sees three alive members", func() (bool, string) {
			ms := m.Members()
			alive := 0
			for _, mem := range ms {
				if mem.Status == StatusAlive && mem.Problem == "" {
					alive++
				}
			}
			return alive == 3, describe(ms)
		})
		if got := names(m.Cores("eu")); got != "a,b" {
			t.Errorf("%s: Cores(eu) = %s, want a,b", m.Name(), got)
		}
		if got := names(m.Edges("eu")); got != "a,c" {
			t.Errorf("%s: Edges(eu) = %s, want a,c", m.Name(), got)
		}
		if got := m.Cores("us"); len(got) != 0 {
			t.Errorf("%s: Cores(us) = %v", m.Name(), got)
		}
		if self := m.Self(); self.Name != m.Name() || !self.Self || self.Addr != m.Addr() {
			t.Errorf("Self() = %+v, addr %s", self, m.Addr())
		}
	}
	// The tags arrive whole.
	for _, mem := range a.Members() {
		if mem.Name != "b" {
			continue
		}
		if mem.Tags.Link != "127.0.0.1:7000" || mem.Tags.HTTP != "127.0.0.1:5280" || mem.Tags.Region != "eu" || mem.Tags.Version != "dev" || !mem.Tags.Has(RoleCore) || mem.Tags.Has(RoleEdge) || mem.Addr != b.Addr() {
			t.Errorf("a sees b as %+v", mem)
		}
	}
	// The load is gossiped when it changes.
	load.Store(42)
	eventually(t, "b sees c's new load", func() (bool, string) {
		for _, mem := range b.Edges("eu") {
			if mem.Name == "c" {
				return mem.Tags.Load == 42 && strings.Join(mem.Tags.Domains, ",") == "example.com,example.net", fmt.Sprintf("%+v", mem.Tags)
			}
		}
		return false, describe(b.Members())
	})

	// c stops hard: the others see it fail, and it leaves the route view.
	c.Shutdown()
	for _, m := range []*Mesh{a, b} {
		eventually(t, m.Name()+" sees c failed", func() (bool, string) {
			return statusOfMember(m, "c") == StatusFailed && names(m.Edges("eu")) == "a", describe(m.Members())
		})
	}

	// b leaves gracefully: a sees it left, not failed.
	if err := b.Leave(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a sees b left", func() (bool, string) {
		return statusOfMember(a, "b") == StatusLeft && names(a.Cores("eu")) == "a", describe(a.Members())
	})
	// Leave and Shutdown are idempotent.
	if err := b.Leave(); err != nil {
		t.Errorf("second Leave: %v", err)
	}
	b.Shutdown()
}

// TestAlone: a node with no seeds is a cluster of one.
func TestAlone(t *testing.T) {
	m := start(t, fast("solo"))
	if _, port, _ := net.SplitHostPort(m.Addr()); port == "0" || port == "" {
		t.Fatalf("Addr() = %q: the chosen port is not reported", m.Addr())
	}
	ms := m.Members()
	if len(ms) != 1 || ms[0].Name != "solo" || ms[0].Status != StatusAlive || !ms[0].Self || ms[0].Problem != "" {
		t.Fatalf("Members() = %s", describe(ms))
	}
	if names(m.Cores("eu")) != "solo" || names(m.Edges("eu")) != "solo" {
		t.Fatalf("route view: cores %v edges %v", m.Cores("eu"), m.Edges("eu"))
	}
	if err := m.Leave(); err != nil {
		t.Fatal(err)
	}
	// After shutdown the view is still readable and subscriptions end.
	ch, cancel := m.Subscribe()
	defer cancel()
	if _, open := <-ch; open {
		t.Fatal("subscription after shutdown is open")
	}
}

// freeAddr finds a loopback port free for both TCP and UDP.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		pc, err := net.ListenPacket("udp", addr)
		ln.Close()
		if err == nil {
			pc.Close()
			return addr
		}
	}
	t.Fatal("no free port for TCP and UDP")
	return ""
}

// TestJoinRetry: a node whose seed is not up yet keeps trying, and joins
// once the seed starts.
func TestJoinRetry(t *testing.T) {
	seed := freeAddr(t)
	b := start(t, fast("b", seed))
	eventually(t, "b retries", func() (bool, string) {
		n := b.joinAttempts.Load()
		return n >= 2, fmt.Sprintf("%d attempts", n)
	})
	aCfg := fast("a")
	aCfg.Bind = seed
	a := start(t, aCfg)
	for _, m := range []*Mesh{a, b} {
		eventually(t, m.Name()+" sees both", func() (bool, string) {
			return names(m.Cores("eu")) == "a,b", describe(m.Members())
		})
	}
}

// TestEncryption: members with the same key form a cluster; one with
// another key cannot join, is refused at every attempt, and nobody
// crashes.
func TestEncryption(t *testing.T) {
	key1 := []byte("0123456789abcdef")
	key2 := []byte("fedcba9876543210")
	aCfg := fast("a")
	aCfg.Secret = key1
	a := start(t, aCfg)
	bCfg := fast("b", a.Addr())
	bCfg.Secret = key1
	b := start(t, bCfg)
	eventually(t, "same key joins", func() (bool, string) {
		return names(a.Cores("eu")) == "a,b" && names(b.Cores("eu")) == "a,b", describe(a.Members())
	})

	xCfg := fast("x", a.Addr())
	xCfg.Secret = key2
	x := start(t, xCfg)
	yCfg := fast("y", a.Addr()) // no key at all
	y := start(t, yCfg)
	eventually(t, "other keys are refused repeatedly", func() (bool, string) {
		return x.joinFailures.Load() >= 3 && y.joinFailures.Load() >= 3, fmt.Sprintf("x %d, y %d failures", x.joinFailures.Load(), y.joinFailures.Load())
	})
	for _, m := range []*Mesh{a, b} {
		if got := names(m.Members()); got != "a,b" {
			t.Errorf("%s knows %s, want a,b", m.Name(), got)
		}
	}
	for _, m := range []*Mesh{x, y} {
		if got := names(m.Members()); got != m.Name() {
			t.Errorf("%s knows %s, want only itself", m.Name(), got)
		}
	}

	if _, err := Start(Config{Name: "k", Bind: "127.0.0.1:0", Secret: []byte("short"), Tags: fast("k").Tags}); err == nil {
		t.Error("a 5-byte secret was accepted")
	}
}

// rawAgent is a Serf agent outside this package's control, announcing
// whatever tags a test gives it.
func rawAgent(t *testing.T, name string, tags map[string]string, seed string) *serf.Serf {
	t.Helper()
	sc := serf.DefaultConfig()
	sc.NodeName = name
	sc.Tags = tags
	sc.Logger = log.New(io.Discard, "", 0)
	mc := memberlist.DefaultLANConfig()
	mc.BindAddr, mc.BindPort = "127.0.0.1", 0
	mc.ProbeInterval, mc.ProbeTimeout, mc.GossipInterval = 300*time.Millisecond, 200*time.Millisecond, 20*time.Millisecond
	// A tag update that gossip loses (nine agents on a loaded machine) is
	// repaired by the next full state exchange: make those frequent.
	mc.PushPullInterval = 500 * time.Millisecond
	mc.Logger = sc.Logger
	sc.MemberlistConfig = mc
	s, err := serf.Create(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown() })
	if _, err := s.Join([]string{seed}, true); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBogusMembers: members whose tags do not parse are listed with the
// problem, kept out of the route view, and reported once each however
// often they gossip.
func TestBogusMembers(t *testing.T) {
	a := start(t, fast("a"))
	good := fast("").Tags.encode()
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == "\x00delete" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := map[string]map[string]string{
		"role":      with("role", "edge,router"),
		"noregion":  with("region", "\x00delete"),
		"load":      with("load", "lots"),
		"version":   with("version", "v1.2.3 \x01garbage"),
		"domains":   with("domains", "example.com,,"),
		"link":      with("link", "not an address"),
		"legacy":    nil, // no tags at all
		"roleempty": with("role", ""),
	}
	agents := map[string]*serf.Serf{}
	for name, tags := range cases {
		agents[name] = rawAgent(t, "bogus-"+name, tags, a.Addr())
	}
	eventually(t, "a lists every bogus member with its problem", func() (bool, string) {
		ms := a.Members()
		n := 0
		for _, m := range ms {
			if strings.HasPrefix(m.Name, "bogus-") && m.Problem != "" {
				n++
			}
		}
		return n == len(cases), describe(ms)
	})
	if got := names(a.Cores("eu")); got != "a" {
		t.Errorf("Cores(eu) = %s, want a alone", got)
	}
	if got := names(a.Edges("eu")); got != "a" {
		t.Errorf("Edges(eu) = %s, want a alone", got)
	}
	if got := a.Bogus(); got != len(cases) {
		t.Errorf("Bogus() = %d, want %d", got, len(cases))
	}
	// Gossiping the same bad tag again reports nothing new; a new problem
	// is reported.
	v := a.Version()
	if err := agents["load"].SetTags(with("load", "lots")); err != nil {
		t.Fatal(err)
	}
	if err := agents["role"].SetTags(with("role", "edge,core,core")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a hears the updates", func() (bool, string) {
		return a.Version() > v && a.Bogus() == len(cases)+1, fmt.Sprintf("version %d→%d, bogus %d", v, a.Version(), a.Bogus())
	})
	// A bogus member that fixes its tags becomes routable.
	if err := agents["version"].SetTags(good); err != nil {
		t.Fatal(err)
	}
	eventually(t, "fixed member routable", func() (bool, string) {
		return names(a.Cores("eu")) == "a,bogus-version", describe(a.Members())
	})
}

// TestBlockedSubscriber: a subscriber that never reads holds up neither
// the event drain nor the other subscribers.
func TestBlockedSubscriber(t *testing.T) {
	a := start(t, fast("a"))
	_, cancelBlocked := a.Subscribe() // never read
	defer cancelBlocked()
	live, cancel := a.Subscribe()
	defer cancel()
	seen := make(chan int, 1)
	go func() {
		for range live {
			select {
			case seen <- len(a.Cores("eu")):
			default:
				<-seen
				seen <- len(a.Cores("eu"))
			}
		}
	}()
	const n = 6
	for i := range n {
		start(t, fast(fmt.Sprintf("m%d", i), a.Addr()))
	}
	eventually(t, "the live subscriber sees every member", func() (bool, string) {
		select {
		case got := <-seen:
			return got == n+1, fmt.Sprintf("%d cores", got)
		default:
			return false, fmt.Sprintf("no wake-up; a knows %s", names(a.Members()))
		}
	})
	// Many more events go by; the drain goroutine keeps up.
	if a.Version() < n {
		t.Errorf("Version() = %d after %d joins", a.Version(), n)
	}
}

func TestTags(t *testing.T) {
	ok := Tags{Roles: []string{RoleCore}, Region: "eu-west-1", Domains: []string{"example.com"}, Load: 7, Version: "v0.0.0-20261126231543-f5c1dbe7a1b2+dirty", Link: "10.0.0.1:7443", HTTP: "[::1]:5280", C2S: "10.0.0.2:5222", Draining: true}
	got, err := parseTags(ok.encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Region != ok.Region || got.Load != 7 || got.Version != ok.Version || got.HTTP != ok.HTTP || got.C2S != ok.C2S || !got.Draining || !got.Has(RoleCore) {
		t.Fatalf("round trip: %+v", got)
	}
	for _, tc := range []struct {
		tag, value, want string
	}{
		{"role", "", "missing"},
		{"role", "core,core", "listed twice"},
		{"role", "CORE", "unknown role"},
		{"region", "EU", "invalid region"},
		{"region", "-eu", "invalid region"},
		{"load", "-1", "not a count"},
		{"load", "1e3", "not a count"},
		{"version", "latest", "invalid version"},
		{"version", "", "missing"},
		{"http", "localhost", "invalid address"},
		{"link", "host:0", "invalid address"},
		{"domains", "Example.com", "invalid domain"},
		{"c2s", "10.0.0.2", "invalid address"},
		{"state", "sleeping", "unknown state"},
	} {
		raw := ok.encode()
		raw[tc.tag] = tc.value
		_, err := parseTags(raw)
		var te *TagError
		if !errors.As(err, &te) || te.Tag != tc.tag || !strings.Contains(te.Problem, tc.want) {
			t.Errorf("%s=%q: err %v, want %q on %s", tc.tag, tc.value, err, tc.want, tc.tag)
		}
	}
	// Unknown tags are ignored (a newer version may add some).
	raw := ok.encode()
	raw["future"] = "x"
	if _, err := parseTags(raw); err != nil {
		t.Errorf("unknown tag: %v", err)
	}
}

// TestTagsTooLong: tags over Serf's limit are refused at start, naming
// the largest tag, before any socket is bound.
func TestTagsTooLong(t *testing.T) {
	cfg := fast("a")
	for i := range 40 {
		cfg.Tags.Domains = append(cfg.Tags.Domains, fmt.Sprintf("domain-number-%d.example.com", i))
	}
	_, err := Start(cfg)
	var tl *TagsTooLongError
	if !errors.As(err, &tl) || tl.Largest != "domains" || tl.Size <= MaxTagsSize {
		t.Fatalf("Start with 40 domains: %v", err)
	}
	// The limit is exactly Serf's: tags that encode to MaxTagsSize pass.
	cfg = fast("a")
	cfg.Tags.Domains = nil
	cfg.Tags.Link = strings.Repeat("a", MaxTagsSize) + ".example:1"
	for encodedSize(cfg.Tags.encode()) > MaxTagsSize {
		cfg.Tags.Link = cfg.Tags.Link[1:]
	}
	if n := encodedSize(cfg.Tags.encode()); n != MaxTagsSize {
		t.Fatalf("padding reached %d bytes only", n)
	}
	m, err := Start(cfg)
	if err != nil {
		t.Fatalf("tags of %d bytes: %v", encodedSize(cfg.Tags.encode()), err)
	}
	m.Shutdown()
}

// TestGarbage: junk on the gossip port, over UDP and TCP, neither crashes
// the member nor keeps others from joining.
func TestGarbage(t *testing.T) {
	aCfg := fast("a")
	aCfg.Secret = []byte("0123456789abcdef")
	a := start(t, aCfg)
	junk := [][]byte{
		{}, {0}, {0xff, 0xff, 0xff, 0xff}, []byte("GET / HTTP/1.1\r\n\r\n"),
		append([]byte{0}, make([]byte, 2000)...), []byte(strings.Repeat("\x01\x80", 700)),
	}
	for _, j := range junk {
		if u, err := net.Dial("udp", a.Addr()); err == nil {
			u.Write(j)
			u.Close()
		}
		if c, err := net.DialTimeout("tcp", a.Addr(), 5*time.Second); err == nil {
			c.Write(j)
			c.Close()
		}
	}
	bCfg := fast("b", a.Addr())
	bCfg.Secret = aCfg.Secret
	b := start(t, bCfg)
	for _, m := range []*Mesh{a, b} {
		eventually(t, m.Name()+" sees both after the junk", func() (bool, string) {
			return names(m.Cores("eu")) == "a,b", describe(m.Members())
		})
	}
}
