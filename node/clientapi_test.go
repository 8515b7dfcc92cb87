package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// apiClient calls the client REST API of a test node and checks every
// request and answer against docs/client-api.yaml.
type apiClient struct {
	t      *testing.T
	base   string
	router routers.Router
	auth   func(*http.Request)
}

func newAPIClient(t *testing.T, srv *xmpptest.Server) *apiClient {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile("../docs/client-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("docs/client-api.yaml: %v", err)
	}
	base := "http://" + srv.Web + "/api/v1"
	doc.Servers = openapi3.Servers{{URL: base}}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &apiClient{t: t, base: base, router: r}
}

// as returns a client authenticating with Basic credentials.
func (c *apiClient) as(user, pass string) *apiClient {
	cp := *c
	cp.auth = func(r *http.Request) { r.SetBasicAuth(user, pass) }
	return &cp
}

// bearer returns a client authenticating with a token.
func (c *apiClient) bearer(tok string) *apiClient {
	cp := *c
	cp.auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	return &cp
}

type apiResp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r apiResp) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("answer %s: %v", r.Body, err)
	}
}

func (r apiResp) errorText() string {
	var e struct{ Error string }
	json.Unmarshal(r.Body, &e)
	return e.Error
}

// call sends a request; body is JSON-encoded unless it is a string (sent
// as is). valid says whether the request should pass the spec (bad
// input is sent on purpose elsewhere); the answer must pass it always.
func (c *apiClient) call(method, path string, body any, valid bool, hdr ...string) apiResp {
	c.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	newReq := func() *http.Request {
		req, err := http.NewRequest(method, c.base+path, bytes.NewReader(raw))
		if err != nil {
			c.t.Fatal(err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.auth != nil {
			c.auth(req)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return req
	}
	resp, err := http.DefaultClient.Do(newReq())
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	r := apiResp{Status: resp.StatusCode, Header: resp.Header, Body: out}

	vreq := newReq()
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		// Not an operation of the spec (405, 404, OPTIONS): the answer is
		// still an error object, or empty.
		if len(out) > 0 && r.errorText() == "" {
			c.t.Errorf("%s %s: %d %s: not an error object", method, path, r.Status, out)
		}
		return r
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); (err == nil) != valid {
		c.t.Errorf("%s %s: request validation against the spec: %v (want valid=%v)", method, path, err, valid)
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.Status, Header: r.Header, Options: opts}
	rin.SetBodyBytes(out)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		c.t.Errorf("%s %s: answer %d %s does not match the spec: %v", method, path, r.Status, out, err)
	}
	return r
}

// apiCase is a request that must fail with status and an error object;
// valid says whether the request itself passes the spec.
type apiCase struct {
	method, path string
	body         any
	status       int
	valid        bool
}

func (c *apiClient) expectErrors(cases []apiCase) {
	c.t.Helper()
	for _, tc := range cases {
		r := c.call(tc.method, tc.path, tc.body, tc.valid)
		if r.Status != tc.status || r.errorText() == "" {
			c.t.Errorf("%s %s %.60v: %d %s, want %d", tc.method, tc.path, tc.body, r.Status, r.Body, tc.status)
		}
	}
}

func expectStatus(t *testing.T, r apiResp, want int, what string) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: status %d, want %d: %s", what, r.Status, want, r.Body)
	}
}

