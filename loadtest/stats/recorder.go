package stats

import (
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Recorder records end-to-end latencies into two histograms under one
// lock: the whole run's and the current interval's, which the sampler
// takes every second for the time series.
type Recorder struct {
	mu       sync.Mutex
	total    *hdr.Histogram
	interval *hdr.Histogram
	spare    *hdr.Histogram
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder {
	return &Recorder{total: newHDR(), interval: newHDR(), spare: newHDR()}
}

// Record adds one latency.
func (r *Recorder) Record(d time.Duration) {
	v := micros(d)
	r.mu.Lock()
	r.total.RecordValue(v)
	r.interval.RecordValue(v)
	r.mu.Unlock()
}

// Interval returns the values recorded since the previous call as a new
// histogram and starts a new interval.
func (r *Recorder) Interval() *Histogram {
	r.mu.Lock()
	cur := r.interval
	r.interval = r.spare
	r.mu.Unlock()
	out := &Histogram{h: hdr.Import(cur.Export())}
	cur.Reset()
	r.mu.Lock()
	r.spare = cur
	r.mu.Unlock()
	return out
}

// Total returns a copy of the whole run's histogram.
func (r *Recorder) Total() *Histogram {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &Histogram{h: hdr.Import(r.total.Export())}
}

// Reset forgets everything (the start of the measured phase).
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.total.Reset()
	r.interval.Reset()
	r.mu.Unlock()
}
