package stats

import (
	"math"
	"testing"
	"time"
)

func TestSummaryAndMergeAreExact(t *testing.T) {
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Millisecond
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
		all.Record(d)
	}
	enc, err := b.Encode()
	if err != nil {
		t.Fatal(err)
	}
	bb, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	a.Merge(bb)
	if got, want := a.Summary(), all.Summary(); got != want {
		t.Fatalf("merged %+v, want %+v", got, want)
	}
	s := all.Summary()
	if s.Count != 1000 || math.Abs(s.P50-500) > 1 || math.Abs(s.P99-990) > 1 || math.Abs(s.Max-1000) > 1 {
		t.Fatalf("%+v", s)
	}
}

func TestRecorderInterval(t *testing.T) {
	r := NewRecorder()
	r.Record(time.Millisecond)
	r.Record(2 * time.Millisecond)
	if n := r.Interval().Count(); n != 2 {
		t.Fatalf("interval 1: %d", n)
	}
	r.Record(3 * time.Millisecond)
	if n := r.Interval().Count(); n != 1 {
		t.Fatalf("interval 2: %d", n)
	}
	if n := r.Total().Count(); n != 3 {
		t.Fatalf("total %d", n)
	}
	if n := r.Interval().Count(); n != 0 {
		t.Fatalf("interval 3: %d", n)
	}
}

func TestErrors(t *testing.T) {
	var e Errors
	e.Add("auth:not-authorized")
	e.AddN("connect:refused", 2)
	if e.Total() != 3 || e.Snapshot()["connect:refused"] != 2 {
		t.Fatalf("%v", e.Snapshot())
	}
}

func BenchmarkRecorder(b *testing.B) {
	r := NewRecorder()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Record(time.Duration(i%5000) * time.Microsecond)
	}
}
