package node_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHTTPEndpoints: health, readiness, metrics; every metric is named
// meridian_<subsystem>_<name> (DESIGN principle 10).
func TestHTTPEndpoints(t *testing.T) {
	s := xmpptest.Start(t, nil)
	s.AddUser(t, "alice", "pw")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	a.Send("<presence/>")
	a.Expect("presence")
	if code, body := get(t, "http://"+s.HTTP+"/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	if code, _ := get(t, "http://"+s.HTTP+"/readyz"); code != 200 {
		t.Fatalf("readyz: %d", code)
	}
	code, body := get(t, "http://"+s.HTTP+"/metrics")
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		`meridian_c2s_auth_total{mechanism="PLAIN",result="success"}`,
		`meridian_router_stanzas_in_total{kind="presence"}`,
		`meridian_sm_sessions`,
		`meridian_c2s_connections{transport="tcp"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	name := regexp.MustCompile(`^meridian_[a-z0-9]+_[a-z0-9_]+$`)
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "# TYPE meridian") {
			continue
		}
		if n := strings.Fields(line)[2]; !name.MatchString(n) {
			t.Errorf("metric name %q is not meridian_<subsystem>_<name>", n)
		}
	}
	if code, body := get(t, "http://"+s.HTTP+"/debug/sessions"); code != 200 || !strings.Contains(body, `"sessions":1`) {
		t.Fatalf("debug/sessions: %d %s", code, body)
	}
}

// TestGrafanaDashboard: every meridian_ metric the dashboard in
// deploy/grafana queries is one the node serves, once it has seen the
// traffic the metric counts.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile("../deploy/grafana/meridian-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	// Traffic that makes every vector appear: logins, stanzas, an error,
	// a drop, stream management, a registration, a webhook delivery.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer hook.Close()
	cfg := testConfig(t, `
[[vhosts]]
domain = "reg.localhost"
registration = true
[[modules.event_pusher.endpoints]]
url = "`+hook.URL+`"
secret = "s"
`)
	s := xmpptest.Start(t, cfg)
	s.AddUser(t, "alice", "pw")
	a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "a")
	a.Send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
	a.Expect("enabled")
	a.Send("<presence/>")
	a.Send("<message to='nobody@localhost' type='headline'><body>x</body></message>")
	a.Send("<iq type='get' to='localhost' id='e'><nope xmlns='urn:example'/></iq>")
	a.Expect("iq")
	r := xmpptest.Dial(t, s.C2S, "reg.localhost")
	r.Open()
	r.StartTLS()
	r.Register("newbie", "pw")
	bad := xmpptest.Dial(t, s.C2S, "nosuch.example")
	bad.Send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='nosuch.example' version='1.0'>")
	bad.ExpectStreamError("host-unknown")
	var body string
	names := regexp.MustCompile(`\b(meridian_[a-z0-9_]+|process_[a-z_]+|go_[a-z_]+)\b`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body = get(t, "http://"+s.HTTP+"/metrics")
		missing := ""
		for _, p := range dash.Panels {
			for _, tg := range p.Targets {
				for _, n := range names.FindAllString(tg.Expr, -1) {
					if !strings.Contains(body, "\n"+n+"{") && !strings.Contains(body, "\n"+n+" ") {
						missing = p.Title + ": " + n
					}
				}
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node does not serve %s", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
