package quic

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/internal/poll"
	"github.com/meridian-xmpp/meridian/link"
	"github.com/meridian-xmpp/meridian/link/ca"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/sasl"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// pki is a cluster CA with node identities in a temporary directory.
type pki struct {
	t   *testing.T
	dir string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	if err := ca.Init(dir); err != nil {
		t.Fatal(err)
	}
	return &pki{t: t, dir: dir}
}

func (p *pki) node(name string, o ca.IssueOptions, log *slog.Logger) *ca.Node {
	p.t.Helper()
	return p.nodeTrusting(p, name, o, log)
}

// nodeTrusting issues a certificate from p for a node that trusts the CA
// of trust (a node with a certificate from the wrong CA).
func (p *pki) nodeTrusting(trust *pki, name string, o ca.IssueOptions, log *slog.Logger) *ca.Node {
	p.t.Helper()
	o.Name = name
	o.Hosts = append(o.Hosts, "127.0.0.1")
	cf, kf, err := ca.Issue(p.dir, o)
	if err != nil {
		p.t.Fatal(err)
	}
	n, err := ca.LoadNode(filepath.Join(trust.dir, ca.CertFile), cf, kf, log)
	if err != nil {
		p.t.Fatal(err)
	}
	return n
}

// fakeCore is a small link.Core: one account (alice, password secret),
// sessions by full JID, a stanza to a bound full JID is delivered to it.
type fakeCore struct {
	name string
	mu   sync.Mutex
	sess map[jid.JID]*fakeSession
	log  []*fakeSession // every session ever opened
	// refused counts deliveries a sink refused.
	refused atomic.Int64
	// answerIQs: an IQ get or set to the session's account or server
	// (or without a to) is answered with an empty result.
	answerIQs bool
}

func newFakeCore(name string) *fakeCore {
	return &fakeCore{name: name, sess: map[jid.JID]*fakeSession{}}
}

type fakeSession struct {
	c    *fakeCore
	full jid.JID
	sink link.Sink

	mu          sync.Mutex
	handled     []*stanza.Stanza
	undelivered []*stanza.Stanza
	closed      int
}

func (c *fakeCore) Credentials(_ context.Context, domain, user, hash string) (sasl.Credentials, error) {
	if user != "alice" {
		return sasl.Credentials{}, sasl.ErrUnknownUser
	}
	return sasl.Credentials{Salt: []byte("salt-" + domain), Iterations: 4096, StoredKey: []byte("stored-" + hash), ServerKey: []byte("server")}, nil
}

func (c *fakeCore) VerifyPassword(_ context.Context, _, user, pass string) (bool, error) {
	if user == "broken" {
		return false, fmt.Errorf("store unavailable")
	}
	return user == "alice" && pass == "secret", nil
}

func (c *fakeCore) PreAuth(_ context.Context, pc link.PreAuthClient, iq *stanza.Stanza) *stanza.Stanza {
	el := xmltok.NewElement("jabber:iq:register", "query")
	el.Add(xmltok.NewElement("jabber:iq:register", "instructions").SetText(pc.Domain + " " + pc.RemoteAddr + fmt.Sprint(pc.Secure)))
	return stanza.Result(iq, el, jid.MustParse(pc.Domain))
}

func (c *fakeCore) StreamFeatures(domain string, preAuth bool) []*xmltok.Element {
	if preAuth {
		return []*xmltok.Element{xmltok.NewElement("http://jabber.org/features/iq-register", "register")}
	}
	return []*xmltok.Element{xmltok.NewElement("urn:xmpp:sm:3", "sm"), xmltok.NewElement("urn:xmpp:csi:0", "csi")}
}

func (c *fakeCore) Open(_ context.Context, req link.OpenRequest, sink link.Sink) (link.Session, error) {
	if req.User.Local() == "nobody" {
		return nil, stanza.ErrNotAllowed.WithText("no such user here")
	}
	res := req.Resource
	if res == "" {
		res = "gen"
	}
	full, err := req.User.WithResource(res)
	if err != nil {
		return nil, stanza.ErrBadRequest
	}
	s := &fakeSession{c: c, full: full, sink: sink}
	c.mu.Lock()
	c.sess[full] = s
	c.log = append(c.log, s)
	c.mu.Unlock()
	return s, nil
}

