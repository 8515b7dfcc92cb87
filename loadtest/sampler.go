package loadtest

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest/procstat"
)

// sampler records a Point every Config.Every and prints the progress line
// every Config.Progress.
type sampler struct {
	e      *Engine
	start  time.Time
	series []Point
	rssMax int64
	cpuMax float64
	done   chan struct{}
	exited chan struct{}

	prog                   progressState
	lastSent, lastRecv     int64
	lastErrors             int64
	proc                   *procstat.Sampler
	lastRSS                int64
	lastCPU                float64
	progressWritten, isTTY bool
}

type progressState struct {
	at         time.Time
	sent, recv int64
}

func (e *Engine) startSampler(start time.Time) *sampler {
	s := &sampler{e: e, start: start, done: make(chan struct{}), exited: make(chan struct{}), isTTY: e.cfg.ProgressTTY}
	s.prog.at = start
	if e.cfg.ServerPID > 0 {
		s.proc = &procstat.Sampler{PID: e.cfg.ServerPID}
		s.proc.Sample()
	}
	go s.loop()
	return s
}

func (s *sampler) loop() {
	defer close(s.exited)
	series := time.NewTicker(s.e.cfg.Every)
	defer series.Stop()
	var progress <-chan time.Time
	if s.e.cfg.Progress > 0 && s.e.cfg.ProgressOut != nil {
		t := time.NewTicker(s.e.cfg.Progress)
		defer t.Stop()
		progress = t.C
	}
	for {
		select {
		case <-s.done:
			s.point(time.Now())
			s.printProgress(time.Now(), true)
			return
		case now := <-series.C:
			s.point(now)
		case now := <-progress:
			s.printProgress(now, false)
		}
	}
}

func (s *sampler) stop() {
	close(s.done)
	<-s.exited
}

func (s *sampler) point(now time.Time) {
	st := s.e.st
	h := st.Latency.Interval()
	sum := h.Summary()
	sent, recv, errs := st.Sent.Load(), st.Received.Load(), st.Errors.Total()
	p := Point{
		T:    now.Sub(s.start).Round(time.Millisecond).Seconds(),
		Sent: sent - s.lastSent, Received: recv - s.lastRecv, Errors: errs - s.lastErrors,
		P50ms: sum.P50, P99ms: sum.P99, Connected: st.Connected.Load(),
	}
	s.lastSent, s.lastRecv, s.lastErrors = sent, recv, errs
	if s.proc != nil {
		if rss, cpu, err := s.proc.Sample(); err == nil {
			p.RSSBytes, p.CPUPercent = rss, cpu
			s.lastRSS, s.lastCPU = rss, cpu
			s.rssMax = max(s.rssMax, rss)
			s.cpuMax = max(s.cpuMax, cpu)
		}
	}
	if s.e.cfg.KeepHistograms {
		p.Hist, _ = h.Encode()
	}
	s.series = append(s.series, p)
	cur := s.e.Status()
	cur.P99ms, cur.RSSBytes, cur.CPU = sum.P99, s.lastRSS, s.lastCPU
	s.e.status.Store(&cur)
}

func (s *sampler) printProgress(now time.Time, final bool) {
	w := s.e.cfg.ProgressOut
	if w == nil || s.e.cfg.Progress <= 0 {
		return
	}
	st := s.e.Status()
	el := now.Sub(s.prog.at).Seconds()
	var sps, rps float64
	if el > 0 {
		sps, rps = float64(st.Sent-s.prog.sent)/el, float64(st.Received-s.prog.recv)/el
	}
	s.prog = progressState{now, st.Sent, st.Received}
	line := ProgressLine(s.e.cfg.Scenario, st, sps, rps)
	if final && !s.progressWritten {
		return
	}
	s.progressWritten = true
	writeProgress(w, line, s.isTTY, final)
}

// ProgressLine formats one status line.
func ProgressLine(scenario string, st Status, sentPerSec, recvPerSec float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-8s %6.1fs %-9s users %d/%d  sent %.0f/s  recv %.0f/s  p99 %.1f ms  errors %d",
		scenario, st.ElapsedS, st.Phase, st.Connected, st.Users, sentPerSec, recvPerSec, st.P99ms, st.Errors)
	if st.RSSBytes > 0 {
		fmt.Fprintf(&b, "  server %.1f MB %.0f%% cpu", float64(st.RSSBytes)/(1<<20), st.CPU)
	}
	return b.String()
}

// writeProgress rewrites the line in place on a terminal (carriage return
// and erase to end of line) and prints plain lines otherwise.
func writeProgress(w io.Writer, line string, tty, final bool) {
	switch {
	case tty && final:
		fmt.Fprintf(w, "\r%s\x1b[K\n", line)
	case tty:
		fmt.Fprintf(w, "\r%s\x1b[K", line)
	default:
		fmt.Fprintln(w, line)
	}
}