func TestClientAPIAuth(t *testing.T) {
	srv := xmpptest.Start(t, nil)
	srv.AddUser(t, "alice", "secret")
	api := newAPIClient(t, srv)

	check401 := func(r apiResp, what string, bearer bool) {
		t.Helper()
		expectStatus(t, r, 401, what)
		ch := strings.Join(r.Header.Values("WWW-Authenticate"), "; ")
		if !strings.Contains(ch, `Basic realm="meridian"`) || strings.Contains(ch, "Bearer") != bearer {
			t.Fatalf("%s: challenges %q", what, ch)
		}
	}
	check401(api.call("GET", "/contacts", nil, true), "no credentials", true)
	check401(api.as("alice@localhost", "wrong").call("GET", "/contacts", nil, true), "wrong password", true)
	check401(api.as("nobody@localhost", "secret").call("GET", "/contacts", nil, true), "unknown user", true)
	check401(api.as("alice@elsewhere.example", "secret").call("GET", "/contacts", nil, true), "foreign domain", true)
	check401(api.as("localhost", "secret").call("GET", "/contacts", nil, true), "domain only", true)
	check401(api.as("alice@localhost/res", "secret").call("GET", "/contacts", nil, true), "full JID", true)
	check401(api.bearer("v1.garbage").call("GET", "/contacts", nil, true), "garbage token", true)
	expectStatus(t, api.as("alice@localhost", "secret").call("GET", "/contacts", nil, true), 200, "basic")

	r := api.as("alice@localhost", "secret").call("POST", "/tokens", nil, true)
	expectStatus(t, r, 201, "token")
	var tok struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expires_at"`
	}
	r.decode(t, &tok)
	expectStatus(t, api.bearer(tok.Token).call("GET", "/contacts", nil, true), 200, "bearer")
	// A token does not issue tokens.
	check401(api.bearer(tok.Token).call("POST", "/tokens", nil, true), "token for a token", false)

	// Forged: the payload changed (another user), the signature kept.
	parts := strings.Split(tok.Token, ".")
	forged := parts[0] + "." + strings.Replace(parts[1], parts[1][2:6], "AAAA", 1) + "." + parts[2]
	r = api.bearer(forged).call("GET", "/contacts", nil, true)
	check401(r, "forged token", true)
	if !strings.Contains(strings.Join(r.Header.Values("WWW-Authenticate"), ";"), `error="invalid_token"`) {
		t.Fatalf("forged token: %v", r.Header.Values("WWW-Authenticate"))
	}

	// A password change invalidates the token; a new one works.
	if err := srv.Core().SetPassword(context.Background(), mustJID(t, "alice@localhost"), "new"); err != nil {
		t.Fatal(err)
	}
	check401(api.bearer(tok.Token).call("GET", "/contacts", nil, true), "token after password change", true)
	check401(api.as("alice@localhost", "secret").call("GET", "/contacts", nil, true), "old password", true)
	r = api.as("alice@localhost", "new").call("POST", "/tokens", nil, true)
	expectStatus(t, r, 201, "token 2")
	r.decode(t, &tok)
	expectStatus(t, api.bearer(tok.Token).call("GET", "/contacts", nil, true), 200, "bearer 2")
	// So does removing the account.
	if err := srv.Core().RemoveUser(context.Background(), mustJID(t, "alice@localhost")); err != nil {
		t.Fatal(err)
	}
	check401(api.bearer(tok.Token).call("GET", "/contacts", nil, true), "token after removal", true)

	// Wrong method, unknown path.
	r = api.call("DELETE", "/tokens", nil, false)
	expectStatus(t, r, 405, "DELETE /tokens")
	if r.Header.Get("Allow") != "POST, OPTIONS" {
		t.Fatalf("Allow %q", r.Header.Get("Allow"))
	}
	expectStatus(t, api.call("GET", "/nothing", nil, false), 404, "unknown path")
}

func TestClientAPITokenSurvivesRestart(t *testing.T) {
	cfg := xmpptest.Config(t)
	srv := xmpptest.Start(t, cfg)
	srv.AddUser(t, "alice", "secret")
	r := newAPIClient(t, srv).as("alice@localhost", "secret").call("POST", "/tokens", nil, true)
	expectStatus(t, r, 201, "token")
	var tok struct{ Token string }
	r.decode(t, &tok)
	srv.Shutdown(context.Background())

	cfg2 := xmpptest.Config(t)
	cfg2.Node.DataDir = cfg.Node.DataDir
	srv2 := xmpptest.Start(t, cfg2)
	expectStatus(t, newAPIClient(t, srv2).bearer(tok.Token).call("GET", "/contacts", nil, true), 200, "token after restart")
}