func (c *fakeCore) session(full jid.JID) *fakeSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess[full]
}

func (s *fakeSession) JID() jid.JID { return s.full }

func (s *fakeSession) Handle(st *stanza.Stanza) {
	s.mu.Lock()
	s.handled = append(s.handled, st)
	s.mu.Unlock()
	if s.c.answerIQs && st.Kind == stanza.IQ && (st.Type == "get" || st.Type == "set") &&
		(st.To.IsZero() || st.To == s.full.Bare() || st.To == s.full.DomainJID()) {
		el := xmltok.NewElement(stanza.NSClient, "iq", xmltok.Attr{Name: "type", Value: "result"})
		el.SetAttr("id", st.ID)
		el.SetAttr("to", s.full.String())
		s.sink.Deliver(stanza.FromElement(el))
		return
	}
	if t := s.c.session(st.To); t != nil && !t.sink.Deliver(st) {
		s.c.refused.Add(1)
	}
}

func (s *fakeSession) Close(undelivered []*stanza.Stanza) {
	s.mu.Lock()
	s.undelivered = append(s.undelivered, undelivered...)
	s.closed++
	s.mu.Unlock()
	s.c.mu.Lock()
	if s.c.sess[s.full] == s {
		delete(s.c.sess, s.full)
	}
	s.c.mu.Unlock()
}

func (s *fakeSession) snapshot() (handled, undelivered []*stanza.Stanza, closed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*stanza.Stanza(nil), s.handled...), append([]*stanza.Stanza(nil), s.undelivered...), s.closed
}

// sink records what the link delivers to an edge session.
type sink struct {
	mu     sync.Mutex
	got    []*stanza.Stanza
	closed []*stanza.StreamError
	refuse bool
	ch     chan *stanza.Stanza
	gate   func() // called in Deliver before anything else (may block)
}

func newSink() *sink { return &sink{ch: make(chan *stanza.Stanza, 1<<16)} }

func (k *sink) Deliver(st *stanza.Stanza) bool {
	if k.gate != nil {
		k.gate()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.refuse {
		return false
	}
	k.got = append(k.got, st)
	select {
	case k.ch <- st:
	default:
	}
	return true
}

func (k *sink) Close(e *stanza.StreamError) {
	k.mu.Lock()
	k.closed = append(k.closed, e)
	k.mu.Unlock()
}

func (k *sink) closes() []*stanza.StreamError {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]*stanza.StreamError(nil), k.closed...)
}

// coreServer runs a Server for core on 127.0.0.1:0.
type coreServer struct {
	srv  *Server
	pc   net.PacketConn
	addr string
	done chan error
}

func startServer(t *testing.T, core link.Core, node *ca.Node, name string, tweak func(*ServerOptions)) *coreServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := ServerOptions{Core: core, TLS: node.ServerConfig(), Name: name}
	if tweak != nil {
		tweak(&o)
	}
	cs := &coreServer{srv: NewServer(o), pc: pc, addr: pc.LocalAddr().String(), done: make(chan error, 1)}
	go func() { cs.done <- cs.srv.Serve(pc) }()
	t.Cleanup(func() {
		cs.srv.Close()
		pc.Close()
	})
	return cs
}

func startClient(t *testing.T, node *ca.Node, addrs []string, tweak func(*ClientOptions)) *Client {
	t.Helper()
	o := ClientOptions{Addrs: func() []string { return addrs }, TLS: node.ClientConfig(), Name: "edge1"}
	if tweak != nil {
		tweak(&o)
	}
	c := NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond with a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, 20*time.Second, what, cond)
}

func message(from, to jid.JID, id string) *stanza.Stanza {
	b := []byte("<message type='chat' id='" + id + "' from='" + from.String() + "' to='" + to.String() + "'><body>" + id + "</body></message>")
	return &stanza.Stanza{Kind: stanza.Message, Type: "chat", ID: id, From: from, To: to, Bytes: b}
}

func netListen() (net.PacketConn, error) { return net.ListenPacket("udp", "127.0.0.1:0") }
