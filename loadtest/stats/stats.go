// Package stats holds the harness's measurements: HDR histograms of
// latencies (exact merges across goroutines and load nodes), counters,
// errors by kind and a per-second series. It must not do I/O.
package stats

import (
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram records durations in microseconds, 1 µs to 10 min, 3
// significant digits. Safe for concurrent use.
type Histogram struct {
	mu sync.Mutex
	h  *hdr.Histogram
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{h: hdr.New(1, int64(10*time.Minute/time.Microsecond), 3)}
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	us := d.Microseconds()
	if us < 1 {
		us = 1
	}
	h.mu.Lock()
	h.h.RecordValue(us)
	h.mu.Unlock()
}

// Merge adds another histogram's values.
func (h *Histogram) Merge(o *Histogram) {
	o.mu.Lock()
	snap := hdr.Import(o.h.Export())
	o.mu.Unlock()
	h.mu.Lock()
	h.h.Merge(snap)
	h.mu.Unlock()
}

// Reset empties the histogram and returns what it held.
func (h *Histogram) Reset() *Histogram {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := &Histogram{h: h.h}
	h.h = hdr.New(1, int64(10*time.Minute/time.Microsecond), 3)
	return old
}

// Count is the number of values.
func (h *Histogram) Count() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.h.TotalCount()
}

// Summary is a histogram's percentiles in milliseconds.
type Summary struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// Summary returns the percentiles.
func (h *Histogram) Summary() Summary {
	h.mu.Lock()
	defer h.mu.Unlock()
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Summary{
		Count: h.h.TotalCount(),
		P50:   ms(h.h.ValueAtQuantile(50)),
		P90:   ms(h.h.ValueAtQuantile(90)),
		P99:   ms(h.h.ValueAtQuantile(99)),
		P999:  ms(h.h.ValueAtQuantile(99.9)),
		Max:   ms(h.h.Max()),
		Mean:  h.h.Mean() / 1000,
	}
}

// Errors counts failures by kind.
type Errors struct {
	mu sync.Mutex
	m  map[string]int64
}

// Add counts one error.
func (e *Errors) Add(kind string) {
	e.mu.Lock()
	if e.m == nil {
		e.m = map[string]int64{}
	}
	e.m[kind]++
	e.mu.Unlock()
}

// Snapshot returns a copy.
func (e *Errors) Snapshot() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int64, len(e.m))
	for k, v := range e.m {
		out[k] = v
	}
	return out
}

// Point is one second of a run.
type Point struct {
	T         float64 `json:"t"` // seconds since the start
	Sent      int64   `json:"sent"`
	Received  int64   `json:"received"`
	P99ms     float64 `json:"p99_ms"`
	Connected int64   `json:"connected"`
}

// Snapshot is a histogram in a form that travels as JSON.
type Snapshot = hdr.Snapshot

// Export returns a snapshot of the histogram.
func (h *Histogram) Export() *Snapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.h.Export()
}

// Import returns a histogram holding a snapshot's values.
func Import(s *Snapshot) *Histogram { return &Histogram{h: hdr.Import(s)} }