// apiOnline logs a user in over TCP, asks for the roster and sends presence.
func apiOnline(t *testing.T, srv *xmpptest.Server, user, res string) *xmpptest.Conn {
	t.Helper()
	c := xmpptest.Login(t, srv.C2S, "localhost", user, "pw", res)
	c.Send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>")
	c.Expect("iq")
	c.Send("<presence/>")
	c.Expect("presence")
	return c
}

// expectWhere reads until an element satisfies ok.
func expectWhere(t *testing.T, c *xmpptest.Conn, what string, ok func(*xmltok.Element) bool) *xmltok.Element {
	t.Helper()
	for range 30 {
		if el := c.Next(); ok(el) {
			return el
		}
	}
	t.Fatalf("%s never arrived", what)
	return nil
}

type msgPage struct {
	Messages []struct {
		ID, From, To, Timestamp, Body string
	}
	First, Last string
	Complete    bool
}

// startAliceAndBob starts a node with accounts alice and bob (password
// "pw") and returns an API client authenticated as alice.
func startAliceAndBob(t *testing.T) (*xmpptest.Server, *apiClient) {
	t.Helper()
	srv := xmpptest.Start(t, nil)
	srv.AddUser(t, "alice", "pw")
	srv.AddUser(t, "bob", "pw")
	return srv, newAPIClient(t, srv).as("alice@localhost", "pw")
}

func TestClientAPIMessages(t *testing.T) {
	srv, api := startAliceAndBob(t)
	bob := apiOnline(t, srv, "bob", "phone")

	r := api.call("POST", "/messages", map[string]string{"to": "bob@localhost", "body": "hi <bob> & co"}, true)
	expectStatus(t, r, 202, "send")
	var sent struct{ ID string }
	r.decode(t, &sent)
	m := expectWhere(t, bob, "the message", func(el *xmltok.Element) bool { return el.Local == "message" })
	if m.Attr("from") != "alice@localhost/rest-api" || m.Attr("id") != sent.ID || m.Attr("type") != "chat" ||
		m.Child("jabber:client", "body") == nil || m.Child("jabber:client", "body").Text != "hi <bob> & co" {
		t.Fatalf("bob got %s", m)
	}
	bob.Send("<message to='alice@localhost/rest-api' type='chat' id='b1'><body>pong</body></message>")

	// The archive: newest page first, each page oldest first.
	var p msgPage
	for range 50 { // bob's reply is archived as the router handles it
		api.call("GET", "/messages?with=bob@localhost", nil, true).decode(t, &p)
		if len(p.Messages) == 2 {
			break
		}
	}
	if len(p.Messages) != 2 || !p.Complete || p.Messages[0].Body != "hi <bob> & co" || p.Messages[1].Body != "pong" ||
		p.Messages[0].From != "alice@localhost/rest-api" || p.Messages[0].To != "bob@localhost" ||
		p.Messages[1].From != "bob@localhost/phone" || p.First != p.Messages[0].ID || p.Last != p.Messages[1].ID {
		t.Fatalf("archive %+v", p)
	}
	var one msgPage
	r = api.call("GET", "/messages/bob@localhost?limit=1", nil, true)
	expectStatus(t, r, 200, "page 1")
	r.decode(t, &one)
	if len(one.Messages) != 1 || one.Messages[0].Body != "pong" || one.Complete {
		t.Fatalf("newest page %+v", one)
	}
	api.call("GET", "/messages/bob@localhost?limit=1&before="+one.First, nil, true).decode(t, &one)
	if len(one.Messages) != 1 || one.Messages[0].Body != "hi <bob> & co" || !one.Complete {
		t.Fatalf("older page %+v", one)
	}
	api.call("GET", "/messages?limit=5&after="+one.First, nil, true).decode(t, &one)
	if len(one.Messages) != 1 || one.Messages[0].Body != "pong" || !one.Complete {
		t.Fatalf("after page %+v", one)
	}
	var none msgPage
	api.call("GET", "/messages/"+url.PathEscape("carol@localhost"), nil, true).decode(t, &none)
	if len(none.Messages) != 0 || !none.Complete || none.First != "" {
		t.Fatalf("empty conversation %+v", none)
	}

	api.expectErrors([]apiCase{
		{"POST", "/messages", `{"to": "bob@localhost", "body": `, 400, false},
		{"POST", "/messages", `{"to": "bob@localhost", "body": "x", "extra": 1}`, 400, false},
		{"POST", "/messages", `{"to": "bob@localhost", "body": "x"} {}`, 400, true},
		{"POST", "/messages", `{"to": "bob@@localhost", "body": "x"}`, 400, true},
		{"POST", "/messages", `{"to": "", "body": "x"}`, 400, false},
		{"POST", "/messages", `{"to": "bob@localhost", "body": ""}`, 400, false},
		{"POST", "/messages", `{"to": "bob@localhost", "body": "hi\u0001\u000b"}`, 400, true},
		{"POST", "/messages", `{"to": "bob@localhost", "body": "` + strings.Repeat("x", 70000) + `"}`, 413, true},
		{"GET", "/messages?limit=0", nil, 400, false},
		{"GET", "/messages?limit=many", nil, 400, false},
		{"GET", "/messages?before=nope", nil, 400, false},
		{"GET", "/messages?with=a@b@c", nil, 400, true},
		{"GET", "/messages?before=" + p.First + "&after=" + p.Last, nil, 400, true},
		{"GET", "/messages?before=00000000000000000000000001", nil, 404, true},
	})
	// A form or text/plain body (what a page on another site can post
	// without a preflight) is refused.
	expectStatus(t, api.call("POST", "/messages", `{"to": "bob@localhost", "body": "csrf"}`, false, "Content-Type", "text/plain"), 415, "text/plain POST")
	expectStatus(t, api.call("DELETE", "/messages", nil, false), 405, "DELETE /messages")
	expectStatus(t, api.call("PUT", "/messages/bob@localhost", nil, false), 405, "PUT /messages/{with}")

	// Nothing else was disturbed: bob's stream still works.
	expectStatus(t, api.call("POST", "/messages", map[string]string{"to": "bob@localhost", "body": "still"}, true), 202, "send 2")
	m = expectWhere(t, bob, "the second message", func(el *xmltok.Element) bool { return el.Local == "message" })
	if m.Child("jabber:client", "body").Text != "still" {
		t.Fatalf("bob got %s", m)
	}
}

