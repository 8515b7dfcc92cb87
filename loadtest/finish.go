package loadtest

import (
	"context"
	"sync"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest/scenario"
	"github.com/meridian-xmpp/meridian/loadtest/stats"
)

// drain waits until every expected stanza arrived (or came back as an
// error), at most Drain, and returns when the last one arrived.
func (e *Engine) drain(ctx context.Context, base stats.Counts) time.Time {
	last := time.Now()
	end := last.Add(e.cfg.Drain)
	prev := e.st.Received.Load()
	for {
		n := e.st.Counts().Sub(base)
		if r := e.st.Received.Load(); r != prev {
			prev, last = r, time.Now()
		}
		if n.Received+n.Failed >= n.Expected || time.Now().After(end) || ctx.Err() != nil {
			return last
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closeAll ends every session and waits for their readers.
func (e *Engine) closeAll() {
	e.closing.Store(true)
	e.mu.Lock()
	ss := e.sessions
	e.mu.Unlock()
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	for _, s := range ss {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			s.Conn.Close()
		}()
	}
	wg.Wait()
	done := make(chan struct{})
	go func() { e.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// result closes the sessions and fills in the measurements. smp is nil
// when nobody logged in.
func (e *Engine) result(res *Result, start time.Time, smp *sampler, base stats.Counts, loadStart, loadEnd, lastRecv time.Time) *Result {
	cfg := e.cfg
	e.phase.Store("close")
	res.Connected = e.st.Logins.Load()
	e.closeAll()

	n := e.st.Counts().Sub(base)
	loadTime := loadEnd.Sub(loadStart)
	res.LoadS = loadTime.Seconds()
	if !scenario.Silent(e.sc) {
		res.Rate = e.env.Params.EffectiveRate(int(res.Connected))
	}
	res.MessagesSent, res.MessagesReceived = n.Sent, n.Received
	// Throughput: what arrived, over the time until the last of it
	// arrived (at least the load phase).
	if span := max(loadTime, lastRecv.Sub(loadStart)); span > 0 {
		res.MessagesPerSec = float64(n.Received) / span.Seconds()
	}
	lat := e.st.Latency.Total()
	res.Latency = lat.Summary()
	res.Connect, res.TLS, res.Auth, res.Bind = e.st.Connect.Summary(), e.st.TLS.Summary(), e.st.Auth.Summary(), e.st.Bind.Summary()
	res.SendLag = e.st.SendLag.Summary()
	res.Errors = e.st.Errors.Snapshot()
	if smp != nil {
		res.Series = smp.series
		res.Server.RSSMax, res.Server.CPUPercentMax = smp.rssMax, smp.cpuMax
	}
	res.Server.RSSMax = max(res.Server.RSSMax, res.Server.RSSBefore, res.Server.RSSAfter)
	if cfg.KeepHistograms {
		res.Histograms = map[string]string{}
		for name, h := range map[string]*stats.Histogram{
			"latency": lat, "connect": e.st.Connect, "tls": e.st.TLS, "auth": e.st.Auth, "bind": e.st.Bind, "send_lag": e.st.SendLag,
		} {
			if s, err := h.Encode(); err == nil {
				res.Histograms[name] = s
			}
		}
	}
	res.DurationS = time.Since(start).Seconds()
	e.phase.Store("done")
	return res
}
