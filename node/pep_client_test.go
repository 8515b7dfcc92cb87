package node_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// The test client of the PEP tests: it advertises entity capabilities
// (XEP-0115) with +notify features, answers the server's disco#info
// queries about them, and keeps the stanzas it has not been asked about
// yet in a queue, since notifications and IQ results interleave.

const (
	nsPubSub    = "http://jabber.org/protocol/pubsub"
	nsEvent     = "http://jabber.org/protocol/pubsub#event"
	nsPSErrors  = "http://jabber.org/protocol/pubsub#errors"
	nsDiscoInfo = "http://jabber.org/protocol/disco#info"
	capsNode    = "https://meridian.example/test"

	nodeAvatar    = "urn:xmpp:avatar:metadata"
	nodeDevices   = "urn:xmpp:omemo:2:devices"
	nodeBookmarks = "urn:xmpp:bookmarks:1"
	nodeFeed      = "urn:example:feed"
)

// notifyFeatures is what the test clients ask notifications for.
var notifyFeatures = []string{nodeAvatar + "+notify", nodeDevices + "+notify", nodeBookmarks + "+notify", nodeFeed + "+notify"}

type pepClient struct {
	*xmpptest.Conn
	t          *testing.T
	name       string
	features   []string
	ver        string // what the presence claims
	queue      []*xmltok.Element
	seq        int
	discoAsked int
}

// pepLogin logs user in; the client has not sent presence yet.
func pepLogin(t *testing.T, s *xmpptest.Server, user, res string) *pepClient {
	t.Helper()
	c := &pepClient{Conn: xmpptest.Login(t, s.C2S, "localhost", user, "pw", res), t: t, name: user + "/" + res}
	c.setFeatures(append([]string{"http://jabber.org/protocol/caps", nsDiscoInfo}, notifyFeatures...)...)
	return c
}

// setFeatures sets what the client supports and the caps ver that
// follows from it (XEP-0115 §5.1, one identity, no forms).
func (c *pepClient) setFeatures(f ...string) {
	c.features = slices.Sorted(slices.Values(f))
	s := "client/pc//pep-test<"
	for _, v := range c.features {
		s += v + "<"
	}
	h := sha1.Sum([]byte(s))
	c.ver = base64.StdEncoding.EncodeToString(h[:])
}

// available sends available presence with caps, plus extra children.
func (c *pepClient) available(extra string) {
	c.Send("<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='" + capsNode + "' ver='" + c.ver + "'/>" + extra + "</presence>")
}

// read reads one stanza, answering disco#info queries about its caps.
func (c *pepClient) read() *xmltok.Element {
	c.t.Helper()
	for {
		if el := c.next(); el != nil {
			return el
		}
	}
}

// next reads one stanza; it answers a disco#info query about its caps
// and returns nil instead.
func (c *pepClient) next() *xmltok.Element {
	c.t.Helper()
	el := c.Next()
	if el.Local != "iq" || el.Attr("type") != "get" {
		return el
	}
	q := el.Child(nsDiscoInfo, "query")
	if q == nil || !strings.HasPrefix(q.Attr("node"), capsNode+"#") {
		return el
	}
	c.discoAsked++
	var b strings.Builder
	fmt.Fprintf(&b, "<iq type='result' to='%s' id='%s'><query xmlns='%s' node='%s'><identity category='client' type='pc' name='pep-test'/>",
		el.Attr("from"), el.Attr("id"), nsDiscoInfo, q.Attr("node"))
	for _, f := range c.features {
		fmt.Fprintf(&b, "<feature var='%s'/>", f)
	}
	c.Send(b.String() + "</query></iq>")
	return nil
}

// asked waits until the server has asked about the caps n times.
func (c *pepClient) asked(n int) {
	c.t.Helper()
	for i := 0; c.discoAsked < n; i++ {
		if i == 50 {
			c.t.Fatalf("%s: asked about caps %d times, want %d", c.name, c.discoAsked, n)
		}
		if el := c.next(); el != nil {
			c.queue = append(c.queue, el)
		}
	}
}

// await returns the first stanza, queued or new, that pred accepts.
func (c *pepClient) await(what string, pred func(*xmltok.Element) bool) *xmltok.Element {
	c.t.Helper()
	for i, el := range c.queue {
		if pred(el) {
			c.queue = slices.Delete(c.queue, i, i+1)
			return el
		}
	}
	for range 50 {
		el := c.read()
		if pred(el) {
			return el
		}
		c.queue = append(c.queue, el)
	}
	c.t.Fatalf("%s: no %s", c.name, what)
	return nil
}

