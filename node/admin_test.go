package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/node"
)

const adminToken = "0123456789abcdef0123456789abcdef"

// contract checks every exchange against docs/admin-api.yaml: responses
// always, requests whenever the server accepted them. It records which
// operations succeeded at least once.
type contract struct {
	t      *testing.T
	base   http.RoundTripper
	doc    *openapi3.T
	router routers.Router
	seen   *succeeded
}

// succeeded records the operations that succeeded, "METHOD /path/{template}".
type succeeded struct {
	mu  sync.Mutex
	ops map[string]bool
}

func newContract(t *testing.T) *contract {
	doc, err := openapi3.NewLoader().LoadFromFile("../docs/admin-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Route by path alone: requests are matched as if sent to this server.
	doc.Servers = openapi3.Servers{{URL: "http://admin"}}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &contract{t: t, base: http.DefaultTransport, doc: doc, router: r, seen: &succeeded{ops: map[string]bool{}}}
}

// undocumented marks a request that is meant to miss the document (a
// method a path does not serve).
const undocumented = "X-Test-Undocumented"

func (c *contract) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	in := req.Clone(req.Context())
	in.URL.Scheme, in.URL.Host, in.Host = "http", "admin", "admin"
	in.Body = io.NopCloser(bytes.NewReader(body))
	route, params, routeErr := c.router.FindRoute(in)
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	what := req.Method + " " + req.URL.RequestURI()
	if routeErr != nil {
		if req.Header.Get(undocumented) == "" {
			c.t.Errorf("%s: not in the document: %v", what, routeErr)
		}
		return resp, nil
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	rin := &openapi3filter.RequestValidationInput{Request: in, PathParams: params, Route: route, Options: opts}
	ctx := context.Background()
	if resp.StatusCode < 400 {
		if err := openapi3filter.ValidateRequest(ctx, rin); err != nil {
			c.t.Errorf("%s: accepted request breaks the document: %v", what, err)
		}
		c.seen.mu.Lock()
		c.seen.ops[req.Method+" "+route.Path] = true
		c.seen.mu.Unlock()
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: rin, Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(rb)), Options: opts}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		c.t.Errorf("%s: response %d %s breaks the document: %v", what, resp.StatusCode, rb, err)
	}
	return resp, nil
}

// adminClient speaks to one listener of the admin API.
type adminClient struct {
	t     *testing.T
	http  *http.Client
	base  string
	token string
}

type result struct {
	code   int
	header http.Header
	body   []byte
}

func (r result) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%d %s: %v", r.code, r.body, err)
	}
}

// do sends a request; body is JSON-encoded unless it is a string.
func (a *adminClient) do(method, path string, body any, hdr ...string) result {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.http.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, b}
}

// expect sends a request and checks the status.
func (a *adminClient) expect(code int, method, path string, body any) result {
	a.t.Helper()
	r := a.do(method, path, body)
	if r.code != code {
		a.t.Fatalf("%s %s: %d %s, want %d", method, path, r.code, r.body, code)
	}
	return r
}

// startAdminNode runs a node with the admin TCP listener and returns a
// client for it (with the token) and one for the local socket.
func startAdminNode(t *testing.T, c *contract) (*xmpptest.Server, *adminClient, *adminClient) {
	cfg := xmpptest.Config(t)
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.Admin.Tokens = []string{adminToken}
	cfg.Node.Name = "n1"
	s := xmpptest.Start(t, cfg)
	tcp := &adminClient{t: t, http: &http.Client{Transport: c}, base: "http://" + s.Addrs("admin")[0].String(), token: adminToken}
	sock := node.AdminSocket(cfg.Node.DataDir)
	unix := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}
	local := &adminClient{t: t, http: &http.Client{Transport: &contract{t: t, base: unix, doc: c.doc, router: c.router, seen: c.seen}}, base: "http://node"}
	return s, tcp, local
}

