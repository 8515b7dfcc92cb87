package procstat

import (
	"os"
	"testing"
	"time"
)

func TestSelf(t *testing.T) {
	pid := os.Getpid()
	rss, err := RSS(pid)
	if err != nil || rss < 1<<20 {
		t.Fatalf("rss %d %v", rss, err)
	}
	s := &Sampler{PID: pid}
	if _, _, err := s.Sample(); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); {
	}
	_, cpu, err := s.Sample()
	if err != nil || cpu < 20 {
		t.Fatalf("busy loop measured %.0f%% %v", cpu, err)
	}
	if _, err := RSS(1 << 30); err == nil {
		t.Fatal("no such process")
	}
}
