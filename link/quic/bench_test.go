package quic

import (
	"os"
	"strconv"
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

// benchSink stamps the arrival of numbered stanzas.
type benchSink struct {
	sent []atomic.Int64 // send time of stanza i, unix ns (set by the sender)
	hist *hdrhistogram.Histogram
	mu   *sync.Mutex
	n    *atomic.Int64
	done chan struct{}
	want int64
}

func (k *benchSink) Deliver(st *stanza.Stanza) bool {
	now := time.Now().UnixNano()
	i, _ := strconv.Atoi(st.ID)
	if k.hist != nil {
		k.mu.Lock()
		k.hist.RecordValue((now - k.sent[i].Load()) / 1000)
		k.mu.Unlock()
	}
	if k.n.Add(1) == k.want {
		close(k.done)
	}
	return true
}

func (k *benchSink) Close(*stanza.StreamError) {}

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

func benchLink(b *testing.B) *Client {
	p := &pki{t: &testing.T{}, dir: b.TempDir()}
	if err := ca.Init(p.dir); err != nil {
		b.Fatal(err)
	}
	core := newFakeCore("core1")
	tt := &testing.T{}
	p.t = tt
	// A window the benchmark's bursts do not fill: a refused delivery
	// would be a lost sample, not a slower one.
	srv := NewServer(ServerOptions{Core: core, TLS: p.node("core1", ca.IssueOptions{}, nil).ServerConfig(), Name: "core1", Window: 1 << 20})
	pc, err := netListen()
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(pc)
	addr := pc.LocalAddr().String()
	c := NewClient(ClientOptions{Addrs: func() []string { return []string{addr} }, TLS: p.node("edge1", ca.IssueOptions{}, nil).ClientConfig(), Name: "edge1"})
	b.Cleanup(func() {
		c.Close()
		srv.Close()
		pc.Close()
	})
	return c
}

// BenchmarkThroughput: stanzas per second over one edge link, 64
// sessions each sending small messages to itself through a core that
// routes them back (every stanza crosses the link twice).
func BenchmarkThroughput(b *testing.B) {
	c := benchLink(b)
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
// sessions and reports the round trip edge → core → edge (two link
// crossings) at p50 and p99, beside the same path called in process.
func BenchmarkLatency(b *testing.B) {
	rate := 50000
	if r, _ := strconv.Atoi(os.Getenv("LINK_BENCH_RATE")); r > 0 {
		rate = r
	}
	for _, mode := range []string{"in-process", "link"} {
		b.Run(mode, func(b *testing.B) {
			var core link.Core = newFakeCore("core1")
			if mode == "link" {
				core = benchLink(b)
			}
			k := &benchSink{sent: make([]atomic.Int64, b.N), hist: hdrhistogram.New(1, 10_000_000, 3), mu: new(sync.Mutex),
				n: new(atomic.Int64), done: make(chan struct{}), want: int64(b.N)}
			// LINK_BENCH_SESSIONS spreads the rate over another number of
			// sessions (1: every stanza on one stream).
			nsess := 64
			if n, _ := strconv.Atoi(os.Getenv("LINK_BENCH_SESSIONS")); n > 0 {
				nsess = n
			}
			ss := pairs(b, core, nsess, k)
			msgs := make([]*stanza.Stanza, b.N)
			for i := range msgs {
				s := ss[i%len(ss)]
				msgs[i] = message(s.JID(), s.JID(), strconv.Itoa(i))
			}
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
					for i := g; i < len(msgs); i += senders {
						if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
							time.Sleep(d)
						}
						k.sent[i].Store(time.Now().UnixNano())
						ss[i%len(ss)].Handle(msgs[i])
					}
				}()
			}
			wg.Wait()
			wait(b, k)
			el := time.Since(start)
			b.ReportMetric(float64(b.N)/el.Seconds(), "stanzas/s")
			b.ReportMetric(float64(k.hist.ValueAtQuantile(50)), "p50-µs")
			b.ReportMetric(float64(k.hist.ValueAtQuantile(99)), "p99-µs")
			b.ReportMetric(float64(k.hist.ValueAtQuantile(99.9)), "p99.9-µs")
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
