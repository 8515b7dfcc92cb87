package register

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/meridian-xmpp/meridian/core/mod/internal/modtest"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/internal/metrics"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

func counted(t *testing.T, result string) float64 {
	t.Helper()
	var m dto.Metric
	if err := metrics.Registrations.WithLabelValues(result).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func setup(t *testing.T, mod func(*Config)) (*modtest.Host, *Module) {
	t.Helper()
	h := modtest.New(time.Unix(0, 0), "example.com", "closed.example")
	cfg := Defaults()
	cfg.Domains = []string{"example.com"}
	if mod != nil {
		mod(cfg)
	}
	inst, err := New(h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h, inst.(*Module)
}

// form builds a jabber:iq:register query with the given children; a
// child "name=value" has text, "name" is empty.
func form(children ...string) *xmltok.Element {
	q := xmltok.NewElement(NS, "query")
	for _, c := range children {
		name, text, _ := strings.Cut(c, "=")
		q.Add(xmltok.NewElement(NS, name).SetText(text))
	}
	return q
}

func TestConfig(t *testing.T) {
	h := modtest.New(time.Unix(0, 0), "example.com")
	tests := []struct {
		name string
		cfg  Config
		want string // part of the error
	}{
		{"bad window", Config{RateLimit: 1, RateWindow: "soon"}, "modules.register.rate_window"},
		{"zero window", Config{RateLimit: 1, RateWindow: "0s"}, "modules.register.rate_window"},
		{"negative limit", Config{RateLimit: -1, RateWindow: "1m"}, "modules.register.rate_limit"},
		{"unknown domain", Config{RateWindow: "1m", Domains: []string{"other.example"}}, "other.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(h, &tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
	info, ok := module.Lookup("register")
	if !ok {
		t.Fatal("not registered")
	}
	if got := *info.Config().(*Config); got.RateLimit != 10 || got.RateWindow != "1m" || !got.AllowPasswordChange || !got.AllowRemove {
		t.Errorf("defaults %+v", got)
	}
}

func TestAnnounced(t *testing.T) {
	h, _ := setup(t, nil)
	if got := h.Features(module.Server); !slices.Equal(got, []string{NS}) {
		t.Errorf("features %v", got)
	}
	feats := h.StreamFeatures("example.com", true)
	if len(feats) != 1 || feats[0].String() != `<register xmlns='http://jabber.org/features/iq-register'/>` {
		t.Errorf("stream features on an open domain: %v", feats)
	}
	if feats := h.StreamFeatures("closed.example", true); len(feats) != 0 {
		t.Errorf("stream features on a closed domain: %v", feats)
	}
	if feats := h.StreamFeatures("example.com", false); len(feats) != 0 {
		t.Errorf("stream features after authentication: %v", feats)
	}
}

func TestRegistrationForm(t *testing.T) {
	h, _ := setup(t, nil)
	res, err := h.PreAuthIQ(context.Background(), t, "example.com", "192.0.2.1:4000", "get", form())
	if err != nil {
		t.Fatal(err)
	}
	want := `<query xmlns='jabber:iq:register'><instructions>` + instructions +
		`</instructions><username/><password/></query>`
	if got := res.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestRegister(t *testing.T) {
	ctx := context.Background()
	h, _ := setup(t, nil)
	h.AddUser(modtest.JID(t, "taken@example.com"), "pw")
	tests := []struct {
		name, domain, typ string
		payload           *xmltok.Element
		want, result      string // error condition, metric result
	}{
		{"created", "example.com", "set", form("username=juliet", "password=R0m30"), "", "created"},
		{"prepared username", "example.com", "set", form("username=Romeo", "password=x"), "", "created"},
		{"conflict", "example.com", "set", form("username=taken", "password=x"), "conflict", "conflict"},
		{"conflict after preparation", "example.com", "set", form("username=JULIET", "password=x"), "conflict", "conflict"},
		{"invalid username", "example.com", "set", form("username=a@b", "password=x"), "jid-malformed", "invalid"},
		{"missing password", "example.com", "set", form("username=nurse"), "not-acceptable", "invalid"},
		{"empty password", "example.com", "set", form("username=nurse", "password"), "not-acceptable", "invalid"},
		{"missing username", "example.com", "set", form("password=x"), "not-acceptable", "invalid"},
		{"remove before auth", "example.com", "set", form("remove"), "not-authorized", "invalid"},
		{"closed domain", "closed.example", "set", form("username=nurse", "password=x"), "not-allowed", "disabled"},
		{"closed domain form", "closed.example", "get", form(), "not-allowed", "disabled"},
		{"not a query", "example.com", "set", xmltok.NewElement(NS, "register"), "bad-request", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := 0.0
			if tt.result != "" {
				before = counted(t, tt.result)
			}
			// A new address each time: the rate limit is tested apart.
			addr := "192.0.2." + strconv.Itoa(i+1) + ":5000"
			_, err := h.PreAuthIQ(ctx, t, tt.domain, addr, tt.typ, tt.payload)
			if got := modtest.Condition(err); got != tt.want {
				t.Fatalf("error %q, want %q", got, tt.want)
			}
			if tt.result != "" {
				if after := counted(t, tt.result); after != before+1 {
					t.Errorf("metric %s went from %v to %v", tt.result, before, after)
				}
			}
		})
	}
	if pw, ok := h.Password(modtest.JID(t, "juliet@example.com")); !ok || pw != "R0m30" {
		t.Errorf("juliet: %q %v", pw, ok)
	}
	if _, ok := h.Password(modtest.JID(t, "romeo@example.com")); !ok {
		t.Error("romeo was not created under the prepared name")
	}
	if _, ok := h.Password(modtest.JID(t, "nurse@example.com")); ok {
		t.Error("nurse created on a closed domain or with missing fields")
	}
}

func TestCreateFailure(t *testing.T) {
	h, _ := setup(t, nil)
	h.CreateErr = errors.New("disk on fire")
	_, err := h.PreAuthIQ(context.Background(), t, "example.com", "192.0.2.1:1", "set", form("username=a", "password=b"))
	if got := modtest.Condition(err); got != "internal-server-error" {
		t.Errorf("error %q, want internal-server-error", got)
	}
}

func TestRateLimit(t *testing.T) {
	ctx := context.Background()
	clock := time.Unix(1000, 0)
	h, m := setup(t, func(c *Config) { c.RateLimit = 2 })
	m.limit.now = func() time.Time { return clock }
	try := func(addr, user string) error {
		_, err := h.PreAuthIQ(ctx, t, "example.com", addr, "set", form("username="+user, "password=x"))
		return err
	}
	if err := try("198.51.100.7:1", "u1"); err != nil {
		t.Fatal(err)
	}
	// Failed attempts count too, so the limit also slows down guessing
	// which names exist.
	if err := try("198.51.100.7:2", "u1"); modtest.Condition(err) != "conflict" {
		t.Fatal(err)
	}
	before := counted(t, "rate_limited")
	err := try("198.51.100.7:3", "u3")
	if got := modtest.Condition(err); got != "resource-constraint" {
		t.Fatalf("third attempt: %q, want resource-constraint", got)
	}
	if after := counted(t, "rate_limited"); after != before+1 {
		t.Errorf("rate_limited went from %v to %v", before, after)
	}
	if _, ok := h.Password(modtest.JID(t, "u3@example.com")); ok {
		t.Error("account created over the limit")
	}
	// Another address is not affected; the same /64 is.
	if err := try("198.51.100.8:1", "u4"); err != nil {
		t.Errorf("other address: %v", err)
	}
	if err := try("[2001:db8::1]:1", "u5"); err != nil {
		t.Fatal(err)
	}
	if err := try("[2001:db8::2]:1", "u6"); err != nil {
		t.Fatal(err)
	}
	if err := try("[2001:db8::3]:1", "u7"); modtest.Condition(err) != "resource-constraint" {
		t.Errorf("same /64: %v, want resource-constraint", err)
	}
	// The next window starts afresh.
	clock = clock.Add(time.Minute)
	if err := try("198.51.100.7:4", "u8"); err != nil {
		t.Errorf("next window: %v", err)
	}
	// The form itself is never limited.
	if _, err := h.PreAuthIQ(ctx, t, "example.com", "2001:db8::3", "get", form()); err != nil {
		t.Errorf("get over the limit: %v", err)
	}
}

func TestLimiterBounded(t *testing.T) {
	clock := time.Unix(1000, 0)
	l := newLimiter(1, time.Minute, 3, func() time.Time { return clock })
	for _, a := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		if !l.allow(a) {
			t.Fatalf("%s refused", a)
		}
	}
	if l.allow("192.0.2.4") {
		t.Error("a new address was tracked beyond the bound")
	}
	if l.tracked() != 3 {
		t.Errorf("tracked %d, want 3", l.tracked())
	}
	clock = clock.Add(time.Minute)
	if !l.allow("192.0.2.4") {
		t.Error("expired entries were not swept")
	}
	if l.tracked() != 1 {
		t.Errorf("tracked %d after a sweep, want 1", l.tracked())
	}
}

func TestAccount(t *testing.T) {
	ctx := context.Background()
	h, _ := setup(t, nil)
	for _, u := range []string{"alice@example.com", "bob@example.com", "carol@closed.example"} {
		h.AddUser(modtest.JID(t, u), "old")
	}
	tests := []struct {
		name, from, to, typ string
		payload             *xmltok.Element
		want                string // result or error condition
	}{
		{"registered", "alice@example.com/a", "example.com", "get", form(),
			`<query xmlns='jabber:iq:register'><registered/><username>alice</username></query>`},
		{"registered without to", "alice@example.com/a", "", "get", form(),
			`<query xmlns='jabber:iq:register'><registered/><username>alice</username></query>`},
		{"registered on closed domain", "carol@closed.example/c", "closed.example", "get", form(),
			`<query xmlns='jabber:iq:register'><registered/><username>carol</username></query>`},
		{"other account", "bob@example.com/b", "alice@example.com", "get", form(), "forbidden"},
		{"other domain", "carol@closed.example/c", "example.com", "get", form(), "forbidden"},
		{"change other's password", "bob@example.com/b", "alice@example.com", "set", form("username=alice", "password=new"), "forbidden"},
		{"remove other", "bob@example.com/b", "alice@example.com", "set", form("remove"), "forbidden"},
		{"wrong username", "alice@example.com/a", "example.com", "set", form("username=bob", "password=new"), "bad-request"},
		{"invalid username", "alice@example.com/a", "example.com", "set", form("username=a@b", "password=new"), "bad-request"},
		{"empty password", "alice@example.com/a", "example.com", "set", form("username=alice", "password"), "not-acceptable"},
		{"nothing to do", "alice@example.com/a", "example.com", "set", form(), "not-acceptable"},
		{"not a query", "alice@example.com/a", "example.com", "get", xmltok.NewElement(NS, "x"), "bad-request"},
		{"password change", "alice@example.com/a", "example.com", "set", form("username=Alice", "password=new"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := h.IQ(ctx, t, tt.from, tt.to, tt.typ, tt.payload)
			got := modtest.Condition(err)
			if err == nil && res != nil {
				got = res.String()
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	if pw, _ := h.Password(modtest.JID(t, "alice@example.com")); pw != "new" {
		t.Errorf("alice's password %q, want new", pw)
	}
	if pw, _ := h.Password(modtest.JID(t, "bob@example.com")); pw != "old" {
		t.Errorf("bob's password %q, want old", pw)
	}
}

func TestRemove(t *testing.T) {
	ctx := context.Background()
	h, _ := setup(t, nil)
	alice := modtest.JID(t, "alice@example.com")
	h.AddUser(alice, "pw")
	h.AddSession(module.SessionInfo{JID: modtest.JID(t, "alice@example.com/a"), Available: true})
	_, err := h.IQ(ctx, t, "alice@example.com/a", "example.com", "set", form("remove"))
	if !errors.Is(err, module.ErrReplied) {
		t.Fatalf("error %v, want module.ErrReplied", err)
	}
	if _, ok := h.Password(alice); ok {
		t.Error("account still exists")
	}
	ev := h.Events()
	if len(ev) != 2 || !strings.HasPrefix(ev[0], "deliver alice@example.com/a <iq ") || ev[1] != "remove alice@example.com" {
		t.Fatalf("events %q: want the result delivered, then the account removed", ev)
	}
	for _, want := range []string{"type='result'", "from='example.com'", "to='alice@example.com/a'"} {
		if !strings.Contains(ev[0], want) {
			t.Errorf("result %s lacks %s", ev[0], want)
		}
	}
}

func TestRemoveWithoutTo(t *testing.T) {
	h, _ := setup(t, nil)
	h.AddUser(modtest.JID(t, "alice@example.com"), "pw")
	_, err := h.IQ(context.Background(), t, "alice@example.com/a", "", "set", form("remove"))
	if !errors.Is(err, module.ErrReplied) {
		t.Fatalf("error %v, want module.ErrReplied", err)
	}
	if ev := h.Events(); len(ev) != 2 || strings.Contains(ev[0], "from=") {
		t.Errorf("events %q: want a result without from, then the removal", ev)
	}
}

func TestDisallowed(t *testing.T) {
	ctx := context.Background()
	h, _ := setup(t, func(c *Config) { c.AllowRemove, c.AllowPasswordChange = false, false })
	alice := modtest.JID(t, "alice@example.com")
	h.AddUser(alice, "pw")
	if _, err := h.IQ(ctx, t, "alice@example.com/a", "example.com", "set", form("remove")); modtest.Condition(err) != "not-allowed" {
		t.Errorf("remove: %v, want not-allowed", err)
	}
	if _, err := h.IQ(ctx, t, "alice@example.com/a", "example.com", "set", form("username=alice", "password=new")); modtest.Condition(err) != "not-allowed" {
		t.Errorf("password change: %v, want not-allowed", err)
	}
	if pw, ok := h.Password(alice); !ok || pw != "pw" {
		t.Errorf("account changed: %q %v", pw, ok)
	}
}
