package quic

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/link/ca"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
)

// benchSink stamps the return of numbered stanzas.
type benchSink struct {
	sent []atomic.Int64 // send time of stanza i, unix ns (set by the sender)
	back []int64        // return time of stanza i, unix ns
	n    *atomic.Int64
	done chan struct{}
	want int64
}

func (k *benchSink) Deliver(st *stanza.Stanza) bool {
	if k.back != nil {
		i, _ := strconv.Atoi(st.ID)
		k.back[i] = time.Now().UnixNano()
	}
	if k.n.Add(1) == k.want {
		close(k.done)
	}
	return true
}

func (k *benchSink) Close(*stanza.StreamError) {}

// benchCore is the core of the benchmarks: a session's stanza is stamped
// on arrival (when its id is an index into arrived) and delivered back
// to the session (the benchmarks' sessions send to themselves).
type benchCore struct {
	*fakeCore
	arrived []atomic.Int64
}

type benchSession struct {
	c    *benchCore
	full jid.JID
	sink link.Sink
}

func newBenchCore(arrived []atomic.Int64) *benchCore {
	return &benchCore{fakeCore: newFakeCore("core1"), arrived: arrived}
}

func (c *benchCore) Open(_ context.Context, req link.OpenRequest, sink link.Sink) (link.Session, error) {
	full, err := req.User.WithResource(req.Resource)
	if err != nil {
		return nil, stanza.ErrBadRequest
	}
	return &benchSession{c: c, full: full, sink: sink}, nil
}

func (s *benchSession) JID() jid.JID { return s.full }

func (s *benchSession) Handle(st *stanza.Stanza) {
	if i, err := strconv.Atoi(st.ID); err == nil && i < len(s.c.arrived) {
		s.c.arrived[i].Store(time.Now().UnixNano())
	}
	if !s.sink.Deliver(st) {
		s.c.refused.Add(1)
	}
}

func (s *benchSession) Close([]*stanza.Stanza) {}

// pairs opens n sessions on core through c (or directly when c is nil)
// that all send to themselves: edge → core → edge.
func pairs(b *testing.B, c link.Core, n int, k *benchSink) []link.Session {
	ss := make([]link.Session, n)
	for i := range ss {
		s, err := c.Open(b.Context(), link.OpenRequest{User: jid.MustParse("u" + strconv.Itoa(i) + "@localhost"), Resource: "r"}, k)
		if err != nil {
			b.Fatal(err)
		}
		ss[i] = s
	}
	return ss
}

// benchPKI is a cluster CA in dir for the benchmarks.
func benchPKI(b *testing.B, dir string) *pki {
	if err := ca.Init(dir); err != nil {
		b.Fatal(err)
	}
	return &pki{t: &testing.T{}, dir: dir}
}

// benchServer serves core on a loopback port with a window the
// benchmark's bursts do not fill: a refused delivery would be a lost
// sample, not a slower one.
func benchServer(p *pki, core link.Core) (*Server, net.PacketConn, error) {
	srv := NewServer(ServerOptions{Core: core, TLS: p.node("core1", ca.IssueOptions{}, nil).ServerConfig(), Name: "core1", Window: 1 << 20})
	pc, err := netListen()
	if err != nil {
		return nil, nil, err
	}
	go srv.Serve(pc)
	return srv, pc, nil
}

func benchClient(p *pki, addr string) *Client {
	return NewClient(ClientOptions{Addrs: func() []string { return []string{addr} }, TLS: p.node("edge1", ca.IssueOptions{}, nil).ClientConfig(), Name: "edge1"})
}

// benchLink is an edge's link client to core served in this process.
func benchLink(b *testing.B, core link.Core) *Client {
	p := benchPKI(b, b.TempDir())
	srv, pc, err := benchServer(p, core)
	if err != nil {
		b.Fatal(err)
	}
	c := benchClient(p, pc.LocalAddr().String())
	b.Cleanup(func() {
		c.Close()
		srv.Close()
		pc.Close()
	})
	return c
}

// benchCoreProcess is a benchCore behind the link in another process:
// this test binary run again with LINK_BENCH_CORE set (see TestMain). It
// prints its address, serves until its standard input closes, then
// prints the arrival time of every stanza.
type benchCoreProcess struct {
	client *Client
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
}

