package node_test

import (
	"bufio"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

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
