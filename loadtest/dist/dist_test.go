package dist

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/loadtest"
)

// TestControlMergesAgents: two agents share the users and the rate; the
// merged result adds up and its latency histogram holds every message.
func TestControlMergesAgents(t *testing.T) {
	s := xmpptest.Start(t, nil)
	for i := 0; i < 4; i++ {
		s.AddUser(t, "load"+string(rune('0'+i)), "secret")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var agents []string
	for i := 0; i < 2; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		agents = append(agents, ln.Addr().String())
		go serve(ctx, ln, io.Discard)
	}
	res, err := Control(ctx, agents, loadtest.Config{
		Server: s.C2S, Domain: "localhost", Scenario: "chat", Users: 4, RosterSize: 1,
		Rate: 200, Duration: time.Second, Drain: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Users != 4 || res.Connected != 4 || res.TargetRate != 200 {
		t.Fatalf("%+v", res)
	}
	if res.MessagesSent < 150 || res.MessagesReceived != res.MessagesSent || res.Latency.Count != res.MessagesReceived {
		t.Fatalf("sent %d received %d latency count %d", res.MessagesSent, res.MessagesReceived, res.Latency.Count)
	}
	if _, err := Control(ctx, agents, loadtest.Config{Server: s.C2S, Domain: "localhost", Scenario: "chat", Users: 1}); err == nil {
		t.Fatal("1 user split among 2 agents")
	}
}
