//go:build redis

// The Redis backend against a real redis-server, which the tests start on
// a free loopback port (make redis-test; scripts/deps.sh installs it).

package registry_test

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/registry"
	"github.com/meridian-xmpp/meridian/core/registry/registrytest"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// redisServer is a redis-server child process without persistence: a
// restart loses every key, the worst case for the registry.
type redisServer struct {
	t    testing.TB
	addr string
	cmd  *exec.Cmd
}

func startRedis(t testing.TB) *redisServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &redisServer{t: t, addr: addr}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *redisServer) url() string { return "redis://" + s.addr + "/0" }

func (s *redisServer) start() {
	s.t.Helper()
	bin := os.Getenv("MERIDIAN_REDIS_SERVER")
	if bin == "" {
		bin = "redis-server"
	}
	_, port, _ := net.SplitHostPort(s.addr)
	s.cmd = exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--dir", s.t.TempDir(), "--logfile", "")
	s.cmd.Stdout, s.cmd.Stderr = nil, nil
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("redis-server (make deps installs it): %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
			fmt.Fprint(c, "PING\r\n")
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err == nil && strings.HasPrefix(line, "+PONG") {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s did not answer", s.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *redisServer) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

var (
	shared     *redisServer
	sharedOnce sync.Once
	prefixes   atomic.Int64
)

// sharedRedis is one server for the tests that do not restart it; each
// test uses its own key prefix.
func sharedRedis(t *testing.T) *redisServer {
	sharedOnce.Do(func() { shared = startRedisForProcess(t) })
	return shared
}

// startRedisForProcess starts a server that lives until the test binary
// exits (TestMain stops it).
func startRedisForProcess(t testing.TB) *redisServer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &redisServer{t: t, addr: l.Addr().String()}
	l.Close()
	s.start()
	return s
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	os.Exit(code)
}

func newRedis(t testing.TB, url, prefix string, ttl time.Duration, o registry.RedisOptions) *registry.Redis {
	t.Helper()
	o.URL, o.Prefix, o.TTL = url, prefix, ttl
	r, err := registry.NewRedis(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRedisConformance(t *testing.T) {
	srv := sharedRedis(t)
	registrytest.Run(t, func(t *testing.T, ttl time.Duration, cores ...string) []registry.Registry {
		prefix := fmt.Sprintf("test%d:", prefixes.Add(1))
		var out []registry.Registry
		for range cores {
			out = append(out, newRedis(t, srv.url(), prefix, ttl, registry.RedisOptions{}))
		}
		return out
	})
}

// A Redis restart: while it is down every operation fails with
// ErrUnavailable and the outage is counted and logged once; once it is
// back (empty), the registry records the node's live sessions again.
func TestRedisRestart(t *testing.T) {
	srv := startRedis(t)
	var logs strings.Builder
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(b)
	}), nil))
	live := []registry.Place{
		place("alice@example.com/phone", "c1", "e1", "s1"),
		place("bob@example.com/laptop", "c1", "e2", "s2"),
	}
	var resyncs atomic.Int64
	r := newRedis(t, srv.url(), "restart:", time.Hour, registry.RedisOptions{
		Check: 50 * time.Millisecond, Log: log,
		Resync: func() []registry.Place { resyncs.Add(1); return live },
	})
	for _, p := range live {
		if _, err := r.Register(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	outages := testutil.ToFloat64(metrics.RegistryOutages.WithLabelValues("redis"))
	srv.stop()

	// Down: many operations, each failing cleanly, one outage.
	waitFor(t, "operations fail with ErrUnavailable", func() bool {
		_, _, err := r.Lookup(ctx, live[0].JID)
		return errors.Is(err, registry.ErrUnavailable)
	})
	for range 50 {
		if _, _, err := r.Lookup(ctx, live[0].JID); !errors.Is(err, registry.ErrUnavailable) {
			t.Fatalf("Lookup while down: %v, want ErrUnavailable", err)
		}
		if _, err := r.Register(ctx, live[0]); !errors.Is(err, registry.ErrUnavailable) {
			t.Fatalf("Register while down: %v, want ErrUnavailable", err)
		}
	}
	time.Sleep(300 * time.Millisecond) // several failed health checks
	if got := testutil.ToFloat64(metrics.RegistryOutages.WithLabelValues("redis")) - outages; got != 1 {
		t.Fatalf("outages counted: %v, want 1", got)
	}
	if got := testutil.ToFloat64(metrics.RegistryUp.WithLabelValues("redis")); got != 0 {
		t.Fatalf("meridian_registry_up = %v during the outage", got)
	}

	// Back, empty: the sessions are registered again.
	srv.start()
	waitFor(t, "the registry is back and resynced", func() bool {
		for _, p := range live {
			if got, ok, err := r.Lookup(ctx, p.JID); err != nil || !ok || !got.Same(p) {
				return false
			}
		}
		return true
	})
	if resyncs.Load() < 1 {
		t.Fatal("Resync was not called")
	}
	logMu.Lock()
	text := logs.String()
	logMu.Unlock()
	if n := strings.Count(text, "redis unreachable"); n != 1 {
		t.Fatalf("outage logged %d times, want once:\n%s", n, text)
	}
}

// A restart between two health checks, with no operation failing in
// between, is noticed by the server's run_id and resynced too.
func TestRedisQuickRestartNoticed(t *testing.T) {
	srv := startRedis(t)
	p := place("alice@example.com/phone", "c1", "e1", "s1")
	var resyncs atomic.Int64
	r := newRedis(t, srv.url(), "quick:", time.Hour, registry.RedisOptions{
		Check:  50 * time.Millisecond,
		Resync: func() []registry.Place { resyncs.Add(1); return []registry.Place{p} },
	})
	if _, err := r.Register(ctx, p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the monitor learns the run_id
	srv.stop()
	srv.start()
	waitFor(t, "the session is registered again", func() bool {
		got, ok, err := r.Lookup(ctx, p.JID)
		return err == nil && ok && got.Same(p)
	})
}

// Redis down at start: the registry starts, fails cleanly, and recovers.
func TestRedisDownAtStart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := newRedis(t, "redis://"+addr+"/0", "late:", time.Hour, registry.RedisOptions{Check: 50 * time.Millisecond})
	p := place("alice@example.com/phone", "c1", "e1", "s1")
	if _, err := r.Register(ctx, p); !errors.Is(err, registry.ErrUnavailable) {
		t.Fatalf("Register with no Redis: %v, want ErrUnavailable", err)
	}
	srv := &redisServer{t: t, addr: addr}
	srv.start()
	t.Cleanup(srv.stop)
	waitFor(t, "Register succeeds once Redis is up", func() bool {
		_, err := r.Register(ctx, p)
		return err == nil
	})
}

// A value another program wrote under the registry's keys is skipped,
// not fatal.
func TestRedisGarbageValue(t *testing.T) {
	srv := sharedRedis(t)
	r := newRedis(t, srv.url(), "garbage:", time.Hour, registry.RedisOptions{})
	p := place("alice@example.com/phone", "c1", "e1", "s1")
	if _, err := r.Register(ctx, p); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, "HSET garbage:u:alice@example.com alice@example.com/bad junk\r\nHSET garbage:u:alice@example.com not-a-jid@@ \"x\x1f9999999999999\"\r\n")
	rd := bufio.NewReader(c)
	rd.ReadString('\n')
	rd.ReadString('\n')
	c.Close()
	ps, err := r.Sessions(ctx, p.JID.Bare())
	if err != nil || len(ps) != 1 || !ps[0].Same(p) {
		t.Fatalf("Sessions = %+v, %v; want alice/phone only", ps, err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// Redis on loopback, a fresh server, 10,000 users.
func BenchmarkRedis(b *testing.B) {
	srv := startRedis(b)
	b.Run("Lookup", func(b *testing.B) {
		benchLookup(b, newRedis(b, srv.url(), "bench:", time.Hour, registry.RedisOptions{}), benchPlaces("c1"))
	})
	b.Run("Register", func(b *testing.B) {
		benchRegister(b, newRedis(b, srv.url(), "bench:", time.Hour, registry.RedisOptions{}), benchPlaces("c1"))
	})
	b.Run("Refresh10k", func(b *testing.B) {
		r := newRedis(b, srv.url(), "bench:", time.Hour, registry.RedisOptions{})
		ps := benchPlaces("c1")
		b.ResetTimer()
		for b.Loop() {
			if _, err := r.Refresh(ctx, ps); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(ps))/b.Elapsed().Seconds(), "places/s")
	})
}

// Complete: a node's marker is set once its sessions are recorded in the
// Redis it talks to; a Redis restarted empty has none until each node
// has recorded its sessions again, so a lookup that finds nothing is not
// taken for "offline" meanwhile.
func TestRedisComplete(t *testing.T) {
	srv := startRedis(t)
	p := place("alice@example.com/phone", "c2", "e1", "s1")
	// c1 checks Redis only at start, and is not used after: it never
	// learns of the restart.
	r1 := newRedis(t, srv.url(), "complete:", time.Hour, registry.RedisOptions{Node: "c1", Check: time.Hour})
	r2 := newRedis(t, srv.url(), "complete:", time.Hour, registry.RedisOptions{
		Node: "c2", Check: 50 * time.Millisecond,
		Resync: func() []registry.Place { return []registry.Place{p} },
	})
	if _, err := r2.Register(ctx, p); err != nil {
		t.Fatal(err)
	}
	complete := func(r *registry.Redis, nodes ...string) bool {
		ok, err := r.Complete(ctx, nodes)
		return err == nil && ok
	}
	waitFor(t, "both nodes marked", func() bool { return complete(r1, "c1", "c2") })
	if complete(r1, "c1", "c2", "c3") {
		t.Fatal("Complete with a node that never recorded its sessions")
	}
	if !complete(r1) {
		t.Fatal("Complete of no node is false")
	}

	srv.stop()
	waitFor(t, "Complete fails while Redis is down", func() bool {
		_, err := r2.Complete(ctx, []string{"c1"})
		return errors.Is(err, registry.ErrUnavailable)
	})
	srv.start()
	// c2 notices the new server, records its session, then its marker.
	waitFor(t, "c2 marked again", func() bool { return complete(r2, "c2") })
	if got, ok, err := r2.Lookup(ctx, p.JID); err != nil || !ok || !got.Same(p) {
		t.Fatalf("c2 marked before its session was back: %v %v %v", got, ok, err)
	}
	if complete(r2, "c1", "c2") {
		t.Fatal("Complete although c1 has not recorded its sessions in the new Redis")
	}
}
