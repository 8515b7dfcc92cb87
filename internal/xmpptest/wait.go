package xmpptest

import (
	"testing"
	"time"
)

// Eventually polls cond until it holds, failing the test with what when it
// does not within 30 seconds (generous: a loaded CI machine is slow, and
// a condition that holds returns at once).
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