func TestClientAPIMessagesOffline(t *testing.T) {
	srv, api := startAliceAndBob(t)
	expectStatus(t, api.call("POST", "/messages", map[string]string{"to": "bob@localhost", "body": "later"}, true), 202, "send")
	bob := xmpptest.Login(t, srv.C2S, "localhost", "bob", "pw", "pc")
	bob.Send("<presence/>")
	m := expectWhere(t, bob, "the offline message", func(el *xmltok.Element) bool { return el.Local == "message" })
	if !xmpptest.HasText(m, "later") {
		t.Fatalf("bob got %s", m)
	}
}

func TestClientAPIWithoutArchiveOrRoster(t *testing.T) {
	srv := xmpptest.Start(t, testConfig(t, `
[modules.mam]
enabled = false
[modules.roster]
enabled = false
`))
	srv.AddUser(t, "alice", "pw")
	api := newAPIClient(t, srv).as("alice@localhost", "pw")
	for _, p := range []string{"/messages", "/messages/bob@localhost", "/contacts"} {
		r := api.call("GET", p, nil, true)
		if r.Status != 501 || r.errorText() == "" {
			t.Errorf("GET %s: %d %s", p, r.Status, r.Body)
		}
	}
	expectStatus(t, api.call("POST", "/messages", map[string]string{"to": "alice@localhost", "body": "x"}, true), 202, "send without archive")
}

type contactJSON struct {
	JID, Name, Subscription string
	Ask                     bool
	Groups                  []string
}

