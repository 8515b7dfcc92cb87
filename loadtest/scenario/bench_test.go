package scenario

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest/client"
	"github.com/meridian-xmpp/meridian/loadtest/internal/fakexmpp"
	"github.com/meridian-xmpp/meridian/loadtest/procstat"
	"github.com/meridian-xmpp/meridian/loadtest/stats"
	"github.com/meridian-xmpp/meridian/loadtest/users"
)

// sinkEnv makes the test binary a sink server (see TestSinkProcess).
const sinkEnv = "MERIDIAN_LOAD_SINK"

// TestSinkProcess is not a test: run with MERIDIAN_LOAD_SINK=1 it serves
// a fake XMPP server that forwards messages (fakexmpp) until its stdin
// closes. The benchmark starts it as a separate process with GOMAXPROCS=1,
// so that the sink runs on the other core and the harness keeps one.
func TestSinkProcess(t *testing.T) {
	if os.Getenv(sinkEnv) != "1" {
		t.Skip("the benchmark's sink process")
	}
	f, err := fakexmpp.New()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go f.ServeTLS(ln)
	fmt.Printf("SINK %s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin)
}

// sinkPID is the running sink process, to measure its CPU.
var sinkPID int

func startSink(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^TestSinkProcess$", "-test.v")
	cmd.Env = append(os.Environ(), sinkEnv+"=1", "GOMAXPROCS=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	sinkPID = cmd.Process.Pid
	b.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "SINK "); ok {
			go io.Copy(io.Discard, stdout)
			return addr
		}
	}
	b.Fatal("the sink process did not start")
	return ""
}

// harness logs n users in to the sink and prepares the chat scenario.
func harness(b *testing.B, addr string, n int, rate float64) *Env {
	ctx := context.Background()
	env := &Env{
		Params: Params{Domain: "localhost", Users: n, Duration: time.Hour, Rate: rate, RosterSize: 10, Rosters: "skip"},
		Stats:  stats.NewRun(),
		Stamp:  NewStamp(),
	}
	for i := range n {
		u := users.User{Local: fmt.Sprintf("load%d", i), Domain: "localhost", Password: "pw"}
		c, err := client.Dial(ctx, client.Options{Addr: addr, Domain: "localhost", Transport: client.DirectTLS, User: u.Local, Password: u.Password})
		if err != nil {
			b.Fatal(err)
		}
		s := NewSession(i, u, c)
		env.Sessions = append(env.Sessions, s)
		go c.Serve(env.Handler(s))
	}
	b.Cleanup(func() {
		for _, s := range env.Sessions {
			s.Conn.Close()
		}
	})
	if err := (chat{}).Prepare(ctx, env); err != nil {
		b.Fatal(err)
	}
	return env
}

// sendAll runs the chat scenario for b.N messages and waits for them.
func sendAll(b *testing.B, env *Env) time.Duration {
	env.Params.Messages = int64(b.N)
	env.Stats.ResetLatency()
	base := env.Stats.Received.Load()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	(chat{}).Run(context.Background(), env)
	for env.Stats.Received.Load()-base < int64(b.N) {
		if time.Since(start) > time.Minute {
			b.Fatalf("received %d of %d", env.Stats.Received.Load()-base, b.N)
		}
		time.Sleep(100 * time.Microsecond)
	}
	el := time.Since(start)
	b.StopTimer()
	if e := env.Stats.Errors.Snapshot(); len(e) > 0 {
		b.Fatalf("errors %v", e)
	}
	return el
}

// BenchmarkChatHarnessOneCore: the harness is never the bottleneck. The
// whole chat path of the harness — the pacer rendering stamped messages
// from pre-rendered templates and writing them in batches over TLS, and
// the sessions' readers decrypting, tokenizing (no element tree),
// reading the stamp and recording the latency — runs with GOMAXPROCS=1,
// against a sink in another process (GOMAXPROCS=1, the other core) that
// forwards every message to its recipient. Budget: at least 50,000
// msgs/s on one core.
//
// unthrottled: 100 users, the pacer as fast as it can go; msgs/s is what
// one core sends and receives at saturation.
//
// paced-50k: 200 users at 50,000 msgs/s (small batches: about one write
// and one read per message, the costly case); cpu-% is the harness
// process's CPU time over the wall time (the sink is another process),
// so 50,000 / (cpu-%/100) is what one core would drive at that pace.
func BenchmarkChatHarnessOneCore(b *testing.B) {
	addr := startSink(b)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	b.Run("unthrottled", func(b *testing.B) {
		env := harness(b, addr, 100, 1e9)
		el := sendAll(b, env)
		b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	})
	b.Run("paced-50k", func(b *testing.B) {
		const rate = 50000
		env := harness(b, addr, 200, rate)
		cpu0, _ := procstat.CPU(os.Getpid())
		el := sendAll(b, env)
		cpu1, _ := procstat.CPU(os.Getpid())
		b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
		b.ReportMetric(100*float64(cpu1-cpu0)/float64(el), "cpu-%")
		b.ReportMetric(env.Stats.SendLag.Summary().P99, "send-lag-p99-ms")
		b.ReportMetric(env.Stats.Latency.Total().Summary().P99, "latency-p99-ms")
	})
}
