package stats

import "sync/atomic"

// Run is everything one load run measures. The scenario's sender and the
// sessions' readers update it concurrently.
type Run struct {
	// Login steps.
	Connect, TLS, Auth, Bind *Histogram
	// Latency is the end-to-end latency of stamped stanzas.
	Latency *Recorder
	// SendLag is how late the sender wrote a stanza compared with the
	// schedule --rate asks for: large values mean the harness (or a
	// server that stopped reading) could not keep the rate.
	SendLag *Histogram
	Errors  Errors

	// Sent and Received count stamped stanzas; Expected is how many
	// deliveries the sent ones should cause (a presence reaches several
	// contacts), Failed how many came back as errors. The drain ends
	// when Received+Failed reaches Expected.
	Sent, Received, Expected, Failed atomic.Int64
	// Connected is the number of sessions logged in now; Logins counts
	// successful logins.
	Connected, Logins atomic.Int64
}

// NewRun returns empty measurements.
func NewRun() *Run {
	return &Run{
		Connect: NewHistogram(), TLS: NewHistogram(), Auth: NewHistogram(), Bind: NewHistogram(),
		Latency: NewRecorder(), SendLag: NewHistogram(),
	}
}

// ResetLatency starts the measured phase: latencies restart from zero.
// Counters keep running (the series needs them monotonic): the engine
// subtracts their values at the start.
func (r *Run) ResetLatency() {
	r.Latency.Reset()
	r.SendLag.Reset()
}

// Counts is a snapshot of the stanza counters.
type Counts struct{ Sent, Received, Expected, Failed int64 }

// Counts returns the counters now.
func (r *Run) Counts() Counts {
	return Counts{r.Sent.Load(), r.Received.Load(), r.Expected.Load(), r.Failed.Load()}
}

// Sub returns c - o.
func (c Counts) Sub(o Counts) Counts {
	return Counts{c.Sent - o.Sent, c.Received - o.Received, c.Expected - o.Expected, c.Failed - o.Failed}
}