func contactsOf(t *testing.T, api *apiClient) map[string]contactJSON {
	t.Helper()
	r := api.call("GET", "/contacts", nil, true)
	expectStatus(t, r, 200, "contacts")
	var out struct{ Contacts []contactJSON }
	r.decode(t, &out)
	m := map[string]contactJSON{}
	for _, c := range out.Contacts {
		m[c.JID] = c
	}
	return m
}

func isPush(jid, sub string) func(*xmltok.Element) bool {
	return func(el *xmltok.Element) bool {
		if el.Local != "iq" || el.Attr("type") != "set" {
			return false
		}
		q := el.Child("jabber:iq:roster", "query")
		if q == nil {
			return false
		}
		it := q.Child("jabber:iq:roster", "item")
		return it != nil && it.Attr("jid") == jid && (sub == "" || it.Attr("subscription") == sub)
	}
}

func isPresence(from, typ string) func(*xmltok.Element) bool {
	return func(el *xmltok.Element) bool {
		return el.Local == "presence" && el.Attr("type") == typ && strings.HasPrefix(el.Attr("from"), from)
	}
}

func TestClientAPIContacts(t *testing.T) {
	srv, api := startAliceAndBob(t)
	alice := apiOnline(t, srv, "alice", "desk")
	bob := apiOnline(t, srv, "bob", "phone")

	r := api.call("POST", "/contacts", map[string]any{"jid": "bob@localhost", "name": "Bob", "groups": []string{"Friends"}}, true)
	expectStatus(t, r, 201, "add")
	var c contactJSON
	r.decode(t, &c)
	if c.JID != "bob@localhost" || c.Name != "Bob" || c.Subscription != "none" || c.Ask || len(c.Groups) != 1 {
		t.Fatalf("added %+v", c)
	}
	push := expectWhere(t, alice, "the roster push", isPush("bob@localhost", "none"))
	if !xmpptest.HasText(push, "Friends") || push.Attr("to") != "alice@localhost/desk" {
		t.Fatalf("push %s", push)
	}
	expectStatus(t, api.call("POST", "/contacts", map[string]any{"jid": "bob@localhost"}, true), 409, "add twice")

	r = api.call("PUT", "/contacts/bob@localhost", map[string]any{"name": "Robert"}, true)
	expectStatus(t, r, 200, "rename")
	r.decode(t, &c)
	if c.Name != "Robert" || len(c.Groups) != 1 {
		t.Fatalf("renamed %+v", c)
	}
	expectWhere(t, alice, "the rename push", func(el *xmltok.Element) bool {
		return isPush("bob@localhost", "")(el) && xmpptest.HasText(el, "Robert")
	})
	if got := contactsOf(t, api)["bob@localhost"]; got.Name != "Robert" || got.Groups[0] != "Friends" {
		t.Fatalf("GET /contacts %+v", got)
	}

	// alice invites bob, bob accepts over XMPP.
	r = api.call("PUT", "/contacts/bob@localhost", map[string]any{"action": "invite"}, true)
	expectStatus(t, r, 200, "invite")
	r.decode(t, &c)
	if !c.Ask || c.Subscription != "none" {
		t.Fatalf("after invite %+v", c)
	}
	expectWhere(t, bob, "the subscription request", isPresence("alice@localhost", "subscribe"))
	bob.Send("<presence to='alice@localhost' type='subscribed'/>")
	expectWhere(t, alice, "the push for subscription to", isPush("bob@localhost", "to"))
	if got := contactsOf(t, api)["bob@localhost"]; got.Subscription != "to" || got.Ask {
		t.Fatalf("after bob accepted %+v", got)
	}

	// bob asks back over XMPP, alice accepts over REST.
	bob.Send("<presence to='alice@localhost' type='subscribe'/>")
	expectWhere(t, alice, "bob's request", isPresence("bob@localhost", "subscribe"))
	r = api.call("PUT", "/contacts/bob@localhost", map[string]any{"action": "accept"}, true)
	expectStatus(t, r, 200, "accept")
	r.decode(t, &c)
	if c.Subscription != "both" {
		t.Fatalf("after accept %+v", c)
	}
	// bob's roster changes first, then his resources get the approval.
	expectWhere(t, bob, "bob's push", isPush("alice@localhost", "both"))
	expectWhere(t, bob, "the approval", isPresence("alice@localhost", "subscribed"))

	// Removing cancels both ways (RFC 6121 §2.5.2).
	expectStatus(t, api.call("DELETE", "/contacts/bob@localhost", nil, true), 204, "remove")
	expectWhere(t, alice, "the remove push", isPush("bob@localhost", "remove"))
	expectWhere(t, bob, "unsubscribe", isPresence("alice@localhost", "unsubscribe"))
	expectWhere(t, bob, "unsubscribed", isPresence("alice@localhost", "unsubscribed"))
	if got := contactsOf(t, api); len(got) != 0 {
		t.Fatalf("after removal %+v", got)
	}

	api.expectErrors([]apiCase{
		{"DELETE", "/contacts/bob@localhost", nil, 404, true},
		{"PUT", "/contacts/bob@localhost", map[string]any{"name": "x"}, 404, true},
		{"PUT", "/contacts/bob@localhost", map[string]any{}, 400, true},
		{"PUT", "/contacts/bob@localhost", map[string]any{"action": "befriend"}, 400, false},
		{"PUT", "/contacts/bob@localhost", map[string]any{"action": "invite", "name": "x"}, 400, true},
		{"PUT", "/contacts/bob@localhost", `{"name": 5}`, 400, false},
		{"PUT", "/contacts/" + url.PathEscape("bob@localhost/phone"), map[string]any{"name": "x"}, 400, true},
		{"DELETE", "/contacts/a@b@c", nil, 400, true},
		{"POST", "/contacts", map[string]any{"jid": "alice@localhost"}, 400, true},
		{"POST", "/contacts", map[string]any{"name": "no jid"}, 400, false},
		{"POST", "/contacts", map[string]any{"jid": "carol@localhost", "groups": []string{"a", "a"}}, 400, true},
		{"POST", "/contacts", map[string]any{"jid": "carol@localhost", "name": "bad\u0002"}, 400, true},
		{"POST", "/contacts", map[string]any{"jid": "carol@localhost", "groups": []string{""}}, 400, true},
		{"POST", "/contacts", map[string]any{"jid": "carol@localhost", "nick": "c"}, 400, false},
		{"POST", "/contacts", "[]", 400, false},
	})
	expectStatus(t, api.call("PATCH", "/contacts/bob@localhost", nil, false), 405, "PATCH")
	if got := contactsOf(t, api); len(got) != 0 {
		t.Fatalf("bad requests changed the roster: %+v", got)
	}
}

func TestClientAPICORS(t *testing.T) {
	cfg := xmpptest.Config(t)
	cfg.Web.AllowedOrigins = []string{"https://app.example.com"}
	srv := xmpptest.Start(t, cfg)
	srv.AddUser(t, "alice", "pw")
	api := newAPIClient(t, srv)

	r := api.call("OPTIONS", "/contacts", nil, false, "Origin", "https://app.example.com",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type")
	expectStatus(t, r, 204, "preflight")
	if r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight headers %v", r.Header)
	}
	r = api.as("alice@localhost", "pw").call("GET", "/contacts", nil, true, "Origin", "https://app.example.com")
	expectStatus(t, r, 200, "cross-origin GET")
	if r.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("CORS headers %v", r.Header)
	}
	r = api.as("alice@localhost", "pw").call("GET", "/contacts", nil, true, "Origin", "https://evil.example.com")
	if r.Status != 403 || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin: %d %v", r.Status, r.Header)
	}
	expectStatus(t, api.call("OPTIONS", "/contacts", nil, false, "Origin", "https://evil.example.com"), 403, "foreign preflight")
}
