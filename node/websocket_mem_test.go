package node_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
)

// TestWebSocketIdleMemory measures what an idle authenticated, bound
// WebSocket session costs the server: heap and stack in use, goroutines
// and resident memory, each as the difference before and after N
// sessions, divided by N. The clients run in a child process (this test
// binary again, TestWebSocketMemprobeClient) so that only the server is
// measured. It runs only when asked:
//
//	MERIDIAN_WS_MEMPROBE=3000 go test ./node -run TestWebSocketIdleMemory -v -timeout 10m
//
// MERIDIAN_WS_MEMPROBE_TRANSPORT picks the transport: ws (ws://,
// SCRAM-SHA-1; the default), wss (wss://, PLAIN), or tls (direct TLS c2s,
// PLAIN: the TCP figure by the same method, for comparison).
func TestWebSocketIdleMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("MERIDIAN_WS_MEMPROBE"))
	if n <= 0 {
		t.Skip("set MERIDIAN_WS_MEMPROBE=<sessions> to measure")
	}
	transport := os.Getenv("MERIDIAN_WS_MEMPROBE_TRANSPORT")
	if transport == "" {
		transport = "ws"
	}
	secure := transport != "ws"
	srv := xmpptest.Start(t, nil)
	for i := range n {
		srv.AddUser(t, fmt.Sprintf("u%d", i), "secret")
	}
	before := sample()

	child := exec.Command(os.Args[0], "-test.run=^TestWebSocketMemprobeClient$", "-test.timeout=30m")
	child.Env = append(os.Environ(),
		"MERIDIAN_WS_MEMPROBE_URL="+wsURL(srv, secure),
		"MERIDIAN_WS_MEMPROBE_TLS_ADDR="+srv.TLS,
		"MERIDIAN_WS_MEMPROBE_TRANSPORT="+transport,
		"MERIDIAN_WS_MEMPROBE_SESSIONS="+strconv.Itoa(n))
	if secure {
		child.Env = append(child.Env, "MERIDIAN_WS_MEMPROBE_MECH=PLAIN")
	}
	child.Stderr = os.Stderr
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Wait()
	defer stdin.Close()
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		if sc.Text() == "memprobe-ready" {
			ready = true
			break
		}
		t.Log(sc.Text())
	}
	if !ready {
		t.Fatal("clients did not log in")
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if got := srv.Core().SessionCount(); got < n {
		t.Fatalf("%d sessions, want %d", got, n)
	}
	// Idle: the writers' flush goroutines have exited, pools settled.
	time.Sleep(5 * time.Second)
	after := sample()
	if f := os.Getenv("MERIDIAN_WS_MEMPROBE_PROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			t.Fatal(err)
		}
		pprof.Lookup("heap").WriteTo(out, 0)
		out.Close()
	}
	per := func(a, b uint64) float64 { return (float64(b) - float64(a)) / float64(n) / 1024 }
	t.Logf("%d idle %s sessions: heap+stack %.1f KiB/session (heap %.1f, stack %.1f), goroutines %.2f/session, RSS %.1f KiB/session",
		n, transport,
		per(before.heap+before.stack, after.heap+after.stack), per(before.heap, after.heap), per(before.stack, after.stack),
		float64(after.goroutines-before.goroutines)/float64(n), per(before.rss, after.rss))
}

type memSample struct {
	heap, stack, rss uint64
	goroutines       int
}

func sample() memSample {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{heap: ms.HeapInuse, stack: ms.StackInuse, rss: rss(), goroutines: runtime.NumGoroutine()}
}

// rss reads the resident set size of this process, in bytes.
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// TestWebSocketMemprobeClient is the client side of
// TestWebSocketIdleMemory, run in a child process: it logs in the
// sessions, answers pings, says "memprobe-ready" and holds them until its
// stdin closes.
func TestWebSocketMemprobeClient(t *testing.T) {
	url := os.Getenv("MERIDIAN_WS_MEMPROBE_URL")
	if url == "" {
		t.Skip("run by TestWebSocketIdleMemory")
	}
	n, _ := strconv.Atoi(os.Getenv("MERIDIAN_WS_MEMPROBE_SESSIONS"))
	mech := os.Getenv("MERIDIAN_WS_MEMPROBE_MECH")
	if mech == "" {
		mech = "SCRAM-SHA-1"
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			user := fmt.Sprintf("u%d", i)
			if os.Getenv("MERIDIAN_WS_MEMPROBE_TRANSPORT") == "tls" {
				xmpptest.LoginTLS(t, os.Getenv("MERIDIAN_WS_MEMPROBE_TLS_ADDR"), "localhost", user, "secret", "idle")
				return
			}
			c := dialWSURL(t, url)
			c.open()
			c.auth(mech, user, "secret")
			c.bind("idle")
			// Reading answers the server's pings.
			go func() {
				c.ws.SetReadDeadline(time.Time{})
				for {
					if _, _, err := c.ws.ReadMessage(); err != nil {
						return
					}
				}
			}()
		}()
	}
	wg.Wait()
	fmt.Println("memprobe-ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
}
