package loadtest_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/loadtest"
)

func TestLoginStormCountsLogins(t *testing.T) {
	s := server(t, 8)
	res, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "login", Users: 8,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connected != 8 || res.Connect.Count != 8 || res.TLS.Count != 8 || res.Auth.Count != 8 || res.Bind.Count != 8 || len(res.Errors) != 0 {
		t.Fatalf("%+v", res)
	}
	if res.LoginsPerSec <= 0 || res.LoginS <= 0 || res.Server.Address != s.C2S {
		t.Fatalf("logins/s %v in %v s", res.LoginsPerSec, res.LoginS)
	}
	// Direct TLS with SCRAM-SHA-256, spread over a ramp from two source
	// addresses.
	ips, _ := loadtest.ParseSources("127.0.0.2-127.0.0.3")
	res, err = loadtest.Run(context.Background(), loadtest.Config{
		Server: s.TLS, Domain: "localhost", Transport: "tls", Mechanism: "SCRAM-SHA-256", Scenario: "login",
		Users: 4, Ramp: 200 * time.Millisecond, Sources: ips,
	})
	if err != nil || res.Connected != 4 || len(res.Errors) != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	if res.LoginS < 0.15 {
		t.Fatalf("a 200 ms ramp for 4 users took %.3f s", res.LoginS)
	}
	// A wrong password is counted by kind, not fatal.
	res, err = loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "login", Users: 2, Password: "wrong",
	})
	if err != nil || res.Connected != 0 || res.Errors["auth:not-authorized"] != 2 {
		t.Fatalf("%v %+v", err, res.Errors)
	}
}

func TestChatCountsAddUp(t *testing.T) {
	s := server(t, 6)
	cfg := loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "chat", Users: 6, RosterSize: 2,
		Rate: 600, Duration: time.Second, Drain: 2 * time.Second,
	}
	for run := range 2 { // the second run finds the rosters the first made
		res, err := loadtest.Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.MessagesSent < 500 || res.MessagesSent != res.MessagesReceived || res.Latency.Count != res.MessagesReceived {
			t.Fatalf("run %d: sent %d received %d latency count %d", run, res.MessagesSent, res.MessagesReceived, res.Latency.Count)
		}
		if len(res.Errors) != 0 {
			t.Fatalf("run %d: errors %v", run, res.Errors)
		}
		var sent, received int64
		for _, p := range res.Series {
			sent += p.Sent
			received += p.Received
		}
		if sent != res.MessagesSent || received != res.MessagesReceived {
			t.Fatalf("run %d: series hold %d/%d of %d/%d", run, sent, received, res.MessagesSent, res.MessagesReceived)
		}
		if res.MessagesPerSec < 450 || res.MessagesPerSec > 650 {
			t.Fatalf("run %d: %.0f messages/s at rate 600", run, res.MessagesPerSec)
		}
	}
}

// TestReportedLatencyFollowsInjectedDelay checks the harness's numbers
// against known delays: a proxy holds every server-to-client chunk for
// 20 ms, and a dialer waits 30 ms before connecting.
func TestReportedLatencyFollowsInjectedDelay(t *testing.T) {
	const (
		delay = 20 * time.Millisecond
		dial  = 30 * time.Millisecond
	)
	// Only lower bounds: on a busy machine anything can take longer, but
	// nothing can take less than the delay the proxy injected.
	d := float64(delay) / 1e6
	s := server(t, 4)
	addr := delayProxy(t, s.C2S, delay)
	res, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: addr, Domain: "localhost", Scenario: "chat", Users: 4, RosterSize: 1,
		Rate: 200, Duration: time.Second, Drain: 2 * time.Second, Dial: slowDial(dial),
	})
	if err != nil {
		t.Fatal(err)
	}
	l := res.Latency
	if l.Count < 150 || l.P50 < d {
		t.Fatalf("end-to-end latency with %v injected: %+v", delay, l)
	}
	// The connect time is the dial.
	if c := res.Connect; c.P50 < 30 {
		t.Fatalf("connect with %v injected: %+v", dial, c)
	}
	// STARTTLS waits for <proceed/> and the server's handshake flight:
	// two delays. SASL PLAIN waits for <success/> and the restarted
	// stream's features: two more.
	if tl := res.TLS; tl.P50 < 2*d {
		t.Fatalf("TLS with %v injected: %+v", delay, tl)
	}
	if a := res.Auth; a.P50 < 2*d {
		t.Fatalf("auth with %v injected: %+v", delay, a)
	}
	// Without the delays the same run is much faster: what we measured
	// was the injected delay.
	direct, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "chat", Users: 4, RosterSize: 1,
		Rate: 200, Duration: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if direct.Latency.P50 >= l.P50 || direct.Connect.P50 >= res.Connect.P50 {
		t.Fatalf("direct: latency %+v connect %+v", direct.Latency, direct.Connect)
	}
}

func TestPresenceBroadcastCounts(t *testing.T) {
	s := server(t, 6)
	res, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "presence", Users: 6, RosterSize: 2,
		Rate: 100, Duration: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Groups of three: every update reaches two contacts.
	if res.MessagesSent < 40 || res.MessagesReceived != 2*res.MessagesSent || len(res.Errors) != 0 {
		t.Fatalf("sent %d received %d errors %v", res.MessagesSent, res.MessagesReceived, res.Errors)
	}
	if _, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "presence", Users: 2,
	}); err == nil || !strings.Contains(err.Error(), "roster-size") {
		t.Fatalf("presence without contacts: %v", err)
	}
}