func TestAdminAPI(t *testing.T) {
	c := newContract(t)
	s, api, local := startAdminNode(t, c)

	t.Run("auth", func(t *testing.T) {
		api.t, local.t = t, t
		noToken := &adminClient{t: t, http: api.http, base: api.base}
		for _, tok := range []string{"", "wrong-token-wrong-token-wrong", adminToken[:31]} {
			noToken.token = tok
			r := noToken.do("GET", "/v1/status", nil)
			if r.code != 401 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("token %q: %d %q", tok, r.code, r.header.Get("WWW-Authenticate"))
			}
		}
		// A refused request changes nothing.
		noToken.token = "wrong-token-wrong-token-wrong"
		if r := noToken.do("POST", "/v1/users", map[string]string{"jid": "mallory@localhost", "password": "pw"}); r.code != 401 {
			t.Fatalf("create without a token: %d", r.code)
		}
		if ok, _ := s.Core().UserExists(context.Background(), mustJID(t, "mallory@localhost")); ok {
			t.Fatal("account created without a token")
		}
		api.expect(200, "GET", "/v1/status", nil)
		local.expect(200, "GET", "/v1/status", nil) // the socket needs none
	})

	t.Run("users", func(t *testing.T) {
		api.t = t
		for _, u := range []string{"carol", "alice", "bob", "dave"} {
			api.expect(201, "POST", "/v1/users", map[string]string{"jid": u + "@localhost", "password": "pw"})
		}
		api.expect(409, "POST", "/v1/users", map[string]string{"jid": "alice@localhost", "password": "pw"})
		api.expect(400, "POST", "/v1/users", `{"jid": "x@localhost", "password": `)
		api.expect(400, "POST", "/v1/users", `{"jid": "x@localhost", "password": "pw", "admin": true}`)
		api.expect(400, "POST", "/v1/users", map[string]string{"jid": "x@localhost/res", "password": "pw"})
		api.expect(400, "POST", "/v1/users", map[string]string{"jid": "x@localhost", "password": ""})
		api.expect(404, "POST", "/v1/users", map[string]string{"jid": "x@elsewhere.example", "password": "pw"})

		var list struct {
			Users []string
			Next  string
		}
		api.expect(200, "GET", "/v1/users?domain=localhost", nil).decode(t, &list)
		if !slices.Equal(list.Users, []string{"alice", "bob", "carol", "dave"}) || list.Next != "" {
			t.Fatalf("list: %+v", list)
		}
		list.Users = nil
		api.expect(200, "GET", "/v1/users?domain=localhost&limit=2", nil).decode(t, &list)
		if !slices.Equal(list.Users, []string{"alice", "bob"}) || list.Next != "bob" {
			t.Fatalf("page 1: %+v", list)
		}
		list.Users, list.Next = nil, ""
		api.expect(200, "GET", "/v1/users?domain=localhost&limit=2&after=bob", nil).decode(t, &list)
		if !slices.Equal(list.Users, []string{"carol", "dave"}) || list.Next != "" {
			t.Fatalf("page 2: %+v", list)
		}
		api.expect(400, "GET", "/v1/users?domain=localhost&limit=0", nil)
		api.expect(400, "GET", "/v1/users", nil)
		api.expect(404, "GET", "/v1/users?domain=elsewhere.example", nil)

		var user struct {
			JID      string
			Sessions []any
		}
		api.expect(200, "GET", "/v1/users/alice@localhost", nil).decode(t, &user)
		if user.JID != "alice@localhost" || len(user.Sessions) != 0 {
			t.Fatalf("user: %+v", user)
		}
		api.expect(404, "GET", "/v1/users/nobody@localhost", nil)
		api.expect(400, "GET", "/v1/users/not@@valid", nil)

		api.expect(204, "PUT", "/v1/users/dave@localhost/password", map[string]string{"password": "new"})
		xmpptest.Login(t, s.C2S, "localhost", "dave", "new", "r").Close()
		api.expect(404, "PUT", "/v1/users/nobody@localhost/password", map[string]string{"password": "new"})
		api.expect(400, "PUT", "/v1/users/dave@localhost/password", `{"pass": "x"}`)
		api.expect(204, "DELETE", "/v1/users/dave@localhost", nil)
		api.expect(404, "DELETE", "/v1/users/dave@localhost", nil)
	})

	t.Run("sessions", func(t *testing.T) {
		api.t = t
		a1 := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "phone")
		a2 := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "desk/top")
		b := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "r")
		var list struct {
			Sessions []struct {
				JID, Transport string
				RemoteAddr     string `json:"remote_addr"`
				Since          time.Time
			}
		}
		api.expect(200, "GET", "/v1/sessions", nil).decode(t, &list)
		var jids []string
		for _, ss := range list.Sessions {
			jids = append(jids, ss.JID)
			if ss.Transport != "tcp" || ss.RemoteAddr != "127.0.0.1" || ss.Since.IsZero() {
				t.Errorf("session %+v", ss)
			}
		}
		if !slices.Equal(jids, []string{"alice@localhost/desk/top", "alice@localhost/phone", "bob@localhost/r"}) {
			t.Fatalf("sessions: %v", jids)
		}
		list.Sessions = nil
		api.expect(200, "GET", "/v1/sessions?user=bob@localhost&domain=localhost", nil).decode(t, &list)
		if len(list.Sessions) != 1 || list.Sessions[0].JID != "bob@localhost/r" {
			t.Fatalf("bob's sessions: %+v", list)
		}
		api.expect(404, "GET", "/v1/sessions?domain=elsewhere.example", nil)
		api.expect(400, "GET", "/v1/sessions?user=bob@localhost/r", nil)

		// A resource with a slash travels as %2F.
		api.expect(204, "DELETE", "/v1/sessions/"+url.PathEscape("alice@localhost/desk/top"), nil)
		a2.ExpectStreamError("policy-violation")
		api.expect(404, "DELETE", "/v1/sessions/"+url.PathEscape("alice@localhost/desk/top"), nil)
		api.expect(400, "DELETE", "/v1/sessions/alice@localhost", nil)
		var user struct{ Sessions []struct{ JID string } }
		api.expect(200, "GET", "/v1/users/alice@localhost", nil).decode(t, &user)
		if len(user.Sessions) != 1 || user.Sessions[0].JID != "alice@localhost/phone" {
			t.Fatalf("alice's sessions after the kick: %+v", user)
		}

		var kicked struct{ Kicked int }
		api.expect(200, "DELETE", "/v1/users/alice@localhost/sessions", nil).decode(t, &kicked)
		a1.ExpectStreamError("policy-violation")
		if kicked.Kicked != 1 {
			t.Fatalf("kicked %d", kicked.Kicked)
		}
		api.expect(404, "DELETE", "/v1/users/nobody@localhost/sessions", nil)
		// Bob was left alone.
		list.Sessions = nil
		api.expect(200, "GET", "/v1/sessions", nil).decode(t, &list)
		if len(list.Sessions) != 1 || list.Sessions[0].JID != "bob@localhost/r" {
			t.Fatalf("sessions after the kicks: %+v", list)
		}
		b.Close()
	})

	t.Run("stanzas", func(t *testing.T) {
		api.t = t
		b := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "r")
		b.Send("<presence/>")
		b.Expect("presence")
		var sent struct{ From, ID string }
		api.expect(202, "POST", "/v1/stanzas", map[string]string{"from": "alice@localhost", "stanza": "<message to='bob@localhost/r' type='chat' id='m1'><body>one</body></message>"}).decode(t, &sent)
		if sent.From != "alice@localhost" || sent.ID != "m1" {
			t.Fatalf("sent: %+v", sent)
		}
		m := b.Expect("message")
		if m.Attr("from") != "alice@localhost" || m.Attr("id") != "m1" || !xmpptest.HasText(m, "one") {
			t.Fatalf("got %s", m)
		}

		// Text XML cannot carry is refused, not sent to break bob's parser.
		api.expect(400, "POST", "/v1/messages", map[string]string{"from": "alice@localhost", "to": "bob@localhost", "body": "bad \u0001"})

		// Through a connected session of alice's, to bob's bare JID.
		a := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "phone")
		api.expect(202, "POST", "/v1/messages", map[string]string{"from": "alice@localhost/phone", "to": "bob@localhost", "body": "two & <three>"}).decode(t, &sent)
		m = b.Expect("message")
		if m.Attr("from") != "alice@localhost/phone" || m.Attr("type") != "chat" || m.Attr("id") != sent.ID || sent.ID == "" || !xmpptest.HasText(m, "two &amp; &lt;three&gt;") {
			t.Fatalf("got %s (sent %+v)", m, sent)
		}
		// A presence through alice's session reaches bob as directed presence.
		api.expect(202, "POST", "/v1/stanzas", map[string]string{"from": "alice@localhost/phone", "stanza": "<presence to='bob@localhost'><status>api</status></presence>"})
		if p := b.Expect("presence"); p.Attr("from") != "alice@localhost/phone" {
			t.Fatalf("got %s", p)
		}
		// An IQ through alice's session: the answer reaches her client.
		api.expect(202, "POST", "/v1/stanzas", map[string]string{"from": "alice@localhost/phone", "stanza": "<iq to='localhost' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>"})
		if r := a.Expect("iq"); r.Attr("id") != "p1" || r.Attr("type") != "result" {
			t.Fatalf("got %s", r)
		}

		for _, tc := range []struct {
			code int
			body any
		}{
			{400, `{"from": "alice@localhost", "stanza": "<message>"`},
			{400, map[string]string{"from": "alice@localhost", "stanza": "<message><body>x</message>"}},
			{400, map[string]string{"from": "alice@localhost", "stanza": "<message/><message/>"}},
			{400, map[string]string{"from": "alice@localhost", "stanza": "<foo to='bob@localhost'/>"}},
			{400, map[string]string{"from": "alice@localhost", "stanza": "<message xmlns='jabber:server' to='bob@localhost'/>"}},
			{400, map[string]string{"from": "alice@localhost", "stanza": "<message to='bob@@localhost'/>"}},
			{400, map[string]string{"from": "alice@localhost", "stanza": "<message from='bob@localhost' to='bob@localhost'/>"}},
			{400, map[string]string{"from": "alice@localhost", "stanza": "<iq to='localhost' type='get'><ping xmlns='urn:xmpp:ping'/></iq>"}},
			{400, map[string]string{"from": "alice@localhost", "stanza": "<presence/>"}},
			{400, map[string]string{"from": "localhost", "stanza": "<message to='bob@localhost'/>"}},
			{400, map[string]string{"from": "alice@localhost/gone", "stanza": "<presence/>"}},
			{400, map[string]string{"from": "alice@localhost/gone", "stanza": "<iq to='localhost' type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>"}},
			{404, map[string]string{"from": "nobody@localhost", "stanza": "<message to='bob@localhost'/>"}},
			{404, map[string]string{"from": "alice@elsewhere.example", "stanza": "<message to='bob@localhost'/>"}},
			{400, map[string]string{"from": "alice@localhost", "to": "bob@localhost", "body": ""}},
			{400, map[string]string{"from": "alice@localhost", "to": "bob@localhost", "body": "x", "type": "groupchat"}},
			{404, map[string]string{"from": "nobody@localhost", "to": "bob@localhost", "body": "x"}},
		} {
			path := "/v1/stanzas"
			if m, ok := tc.body.(map[string]string); ok && m["body"] != "" || ok && m["to"] != "" {
				path = "/v1/messages"
			}
			if r := api.do("POST", path, tc.body); r.code != tc.code {
				t.Errorf("%v: %d %s, want %d", tc.body, r.code, r.body, tc.code)
			}
		}
		// None of the refused stanzas reached bob: the next is this one.
		api.expect(202, "POST", "/v1/messages", map[string]string{"from": "alice@localhost", "to": "bob@localhost/r", "body": "last"})
		if m := b.Expect("message"); !xmpptest.HasText(m, "last") {
			t.Fatalf("got %s", m)
		}
		a.Close()
		b.Close()
	})

	t.Run("node", func(t *testing.T) {
		api.t = t
		b := xmpptest.Login(t, s.C2S, "localhost", "bob", "pw", "r")
		defer b.Close()
		var d struct {
			Domains []struct {
				Domain          string
				Users, Sessions int
			}
		}
		// The sessions closed by the subtests before end asynchronously:
		// wait until only bob's is left (or fail on what is seen).
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			api.expect(200, "GET", "/v1/domains", nil).decode(t, &d)
			if len(d.Domains) != 1 || d.Domains[0].Sessions <= 1 || time.Now().After(deadline) {
				break
			}
		}
		if len(d.Domains) != 1 || d.Domains[0].Domain != "localhost" || d.Domains[0].Users != 3 || d.Domains[0].Sessions != 1 {
			t.Fatalf("domains: %+v", d)
		}
		var st struct {
			Node                string
			Sessions, Streams   int
			SessionsByTransport map[string]int `json:"sessions_by_transport"`
			Goroutines          int
		}
		api.expect(200, "GET", "/v1/status", nil).decode(t, &st)
		if st.Node != "n1" || st.Sessions != 1 || st.SessionsByTransport["tcp"] != 1 || st.Streams < 1 || st.Goroutines == 0 {
			t.Fatalf("status: %+v", st)
		}
		var mesh struct {
			Members []struct {
				Name, Address, Status string
				Self                  bool
			}
		}
		api.expect(200, "GET", "/v1/mesh", nil).decode(t, &mesh)
		if len(mesh.Members) != 1 || mesh.Members[0].Name != "n1" || mesh.Members[0].Address != s.C2S || !mesh.Members[0].Self || mesh.Members[0].Status != "alive" {
			t.Fatalf("mesh: %+v", mesh)
		}
		doc := api.expect(200, "GET", "/v1/openapi.yaml", nil)
		want, _ := os.ReadFile("../docs/admin-api.yaml")
		if !bytes.Equal(doc.body, want) {
			t.Fatal("served document differs from docs/admin-api.yaml")
		}
		// A method a path does not serve, and a path that does not exist.
		if r := api.do("POST", "/v1/status", nil, undocumented, "1"); r.code != 405 || r.header.Get("Allow") == "" || !bytes.Contains(r.body, []byte(`"error"`)) {
			t.Fatalf("POST /v1/status: %d %s", r.code, r.body)
		}
		if r := api.do("GET", "/v1/nothing", nil, undocumented, "1"); r.code != 404 || !bytes.Contains(r.body, []byte(`"error"`)) {
			t.Fatalf("GET /v1/nothing: %d %s", r.code, r.body)
		}
	})

	// Last, as it ends the node's client service: a drain (node/drain_test.go
	// tests what it does).
	t.Run("drain", func(t *testing.T) {
		api.t = t
		if r := api.do("POST", "/v1/drain", map[string]string{"timeout": "soon"}); r.code != 400 {
			t.Fatalf("bad timeout: %d %s", r.code, r.body)
		}
		api.expect(200, "POST", "/v1/drain", map[string]string{"timeout": "1m", "period": "0s"})
		api.expect(200, "POST", "/v1/drain", nil)
	})

	// Every operation of the document succeeded at least once, so that
	// the document cannot drift from what the tests exercise.
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			if !c.seen.ops[method+" "+path] {
				t.Errorf("%s %s: no test exchange succeeded", method, path)
			}
		}
	}
}