// iq sends an IQ to to ("" for none) and returns the response.
func (c *pepClient) iq(typ, to, payload string) *xmltok.Element {
	c.t.Helper()
	c.seq++
	id := fmt.Sprintf("q%d", c.seq)
	attrs := ""
	if to != "" {
		attrs = " to='" + to + "'"
	}
	c.Send("<iq type='" + typ + "' id='" + id + "'" + attrs + ">" + payload + "</iq>")
	return c.await("response to "+id, func(el *xmltok.Element) bool {
		return el.Local == "iq" && el.Attr("id") == id && (el.Attr("type") == "result" || el.Attr("type") == "error")
	})
}

// ok sends an IQ and fails unless it succeeds.
func (c *pepClient) ok(typ, to, payload string) *xmltok.Element {
	c.t.Helper()
	r := c.iq(typ, to, payload)
	if r.Attr("type") != "result" {
		c.t.Fatalf("%s: %s failed: %s", c.name, payload, r)
	}
	return r
}

// event waits for a notification from from about node and returns the
// child of <event/> (items, delete, purge, configuration) and the message.
func (c *pepClient) event(from, node string) (*xmltok.Element, *xmltok.Element) {
	c.t.Helper()
	msg := c.await("event about "+node, func(el *xmltok.Element) bool { return eventChild(el, from, node) != nil })
	return eventChild(msg, from, node), msg
}

func eventChild(el *xmltok.Element, from, node string) *xmltok.Element {
	if el.Local != "message" || el.Attr("from") != from {
		return nil
	}
	ev := el.Child(nsEvent, "event")
	if ev == nil {
		return nil
	}
	for _, ch := range ev.Children {
		if ch.Attr("node") == node {
			return ch
		}
	}
	return nil
}

// quiet checks that no event about node from from came: a ping to the
// server is the barrier (whatever was routed to this session before is
// queued ahead of its result).
func (c *pepClient) quiet(from, node string) {
	c.t.Helper()
	c.ok("get", "localhost", "<ping xmlns='urn:xmpp:ping'/>")
	for _, el := range c.queue {
		if eventChild(el, from, node) != nil {
			c.t.Fatalf("%s: unexpected event %s", c.name, el)
		}
	}
}

// publish publishes payload as item id with publish-options fields.
func (c *pepClient) publish(node, id, payload string, options ...string) *xmltok.Element {
	c.t.Helper()
	return c.iq("set", "", publishXML(node, id, payload, options...))
}

func publishXML(node, id, payload string, options ...string) string {
	item := "<item>"
	if id != "" {
		item = "<item id='" + id + "'>"
	}
	return "<pubsub xmlns='" + nsPubSub + "'><publish node='" + node + "'>" + item + payload + "</item></publish>" + optionsXML(options...) + "</pubsub>"
}

// optionsXML is a publish-options form of var, value pairs.
func optionsXML(options ...string) string {
	if len(options) == 0 {
		return ""
	}
	x := "<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"
	for i := 0; i+1 < len(options); i += 2 {
		x += "<field var='" + options[i] + "'><value>" + options[i+1] + "</value></field>"
	}
	return x + "</x></publish-options>"
}

// items fetches the items of node at to and returns their IDs, or the
// error response.
func (c *pepClient) items(to, node string) ([]string, *xmltok.Element) {
	c.t.Helper()
	r := c.iq("get", to, "<pubsub xmlns='"+nsPubSub+"'><items node='"+node+"'/></pubsub>")
	if r.Attr("type") != "result" {
		return nil, r
	}
	var ids []string
	for _, it := range r.Child(nsPubSub, "pubsub").Child(nsPubSub, "items").ChildrenNamed(nsPubSub, "item") {
		ids = append(ids, it.Attr("id"))
	}
	return ids, r
}

// pubsubCondition is the pubsub#errors condition of an error response.
func pubsubCondition(el *xmltok.Element) string {
	if e := el.Child("", "error"); e != nil {
		for _, ch := range e.Children {
			if ch.Space == nsPSErrors {
				return ch.Local
			}
		}
	}
	return ""
}

// subscribe makes a and b (user names) subscribed to each other's
// presence, as the roster module stores it.
func subscribe(t *testing.T, s *xmpptest.Server, a, b, sub string) {
	t.Helper()
	st := s.Core().Store("roster").(roster.Store)
	aj, bj := mustJID(t, a+"@localhost"), mustJID(t, b+"@localhost")
	back := map[string]string{roster.SubBoth: roster.SubBoth, roster.SubFrom: roster.SubTo, roster.SubTo: roster.SubFrom}[sub]
	if _, err := st.PutItem(context.Background(), aj, roster.Item{JID: bj, Subscription: sub, Groups: []string{"Friends"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutItem(context.Background(), bj, roster.Item{JID: aj, Subscription: back}); err != nil {
		t.Fatal(err)
	}
}
