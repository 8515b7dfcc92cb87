package logonce

import (
	"strconv"
	"testing"
)

func TestFirst(t *testing.T) {
	var s Set
	if !s.First("a") || s.First("a") || !s.First("b") {
		t.Fatal("first")
	}
	for i := range Max {
		s.First(strconv.Itoa(i))
	}
	if len(s.seen) > Max {
		t.Fatalf("grew to %d", len(s.seen))
	}
}
