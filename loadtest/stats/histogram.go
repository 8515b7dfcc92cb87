package stats

import (
	"fmt"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histograms record microseconds from 1 µs to 10 minutes with 3
// significant digits: a value is exact to 0.1 %.
const (
	lowest  = 1
	highest = int64(10 * time.Minute / time.Microsecond)
	digits  = 3
)

func newHDR() *hdr.Histogram { return hdr.New(lowest, highest, digits) }

func micros(d time.Duration) int64 {
	us := d.Microseconds()
	switch {
	case us < lowest:
		return lowest
	case us > highest:
		return highest
	}
	return us
}

// Histogram is a latency histogram safe for concurrent use.
type Histogram struct {
	mu sync.Mutex
	h  *hdr.Histogram
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{h: newHDR()} }

// Record adds one duration (clamped to the histogram's range).
func (h *Histogram) Record(d time.Duration) {
	v := micros(d)
	h.mu.Lock()
	h.h.RecordValue(v)
	h.mu.Unlock()
}

// Merge adds o's values to h. HDR histograms of the same layout merge
// exactly.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o == h {
		return
	}
	o.mu.Lock()
	src := hdr.Import(o.h.Export())
	o.mu.Unlock()
	h.mu.Lock()
	h.h.Merge(src)
	h.mu.Unlock()
}

// Reset empties the histogram.
func (h *Histogram) Reset() {
	h.mu.Lock()
	h.h.Reset()
	h.mu.Unlock()
}

// Count is the number of recorded values.
func (h *Histogram) Count() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.h.TotalCount()
}

// Summary returns the percentiles in milliseconds.
func (h *Histogram) Summary() Summary {
	h.mu.Lock()
	defer h.mu.Unlock()
	return summarize(h.h)
}

// Encode returns the histogram in HdrHistogram's compressed V2 format
// (base64), the form in which load nodes send it to the controller.
func (h *Histogram) Encode() (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, err := h.h.Encode(hdr.V2CompressedEncodingCookieBase)
	return string(b), err
}

// Decode reads a histogram written by Encode.
func Decode(s string) (*Histogram, error) {
	if s == "" {
		return NewHistogram(), nil
	}
	h, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("stats: decode histogram: %w", err)
	}
	// Re-record into our layout so that merges stay exact whatever the
	// sender's parameters were.
	out := NewHistogram()
	out.h.Merge(h)
	return out, nil
}