// TestMAM: against Meridian's archive every query is answered.
func TestMAM(t *testing.T) {
	s := server(t, 2)
	res, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "mam", Users: 2, RosterSize: 1,
		Rate: 50, Duration: 300 * time.Millisecond, Drain: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.MessagesSent == 0 || res.MessagesReceived != res.MessagesSent || len(res.Errors) != 0 {
		t.Fatalf("sent %d received %d errors %v", res.MessagesSent, res.MessagesReceived, res.Errors)
	}
}

// TestMAMWithoutArchive: a server without XEP-0313 answers errors, which
// are counted by kind; the drain does not wait for answers that came.
func TestMAMWithoutArchive(t *testing.T) {
	s := serverWith(t, 2, "[modules.mam]\nenabled = false\n")
	start := time.Now()
	res, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "mam", Users: 2, RosterSize: 1,
		Rate: 50, Duration: 300 * time.Millisecond, Drain: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	var iqErrors int64
	for k, v := range res.Errors {
		if strings.HasPrefix(k, "iq_error:") {
			iqErrors += v
		}
	}
	if res.MessagesSent == 0 || iqErrors != res.MessagesSent || res.MessagesReceived != 0 {
		t.Fatalf("sent %d received %d errors %v", res.MessagesSent, res.MessagesReceived, res.Errors)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("the drain waited for answers that had come: %v", time.Since(start))
	}
}

// TestIdleMeasuresServer samples this process, which is the server here.
func TestIdleMeasuresServer(t *testing.T) {
	s := server(t, 4)
	var progress bytes.Buffer
	res, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "idle", Users: 4, Duration: 1200 * time.Millisecond,
		ServerPID: os.Getpid(), Progress: 500 * time.Millisecond, ProgressOut: &progress,
	})
	if err != nil {
		t.Fatal(err)
	}
	sv := res.Server
	// This process's memory may shrink (GC): only check it was read.
	if sv.PID != os.Getpid() || sv.RSSBefore <= 0 || sv.RSSAfter <= 0 || sv.RSSMax < sv.RSSBefore || sv.CPUPercent < 0 {
		t.Fatalf("%+v", sv)
	}
	var sampled bool
	for _, p := range res.Series {
		sampled = sampled || p.RSSBytes > 0
	}
	if !sampled || len(res.Series) < 2 {
		t.Fatalf("series %+v", res.Series)
	}
	lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
	if len(lines) < 3 || !strings.Contains(lines[len(lines)-1], "users 4/4") || strings.Contains(progress.String(), "\r") {
		t.Fatalf("progress:\n%s", progress.String())
	}
}

func TestCannotStart(t *testing.T) {
	for _, c := range []loadtest.Config{
		{Domain: "localhost", Scenario: "chat", Users: 1},
		{Server: "127.0.0.1:1", Domain: "localhost", Scenario: "nope", Users: 1},
		{Server: "127.0.0.1:1", Domain: "localhost", Scenario: "chat", Users: 0},
		{Server: "127.0.0.1:1", Domain: "localhost", Scenario: "chat", Users: 1, UsersFrom: "carrier-pigeon"},
		{Server: "127.0.0.1:1", Domain: "localhost", Scenario: "chat", Users: 1, UsersFrom: "file:/nonexistent"},
		{Server: "127.0.0.1:1", Domain: "localhost", Scenario: "chat", Users: 1, Mechanism: "DIGEST-MD5"},
		{Server: "127.0.0.1:1", Domain: "localhost", Scenario: "chat", Users: 10, Rate: 100, Think: time.Second},
	} {
		if _, err := loadtest.Run(context.Background(), c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	_, err := loadtest.Run(context.Background(), loadtest.Config{Server: "127.0.0.1:1", Domain: "localhost", Scenario: "login", Users: 1, Transport: "quic"})
	if err == nil || !strings.Contains(err.Error(), "server does not offer QUIC") {
		t.Fatalf("quic: %v", err)
	}
	// An unreachable server is a run whose logins all fail, counted.
	res, err := loadtest.Run(context.Background(), loadtest.Config{Server: "127.0.0.1:1", Domain: "localhost", Scenario: "login", Users: 2})
	if err != nil || res.Connected != 0 || res.Errors["connect:refused"] != 2 {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestUserSources(t *testing.T) {
	s := server(t, 0)
	res, err := loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "login", Users: 3, UserPrefix: "ibr", UsersFrom: "ibr",
	})
	if err != nil || res.Connected != 3 {
		t.Fatalf("ibr: %v %+v", err, res)
	}
	f := t.TempDir() + "/users.txt"
	os.WriteFile(f, []byte("# accounts\nibr0@localhost secret\nibr2 secret\n"), 0o600)
	res, err = loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "login", Users: 2, UsersFrom: "file:" + f,
	})
	if err != nil || res.Connected != 2 {
		t.Fatalf("file: %v %+v", err, res)
	}
	res, err = loadtest.Run(context.Background(), loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "login", Users: 2, UserPrefix: "adm",
		UsersFrom: "admin:" + s.Config.Node.DataDir + "/admin.sock",
	})
	if err != nil || res.Connected != 2 {
		t.Fatalf("admin: %v %+v", err, res)
	}
}

func TestParseSources(t *testing.T) {
	ips, err := loadtest.ParseSources("127.0.0.2-127.0.0.4, 127.0.1.1")
	if err != nil || len(ips) != 4 || ips[2].String() != "127.0.0.4" || ips[3].String() != "127.0.1.1" {
		t.Fatalf("%v %v", ips, err)
	}
	for _, bad := range []string{"127.0.0.9-127.0.0.1", "nope", "10.0.0.0-10.1.0.0"} {
		if _, err := loadtest.ParseSources(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
