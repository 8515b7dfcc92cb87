package dist

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/loadtest"
	"github.com/meridian-xmpp/meridian/loadtest/stats"
)

// TestControlMergesAgents: two agents share the users and the rate; the
// merged result adds up and its latency histogram holds every message.
func TestControlMergesAgents(t *testing.T) {
	s := xmpptest.Start(t, nil)
	for i := range 4 {
		s.AddUser(t, fmt.Sprintf("load%d", i), "secret")
	}
	var agents []string
	var logs [2]bytes.Buffer
	for i := range 2 {
		srv := httptest.NewServer((&Agent{Log: &logs[i]}).Handler())
		t.Cleanup(srv.Close)
		agents = append(agents, srv.URL)
	}
	var progress bytes.Buffer
	res, err := Control(context.Background(), agents, loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "chat", Users: 4, RosterSize: 1,
		Rate: 200, Duration: time.Second, Progress: 300 * time.Millisecond, ProgressOut: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Agents != 2 || res.Users != 4 || res.Connected != 4 || res.Rate != 200 || len(res.Errors) != 0 {
		t.Fatalf("%+v", res)
	}
	if res.MessagesSent < 150 || res.MessagesReceived != res.MessagesSent || res.Latency.Count != res.MessagesReceived {
		t.Fatalf("sent %d received %d latency count %d", res.MessagesSent, res.MessagesReceived, res.Latency.Count)
	}
	if res.Connect.Count != 4 || res.Histograms != nil {
		t.Fatalf("connect %+v", res.Connect)
	}
	var received int64
	for _, p := range res.Series {
		received += p.Received
		if p.Hist != "" || (p.Received > 0 && p.P99ms <= 0) {
			t.Fatalf("point %+v", p)
		}
	}
	if received != res.MessagesReceived {
		t.Fatalf("series hold %d of %d", received, res.MessagesReceived)
	}
	if !strings.Contains(progress.String(), "2 agents") || !strings.Contains(progress.String(), "users 4/4") {
		t.Fatalf("progress:\n%s", progress.String())
	}
	// Errors that stop a run are the controller's errors.
	if _, err := Control(context.Background(), agents, loadtest.Config{Server: s.C2S, Domain: "localhost", Scenario: "chat", Users: 1}); err == nil {
		t.Fatal("1 user split among 2 agents")
	}
	if _, err := Control(context.Background(), agents, loadtest.Config{Server: s.C2S, Domain: "localhost", Scenario: "nope", Users: 2}); err == nil || !strings.Contains(err.Error(), "unknown scenario") {
		t.Fatalf("bad scenario: %v", err)
	}
	// A scenario that cannot prepare on one agent ends the run on all
	// (the other must not wait at the load barrier).
	s.AddUser(t, "load4", "secret")
	done := make(chan error, 1)
	go func() {
		_, err := Control(context.Background(), agents, loadtest.Config{
			Server: s.C2S, Domain: "localhost", Scenario: "presence", Users: 5, RosterSize: 0, Duration: time.Minute,
		})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "roster-size") {
			t.Fatalf("presence without contacts: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the controller hangs when an agent fails to prepare")
	}
}

// TestMergeIsExact: percentiles of merged agents are those of all values.
func TestMergeIsExact(t *testing.T) {
	all := stats.NewHistogram()
	var rs []*loadtest.Result
	for a := range 3 {
		h, sec := stats.NewHistogram(), stats.NewHistogram()
		for i := range 1000 {
			d := time.Duration(a*1000+i) * 37 * time.Microsecond
			h.Record(d)
			sec.Record(d)
			all.Record(d)
		}
		enc, _ := h.Encode()
		penc, _ := sec.Encode()
		rs = append(rs, &loadtest.Result{
			Users: 10, Connected: 10, LoginS: float64(a + 1), MessagesReceived: 1000,
			Histograms: map[string]string{"latency": enc},
			Series:     []loadtest.Point{{T: 1, Received: 1000, Hist: penc}},
		})
	}
	m, err := Merge(rs)
	if err != nil {
		t.Fatal(err)
	}
	if m.Latency != all.Summary() || m.Series[0].P99ms != all.Summary().P99 || m.Series[0].Received != 3000 {
		t.Fatalf("merged %+v, want %+v", m.Latency, all.Summary())
	}
	if m.LoginsPerSec != 10 { // 30 logins, the slowest agent took 3 s
		t.Fatalf("logins/s %v", m.LoginsPerSec)
	}
}

func TestSplit(t *testing.T) {
	parts, err := Split(loadtest.Config{Users: 5, UserOffset: 10, Rate: 1000, ServerPID: 42, Messages: 100}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if parts[0].Users != 3 || parts[1].Users != 2 || parts[1].UserOffset != 13 || parts[0].Rate != 600 || parts[1].Rate != 400 ||
		parts[0].ServerPID != 42 || parts[1].ServerPID != 0 || parts[0].Messages != 60 {
		t.Fatalf("%+v", parts)
	}
}