func startBenchCore(b *testing.B, n int) *benchCoreProcess {
	dir := b.TempDir()
	p := benchPKI(b, dir)
	args := []string{os.Args[0]}
	if cpu := os.Getenv("LINK_BENCH_CORE_CPU"); cpu != "" {
		args = append([]string{"taskset", "-c", cpu}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "LINK_BENCH_CORE="+dir, "LINK_BENCH_N="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	r := &benchCoreProcess{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr, err := r.out.ReadString('\n')
	if err != nil {
		b.Fatalf("core process: %v", err)
	}
	r.client = benchClient(p, strings.TrimSpace(addr))
	b.Cleanup(func() { r.client.Close() })
	return r
}

// arrivals ends the core process and reads its arrival times.
func (r *benchCoreProcess) arrivals(b *testing.B, into []atomic.Int64) {
	r.stdin.Close()
	for i := range into {
		line, err := r.out.ReadString('\n')
		if err != nil {
			b.Fatalf("core process: arrival %d: %v", i, err)
		}
		v, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		into[i].Store(v)
	}
}

// runBenchCore is the core process of BenchmarkLatency/link-process.
func runBenchCore(dir string) error {
	n, err := strconv.Atoi(os.Getenv("LINK_BENCH_N"))
	if err != nil {
		return fmt.Errorf("LINK_BENCH_N: %w", err)
	}
	arrived := make([]atomic.Int64, n)
	srv, pc, err := benchServer(&pki{t: &testing.T{}, dir: dir}, newBenchCore(arrived))
	if err != nil {
		return err
	}
	defer pc.Close()
	defer srv.Close()
	fmt.Println(pc.LocalAddr().String())
	io.Copy(io.Discard, os.Stdin)
	w := bufio.NewWriter(os.Stdout)
	for i := range arrived {
		fmt.Fprintln(w, arrived[i].Load())
	}
	return w.Flush()
}

func TestMain(m *testing.M) {
	if dir := os.Getenv("LINK_BENCH_CORE"); dir != "" {
		if err := runBenchCore(dir); err != nil {
			fmt.Fprintln(os.Stderr, "core process:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// BenchmarkThroughput: stanzas per second over one edge link, 64
// sessions each sending small messages to itself through a core that
// routes them back (every stanza crosses the link twice).
func BenchmarkThroughput(b *testing.B) {
	c := benchLink(b, newBenchCore(nil))
	k := &benchSink{n: new(atomic.Int64), done: make(chan struct{}), want: int64(b.N)}
	ss := pairs(b, c, 64, k)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := b.N / len(ss)
	extra := b.N % len(ss)
	for i, s := range ss {
		m := per
		if i < extra {
			m++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range m {
				s.Handle(message(s.JID(), s.JID(), strconv.Itoa(j)))
			}
		}()
	}
	wg.Wait()
	wait(b, k)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "stanzas/s")
}

// BenchmarkLatency sends b.N stanzas at a steady 50,000/s over 64
// sessions, each to itself through a core that routes it back, and
// reports each link crossing one way (edge → core at the core's arrival,
// core → edge at the edge's) and the round trip, at p50 and p99:
//
//   - in-process: the core called directly, as an all-in-one node does;
//   - link: the core behind the link in this process (edge, core and
//     senders share the CPUs);
//   - link-process: the core behind the link in a process of its own
//     (this test binary run again), as in deployment. LINK_BENCH_CORE_CPU
//     pins it to that CPU (taskset); run the benchmark itself under
//     `taskset -c` on another to give each end its own CPU.
func BenchmarkLatency(b *testing.B) {
	rate := 50000
	if r, _ := strconv.Atoi(os.Getenv("LINK_BENCH_RATE")); r > 0 {
		rate = r
	}
	for _, mode := range []string{"in-process", "link", "link-process"} {
		b.Run(mode, func(b *testing.B) {
			arrived := make([]atomic.Int64, b.N) // core's arrival time of stanza i
			k := &benchSink{sent: make([]atomic.Int64, b.N), back: make([]int64, b.N), n: new(atomic.Int64), done: make(chan struct{}), want: int64(b.N)}
			var core link.Core
			var remote *benchCoreProcess
			switch mode {
			case "in-process":
				core = newBenchCore(arrived)
			case "link":
				core = benchLink(b, newBenchCore(arrived))
			case "link-process":
				remote = startBenchCore(b, b.N)
				core = remote.client
			}
			// LINK_BENCH_SESSIONS spreads the rate over another number of
			// sessions (1: every stanza on one stream).
			nsess := 64
			if n, _ := strconv.Atoi(os.Getenv("LINK_BENCH_SESSIONS")); n > 0 {
				nsess = n
			}
			ss := pairs(b, core, nsess, k)
			b.ResetTimer()
			// 16 senders, each pacing its share with time.Sleep: a short
			// sleep takes ≈ 1 ms on the development VM, so one sender would
			// send bursts of 50; 16 send small bursts at independent
			// moments, like many clients.
			const senders = 16
			interval := time.Second / time.Duration(rate)
			start := time.Now()
			var wg sync.WaitGroup
			for g := range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := g; i < b.N; i += senders {
						// Built here, not in advance: b.N stanzas held
						// for the run would be a live heap every garbage
						// collection marks, which no edge has.
						s := ss[i%len(ss)]
						st := message(s.JID(), s.JID(), strconv.Itoa(i))
						if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
							time.Sleep(d)
						}
						k.sent[i].Store(time.Now().UnixNano())
						s.Handle(st)
					}
				}()
			}
			wg.Wait()
			wait(b, k)
			el := time.Since(start)
			b.StopTimer()
			if remote != nil {
				remote.arrivals(b, arrived)
			}
			in, out, rt := hdrhistogram.New(0, 10_000_000, 3), hdrhistogram.New(0, 10_000_000, 3), hdrhistogram.New(0, 10_000_000, 3)
			for i := range b.N {
				s, a := k.sent[i].Load(), arrived[i].Load()
				in.RecordValue(max(a-s, 0) / 1000)
				out.RecordValue(max(k.back[i]-a, 0) / 1000)
				rt.RecordValue((k.back[i] - s) / 1000)
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "stanzas/s")
			b.ReportMetric(float64(in.ValueAtQuantile(50)), "in-p50-µs")
			b.ReportMetric(float64(in.ValueAtQuantile(99)), "in-p99-µs")
			b.ReportMetric(float64(out.ValueAtQuantile(50)), "out-p50-µs")
			b.ReportMetric(float64(out.ValueAtQuantile(99)), "out-p99-µs")
			b.ReportMetric(float64(rt.ValueAtQuantile(50)), "p50-µs")
			b.ReportMetric(float64(rt.ValueAtQuantile(99)), "p99-µs")
			b.ReportMetric(float64(rt.ValueAtQuantile(99.9)), "p99.9-µs")
		})
	}
}

func wait(b *testing.B, k *benchSink) {
	select {
	case <-k.done:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d stanzas arrived", k.n.Load(), k.want)
	}
}

// BenchmarkUDPRoundTrip is the floor under the link's latency on this
// machine: one datagram to an echoing goroutine over loopback and back,
// one at a time (Go's network poller and two syscalls each way).
func BenchmarkUDPRoundTrip(b *testing.B) {
	a, err := netListen()
	if err != nil {
		b.Fatal(err)
	}
	e, err := netListen()
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	defer e.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := e.ReadFrom(buf)
			if err != nil {
				return
			}
			e.WriteTo(buf[:n], from)
		}
	}()
	msg := make([]byte, 200)
	buf := make([]byte, 2048)
	hist := hdrhistogram.New(1, 10_000_000, 3)
	for b.Loop() {
		t := time.Now()
		a.WriteTo(msg, e.LocalAddr())
		if _, _, err := a.ReadFrom(buf); err != nil {
			b.Fatal(err)
		}
		hist.RecordValue(time.Since(t).Microseconds())
	}
	b.ReportMetric(float64(hist.ValueAtQuantile(50)), "p50-µs")
	b.ReportMetric(float64(hist.ValueAtQuantile(99)), "p99-µs")
}
