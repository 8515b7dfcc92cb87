package node_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/pep"
	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

const alice = "alice@localhost"

func pepServer(t *testing.T, extra string, users ...string) *xmpptest.Server {
	t.Helper()
	s := xmpptest.Start(t, testConfig(t, extra))
	for _, u := range users {
		s.AddUser(t, u, "pw")
	}
	return s
}

// itemOf returns the one <item/> of an <items/> event and checks its ID.
func itemOf(t *testing.T, items *xmltok.Element, id string) *xmltok.Element {
	t.Helper()
	it := items.ChildrenNamed(nsEvent, "item")
	if len(it) != 1 || it[0].Attr("id") != id {
		t.Fatalf("event items %s, want item %s", items, id)
	}
	return it[0]
}

func retracted(t *testing.T, items *xmltok.Element, ids ...string) {
	t.Helper()
	var got []string
	for _, r := range items.ChildrenNamed(nsEvent, "retract") {
		got = append(got, r.Attr("id"))
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("event %s, want retractions %v", items, ids)
	}
}

func wantIDs(t *testing.T, what string, got []string, r *xmltok.Element, want ...string) {
	t.Helper()
	if r.Attr("type") != "result" || !slices.Equal(got, want) {
		t.Fatalf("%s: items %v (%s), want %v", what, got, r, want)
	}
}

func wantError(t *testing.T, what string, r *xmltok.Element, cond, pubsubCond string) {
	t.Helper()
	if r.Attr("type") != "error" || xmpptest.Condition(r) != cond || pubsubCondition(r) != pubsubCond {
		t.Fatalf("%s: %s, want %s/%s", what, r, cond, pubsubCond)
	}
}

const (
	avatarMeta = "<metadata xmlns='urn:xmpp:avatar:metadata'><info id='%s' bytes='1' type='image/png'/></metadata>"
	devices    = "<devices xmlns='urn:xmpp:omemo:2'><device id='12345'/></devices>"
)

func meta(id string) string { return strings.Replace(avatarMeta, "%s", id, 1) }

// bookmarkOptions are the publish-options of XEP-0402 §3.3.
var bookmarkOptions = []string{"pubsub#persist_items", "true", "pubsub#max_items", "max",
	"pubsub#send_last_published_item", "never", "pubsub#access_model", "whitelist"}

// TestPEPNotifications walks XEP-0163: the last item on presence, publish
// notifications to the owner's resources and to subscribed contacts whose
// caps ask for them, open nodes for strangers (OMEMO), whitelist nodes
// for the owner only (bookmarks), retraction notifications.
func TestPEPNotifications(t *testing.T) {
	s := pepServer(t, "", "alice", "bob", "carol", "dave")
	subscribe(t, s, "alice", "bob", roster.SubBoth)

	a1 := pepLogin(t, s, "alice", "a1")
	// Published before anyone listens; default access model: presence.
	r := a1.publish(nodeAvatar, "m1", meta("m1"))
	if p := r.Child(nsPubSub, "pubsub").Child(nsPubSub, "publish"); p.Attr("node") != nodeAvatar || p.Child(nsPubSub, "item").Attr("id") != "m1" {
		t.Fatalf("publish result %s", r)
	}

	// Bob comes online: the server asks his client what its caps mean
	// and sends him the last item, stamped with its publication time.
	b := pepLogin(t, s, "bob", "b")
	b.available("")
	items, msg := b.event(alice, nodeAvatar)
	if it := itemOf(t, items, "m1"); it.Child("urn:xmpp:avatar:metadata", "metadata") == nil {
		t.Fatalf("no payload in %s", msg)
	}
	if msg.Attr("type") != "headline" || msg.Attr("to") != "bob@localhost/b" || msg.Child("urn:xmpp:delay", "delay") == nil {
		t.Fatalf("last item notification %s", msg)
	}
	if b.discoAsked != 1 {
		t.Fatalf("bob was asked about his caps %d times", b.discoAsked)
	}
	a1.publish(nodeAvatar, "m2", meta("m2"))
	items, msg = b.event(alice, nodeAvatar)
	itemOf(t, items, "m2")
	if msg.Child("urn:xmpp:delay", "delay") != nil {
		t.Fatalf("a live notification has a delay: %s", msg)
	}

	// Alice's own resource, once available with the same caps, gets the
	// last item at once: the verified caps are cached.
	a1.available("")
	items, _ = a1.event(alice, nodeAvatar)
	itemOf(t, items, "m2")

	// Carol has no subscription: her directed presence makes her known,
	// but the presence node stays closed to her...
	c := pepLogin(t, s, "carol", "c")
	c.Send("<presence to='" + alice + "'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='" + capsNode + "' ver='" + c.ver + "'/></presence>")
	c.quiet(alice, nodeAvatar)
	a1.publish(nodeAvatar, "m3", meta("m3"))
	items, _ = b.event(alice, nodeAvatar)
	itemOf(t, items, "m3")
	items, _ = a1.event(alice, nodeAvatar)
	itemOf(t, items, "m3")
	c.quiet(alice, nodeAvatar)
	if c.discoAsked != 0 {
		t.Fatalf("carol was asked about cached caps")
	}

	// ... while an open node reaches her: the OMEMO device list
	// (XEP-0384 §5.3.1, access model open by publish-options).
	r = a1.publish(nodeDevices, "current", devices, "pubsub#access_model", "open")
	if r.Attr("type") != "result" {
		t.Fatalf("publish with options: %s", r)
	}
	for _, cl := range []*pepClient{c, b, a1} {
		items, _ = cl.event(alice, nodeDevices)
		itemOf(t, items, "current")
	}

	// A stranger who never sent presence reads the open node, not the
	// presence one, and writes nothing.
	d := pepLogin(t, s, "dave", "d")
	ids, r := d.items(alice, nodeDevices)
	wantIDs(t, "stranger reads OMEMO devices", ids, r, "current")
	_, r = d.items(alice, nodeAvatar)
	wantError(t, "stranger reads avatar", r, "not-authorized", "presence-subscription-required")
	r = d.iq("set", alice, publishXML(nodeDevices, "current", "<devices xmlns='urn:xmpp:omemo:2'/>"))
	wantError(t, "stranger publishes", r, "forbidden", "")
	ids, r = b.items(alice, nodeAvatar)
	wantIDs(t, "contact reads avatar (max_items 1)", ids, r, "m3")

	// A resource with a negative priority gets no notifications
	// (XEP-0163 §4.3.2).
	a3 := pepLogin(t, s, "alice", "a3")
	a3.available("<priority>-1</priority>")
	a3.ok("get", "localhost", "<ping xmlns='urn:xmpp:ping'/>") // handled after the presence

	// Bookmarks (XEP-0402): whitelist, an item per room, only alice's
	// resources hear of them.
	a2 := pepLogin(t, s, "alice", "a2")
	a2.available("")
	for _, n := range []string{nodeAvatar, nodeDevices} {
		a2.event(alice, n)
	}
	rooms := []string{"theplay@conference.localhost", "orchard@conference.localhost"}
	for _, room := range rooms {
		r = a1.publish(nodeBookmarks, room, "<conference xmlns='urn:xmpp:bookmarks:1' name='Room' autojoin='true'><nick>JC</nick></conference>", bookmarkOptions...)
		if r.Attr("type") != "result" {
			t.Fatalf("bookmark publish: %s", r)
		}
		for _, cl := range []*pepClient{a1, a2} {
			items, _ = cl.event(alice, nodeBookmarks)
			itemOf(t, items, room)
		}
	}
	b.quiet(alice, nodeBookmarks)
	a3.quiet(alice, nodeBookmarks)
	_, r = b.items(alice, nodeBookmarks)
	wantError(t, "contact reads bookmarks", r, "not-allowed", "closed-node")
	ids, r = a2.items("", nodeBookmarks)
	wantIDs(t, "own bookmarks", ids, r, rooms...)

	// Retraction with notify (XEP-0402 §3.5).
	a1.ok("set", "", "<pubsub xmlns='"+nsPubSub+"'><retract node='"+nodeBookmarks+"' notify='true'><item id='"+rooms[0]+"'/></retract></pubsub>")
	for _, cl := range []*pepClient{a1, a2} {
		items, _ = cl.event(alice, nodeBookmarks)
		retracted(t, items, rooms[0])
	}
	b.quiet(alice, nodeBookmarks)
	ids, r = a2.items(alice, nodeBookmarks)
	wantIDs(t, "bookmarks after retract", ids, r, rooms[1])
	// Without notify, and notify_retract off by default: silence.
	a1.ok("set", "", "<pubsub xmlns='"+nsPubSub+"'><retract node='"+nodeBookmarks+"'><item id='"+rooms[1]+"'/></retract></pubsub>")
	a2.quiet(alice, nodeBookmarks)

	// Bob goes away: nothing more reaches him, and on return he gets the
	// last items again.
	b.Send("<presence type='unavailable'/>")
	b.ok("get", "localhost", "<ping xmlns='urn:xmpp:ping'/>") // handled after the presence
	a1.publish(nodeDevices, "current", devices, "pubsub#access_model", "open")
	b.quiet(alice, nodeDevices)
	b.available("")
	for _, n := range []string{nodeAvatar, nodeDevices} {
		b.event(alice, n)
	}
}

// TestPEPConfigure: max_items trimming with retraction notifications,
// publish-options preconditions as Conversations meets them (conflict,
// reconfigure, publish again), the configuration form, purge and delete.
func TestPEPConfigure(t *testing.T) {
	s := pepServer(t, "[modules.pep]\nmax_items_limit = 10\n", "alice")
	a := pepLogin(t, s, "alice", "a")
	// The generated item ID comes back in the result.
	r := a.publish(nodeFeed, "", "<entry xmlns='urn:example'/>", "pubsub#max_items", "2", "pubsub#notify_retract", "1")
	seed := r.Child(nsPubSub, "pubsub").Child(nsPubSub, "publish").Child(nsPubSub, "item").Attr("id")
	if seed == "" {
		t.Fatalf("no generated ID: %s", r)
	}
	a.available("")
	items, _ := a.event(alice, nodeFeed)
	itemOf(t, items, seed)

	a.publish(nodeFeed, "i1", "<entry xmlns='urn:example'>1</entry>")
	items, _ = a.event(alice, nodeFeed)
	itemOf(t, items, "i1")
	a.publish(nodeFeed, "i2", "<entry xmlns='urn:example'>2</entry>")
	// The oldest goes first, notified since notify_retract is on.
	items, _ = a.event(alice, nodeFeed)
	retracted(t, items, seed)
	items, _ = a.event(alice, nodeFeed)
	itemOf(t, items, "i2")
	ids, r := a.items("", nodeFeed)
	wantIDs(t, "trimmed to max_items", ids, r, "i1", "i2")
	r = a.iq("get", "", "<pubsub xmlns='"+nsPubSub+"'><items node='"+nodeFeed+"' max_items='1'/></pubsub>")
	if it := r.Child(nsPubSub, "pubsub").Child(nsPubSub, "items").ChildrenNamed(nsPubSub, "item"); len(it) != 1 || it[0].Attr("id") != "i2" {
		t.Fatalf("max_items='1': %s", r)
	}
	r = a.iq("get", "", "<pubsub xmlns='"+nsPubSub+"'><items node='"+nodeFeed+"'><item id='i1'/><item id='nope'/></items></pubsub>")
	if it := r.Child(nsPubSub, "pubsub").Child(nsPubSub, "items").ChildrenNamed(nsPubSub, "item"); len(it) != 1 || it[0].Attr("id") != "i1" || it[0].Child("urn:example", "entry").Text != "1" {
		t.Fatalf("items by ID: %s", r)
	}

	// A precondition that the node does not meet: nothing is published.
	r = a.publish(nodeFeed, "i3", "<entry xmlns='urn:example'/>", "pubsub#max_items", "5")
	wantError(t, "unmet precondition", r, "conflict", "precondition-not-met")
	ids, r = a.items("", nodeFeed)
	wantIDs(t, "after an unmet precondition", ids, r, "i1", "i2")

	// The owner reads the configuration form and changes it.
	r = a.ok("get", "", "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='"+nodeFeed+"'/></pubsub>")
	if !xmpptest.HasText(r, "<field var='pubsub#max_items' type='text-single' label=") || !xmpptest.HasText(r, "<value>2</value>") ||
		!xmpptest.HasText(r, "http://jabber.org/protocol/pubsub#node_config") {
		t.Fatalf("configuration form %s", r)
	}
	configure := func(fields string) *xmltok.Element {
		return a.iq("set", "", "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='"+nodeFeed+"'><x xmlns='jabber:x:data' type='submit'>"+
			"<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field>"+fields+"</x></configure></pubsub>")
	}
	if r = configure("<field var='pubsub#max_items'><value>1</value></field>"); r.Attr("type") != "result" {
		t.Fatalf("configure: %s", r)
	}
	items, _ = a.event(alice, nodeFeed)
	retracted(t, items, "i1")
	ids, r = a.items("", nodeFeed)
	wantIDs(t, "after lowering max_items", ids, r, "i2")
	r = configure("<field var='pubsub#max_items'><value>11</value></field>")
	wantError(t, "max_items above the limit", r, "not-acceptable", "")
	r = a.publish(nodeFeed, "i3", "<entry xmlns='urn:example'/>", "pubsub#max_items", "1")
	if r.Attr("type") != "result" {
		t.Fatalf("publish after reconfiguring: %s", r)
	}
	items, _ = a.event(alice, nodeFeed)
	retracted(t, items, "i2")
	a.event(alice, nodeFeed)

	// notify_config: the change is notified with the new configuration.
	if r = configure("<field var='pubsub#notify_config'><value>true</value></field>"); r.Attr("type") != "result" {
		t.Fatalf("configure: %s", r)
	}
	if ev, _ := a.event(alice, nodeFeed); ev.Local != "configuration" || !xmpptest.HasText(ev, "pubsub#notify_config") {
		t.Fatalf("configuration event %s", ev)
	}

	// Purge: one notification (notify_retract is on), the node stays.
	a.ok("set", "", "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><purge node='"+nodeFeed+"'/></pubsub>")
	if ev, _ := a.event(alice, nodeFeed); ev.Local != "purge" {
		t.Fatalf("purge event %s", ev)
	}
	ids, r = a.items("", nodeFeed)
	wantIDs(t, "after purge", ids, r)

	// Delete: notified (notify_delete is on by default), then gone.
	a.ok("set", "", "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='"+nodeFeed+"'/></pubsub>")
	if ev, _ := a.event(alice, nodeFeed); ev.Local != "delete" {
		t.Fatalf("delete event %s", ev)
	}
	_, r = a.items("", nodeFeed)
	wantError(t, "items of a deleted node", r, "item-not-found", "")

	// Create and configure at once, and the default configuration.
	a.ok("set", "", "<pubsub xmlns='"+nsPubSub+"'><create node='urn:example:private'/><configure><x xmlns='jabber:x:data' type='submit'>"+
		"<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field>"+
		"<field var='pubsub#access_model'><value>whitelist</value></field></x></configure></pubsub>")
	r = a.publish("urn:example:private", "x", "<p xmlns='urn:example'/>", "pubsub#access_model", "whitelist")
	if r.Attr("type") != "result" {
		t.Fatalf("publish to the created node: %s", r)
	}
	r = a.ok("get", "", "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><default/></pubsub>")
	if !xmpptest.HasText(r, "<field var='pubsub#access_model' type='list-single'") || !xmpptest.HasText(r, "<value>presence</value></field>") {
		t.Fatalf("default configuration %s", r)
	}
}

// TestPEPBadInput: every refused request gets its XEP-0060 error and
// leaves nothing stored.
func TestPEPBadInput(t *testing.T) {
	s := pepServer(t, "[modules.pep]\nmax_item_size = 512\nmax_items_limit = 10\nmax_nodes = 3\n", "alice", "bob")
	subscribe(t, s, "alice", "bob", roster.SubBoth)
	a := pepLogin(t, s, "alice", "a")
	b := pepLogin(t, s, "bob", "b")
	if r := a.publish(nodeAvatar, "m1", meta("m1")); r.Attr("type") != "result" {
		t.Fatal(r)
	}
	form := func(typ, formType, fields string) string {
		return "<publish-options><x xmlns='jabber:x:data' type='" + typ + "'><field var='FORM_TYPE' type='hidden'><value>" + formType + "</value></field>" + fields + "</x></publish-options>"
	}
	po := "http://jabber.org/protocol/pubsub#publish-options"
	pub := func(inner string) string { return "<pubsub xmlns='" + nsPubSub + "'>" + inner + "</pubsub>" }
	owner := func(inner string) string {
		return "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>" + inner + "</pubsub>"
	}
	item := "<item id='x'><p xmlns='urn:example'/></item>"
	tests := []struct {
		name, typ, payload string
		from               *pepClient
		cond, pubsubCond   string
	}{
		{"two items", "set", pub("<publish node='n'>" + item + "<item id='y'><p xmlns='urn:example'/></item></publish>"), a, "bad-request", "invalid-payload"},
		{"two payloads", "set", pub("<publish node='n'><item id='x'><p xmlns='urn:example'/><q xmlns='urn:example'/></item></publish>"), a, "bad-request", "invalid-payload"},
		{"payload too big", "set", pub("<publish node='n'><item><p xmlns='urn:example'>" + strings.Repeat("x", 600) + "</p></item></publish>"), a, "not-acceptable", "payload-too-big"},
		{"no node", "set", pub("<publish>" + item + "</publish>"), a, "bad-request", "nodeid-required"},
		{"no payload", "set", pub("<publish node='n'><item id='x'/></publish>"), a, "bad-request", "payload-required"},
		{"no item", "set", pub("<publish node='n'/>"), a, "bad-request", "item-required"},
		{"unknown publish option", "set", pub("<publish node='n'>" + item + "</publish>" + form("submit", po, "<field var='pubsub#frobnicate'><value>1</value></field>")), a, "bad-request", ""},
		{"invalid publish option", "set", pub("<publish node='n'>" + item + "</publish>" + form("submit", po, "<field var='pubsub#persist_items'><value>maybe</value></field>")), a, "bad-request", ""},
		{"wrong FORM_TYPE", "set", pub("<publish node='n'>" + item + "</publish>" + form("submit", "urn:other", "")), a, "bad-request", ""},
		{"form not submitted", "set", pub("<publish node='n'>" + item + "</publish>" + form("form", po, "")), a, "bad-request", ""},
		{"duplicate field", "set", pub("<publish node='n'>" + item + "</publish>" + form("submit", po, "<field var='pubsub#title'><value>a</value></field><field var='pubsub#title'><value>b</value></field>")), a, "bad-request", ""},
		{"unsupported access model", "set", pub("<publish node='n'>" + item + "</publish>" + form("submit", po, "<field var='pubsub#access_model'><value>authorize</value></field>")), a, "not-acceptable", ""},
		{"max_items above the limit", "set", pub("<publish node='n'>" + item + "</publish>" + form("submit", po, "<field var='pubsub#max_items'><value>11</value></field>")), a, "not-acceptable", ""},
		{"unmet precondition", "set", pub("<publish node='" + nodeAvatar + "'>" + item + "</publish>" + form("submit", po, "<field var='pubsub#access_model'><value>open</value></field>")), a, "conflict", "precondition-not-met"},
		{"publish as get", "get", pub("<publish node='n'>" + item + "</publish>"), a, "bad-request", ""},
		{"two actions", "set", pub("<publish node='n'>" + item + "</publish><retract node='n'><item id='x'/></retract>"), a, "bad-request", ""},
		{"retract unknown item", "set", pub("<retract node='" + nodeAvatar + "'><item id='nope'/></retract>"), a, "item-not-found", ""},
		{"retract without item", "set", pub("<retract node='" + nodeAvatar + "'/>"), a, "bad-request", "item-required"},
		{"retract unknown node", "set", pub("<retract node='nope'><item id='x'/></retract>"), a, "item-not-found", ""},
		{"items bad max_items", "get", pub("<items node='" + nodeAvatar + "' max_items='many'/>"), a, "bad-request", ""},
		{"items unknown node", "get", pub("<items node='nope'/>"), a, "item-not-found", ""},
		{"items without node", "get", pub("<items/>"), a, "bad-request", "nodeid-required"},
		{"configure unknown node", "get", owner("<configure node='nope'/>"), a, "item-not-found", ""},
		{"configure unknown field", "set", owner("<configure node='" + nodeAvatar + "'><x xmlns='jabber:x:data' type='submit'><field var='pubsub#frobnicate'><value>1</value></field></x></configure>"), a, "not-acceptable", ""},
		{"configure invalid value", "set", owner("<configure node='" + nodeAvatar + "'><x xmlns='jabber:x:data' type='submit'><field var='pubsub#access_model'><value>everyone</value></field></x></configure>"), a, "not-acceptable", ""},
		{"configure form of type result", "set", owner("<configure node='" + nodeAvatar + "'><x xmlns='jabber:x:data' type='result'/></configure>"), a, "bad-request", ""},
		{"configure without form", "set", owner("<configure node='" + nodeAvatar + "'/>"), a, "bad-request", ""},
		{"delete unknown node", "set", owner("<delete node='nope'/>"), a, "item-not-found", ""},
		{"create existing node", "set", pub("<create node='" + nodeAvatar + "'/>"), a, "conflict", ""},
		{"instant node", "set", pub("<create/>"), a, "not-acceptable", "nodeid-required"},
		{"subscribe", "set", pub("<subscribe node='" + nodeAvatar + "' jid='alice@localhost'/>"), a, "feature-not-implemented", "unsupported"},
		{"contact publishes", "set", pub("<publish node='" + nodeAvatar + "'>" + item + "</publish>"), b, "forbidden", ""},
		{"contact retracts", "set", pub("<retract node='" + nodeAvatar + "'><item id='m1'/></retract>"), b, "forbidden", ""},
		{"contact creates", "set", pub("<create node='n'/>"), b, "forbidden", ""},
		{"contact reads configuration", "get", owner("<configure node='" + nodeAvatar + "'/>"), b, "forbidden", ""},
		{"contact purges", "set", owner("<purge node='" + nodeAvatar + "'/>"), b, "forbidden", ""},
		{"contact deletes", "set", owner("<delete node='" + nodeAvatar + "'/>"), b, "forbidden", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := ""
			if tt.from == b {
				to = alice
			}
			r := tt.from.iq(tt.typ, to, tt.payload)
			wantError(t, tt.name, r, tt.cond, tt.pubsubCond)
		})
	}
	// Nothing was stored: one node with its one item.
	nodes := a.ok("get", "", "<query xmlns='http://jabber.org/protocol/disco#items'/>")
	if got := nodes.Child("", "query").ChildrenNamed("", "item"); len(got) != 1 || got[0].Attr("node") != nodeAvatar {
		t.Fatalf("nodes after bad input: %s", nodes)
	}
	ids, r := a.items("", nodeAvatar)
	wantIDs(t, "items after bad input", ids, r, "m1")
	r = a.ok("get", "", "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='"+nodeAvatar+"'/></pubsub>")
	if !xmpptest.HasText(r, "<value>presence</value></field>") {
		t.Fatalf("configuration changed: %s", r)
	}

	// max_nodes: the fourth node is refused, auto-created or not.
	for _, n := range []string{"n1", "n2"} {
		if r := a.publish(n, "x", "<p xmlns='urn:example'/>"); r.Attr("type") != "result" {
			t.Fatal(r)
		}
	}
	wantError(t, "fourth node", a.publish("n3", "x", "<p xmlns='urn:example'/>"), "policy-violation", "")
	wantError(t, "fourth node created", a.iq("set", "", pub("<create node='n3'/>")), "policy-violation", "")
	_, r = a.items("", "n3")
	wantError(t, "refused node", r, "item-not-found", "")
}

// TestPEPDisco: the account answers disco#info as a pubsub/pep service
// and lists to each requester the nodes it may see (XEP-0163 §6).
func TestPEPDisco(t *testing.T) {
	s := pepServer(t, "", "alice", "bob", "dave")
	subscribe(t, s, "alice", "bob", roster.SubBoth)
	a := pepLogin(t, s, "alice", "a")
	a.publish(nodeAvatar, "m1", meta("m1"))
	a.publish(nodeDevices, "current", devices, "pubsub#access_model", "open")
	a.publish(nodeBookmarks, "r@conference.localhost", "<conference xmlns='urn:xmpp:bookmarks:1'/>", bookmarkOptions...)

	info := a.ok("get", "", "<query xmlns='"+nsDiscoInfo+"'/>")
	for _, want := range []string{"<identity category='account' type='registered'/>", "<identity category='pubsub' type='pep'/>",
		"http://jabber.org/protocol/pubsub#publish-options", "http://jabber.org/protocol/pubsub#auto-create",
		"http://jabber.org/protocol/pubsub#access-whitelist", "http://jabber.org/protocol/pubsub#filtered-notifications",
		"http://jabber.org/protocol/pubsub#last-published", "http://jabber.org/protocol/pubsub#config-node-max"} {
		if !xmpptest.HasText(info, want) {
			t.Errorf("account disco#info lacks %s: %s", want, info)
		}
	}
	// XEP-0223 §5 looks at the server.
	server := a.ok("get", "localhost", "<query xmlns='"+nsDiscoInfo+"'/>")
	if !xmpptest.HasText(server, "<identity category='pubsub' type='pep'/>") || !xmpptest.HasText(server, "pubsub#publish-options") {
		t.Errorf("server disco#info: %s", server)
	}

	b := pepLogin(t, s, "bob", "b")
	d := pepLogin(t, s, "dave", "d")
	for _, tt := range []struct {
		c    *pepClient
		want []string
	}{
		{a, []string{nodeAvatar, nodeBookmarks, nodeDevices}},
		{b, []string{nodeAvatar, nodeDevices}},
		{d, []string{nodeDevices}},
	} {
		r := tt.c.ok("get", alice, "<query xmlns='http://jabber.org/protocol/disco#items'/>")
		var got []string
		for _, it := range r.Child("", "query").ChildrenNamed("", "item") {
			if it.Attr("jid") != alice {
				t.Fatalf("item %s", it)
			}
			got = append(got, it.Attr("node"))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s sees nodes %v, want %v", tt.c.name, got, tt.want)
		}
	}
	r := d.ok("get", alice, "<query xmlns='"+nsDiscoInfo+"' node='"+nodeDevices+"'/>")
	if !xmpptest.HasText(r, "<identity category='pubsub' type='leaf'/>") || !xmpptest.HasText(r, "<value>open</value>") {
		t.Errorf("node disco#info: %s", r)
	}
	wantError(t, "hidden node info", d.iq("get", alice, "<query xmlns='"+nsDiscoInfo+"' node='"+nodeBookmarks+"'/>"), "item-not-found", "")
	r = b.ok("get", alice, "<query xmlns='http://jabber.org/protocol/disco#items' node='"+nodeAvatar+"'/>")
	if it := r.Child("", "query").ChildrenNamed("", "item"); len(it) != 1 || it[0].Attr("name") != "m1" {
		t.Errorf("node disco#items: %s", r)
	}
}

// TestPEPCaps: verified caps are asked once per ver and cached; caps
// that do not verify serve only the resource that answered, and the next
// one with the same ver is asked again (XEP-0115 §5.4).
func TestPEPCaps(t *testing.T) {
	s := pepServer(t, "", "alice", "eve", "frank", "george", "henry")
	a := pepLogin(t, s, "alice", "a")
	a.publish(nodeFeed, "seed", "<entry xmlns='urn:example'/>", "pubsub#access_model", "open")
	directed := func(c *pepClient) {
		c.Send("<presence to='" + alice + "'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='" + capsNode + "' ver='" + c.ver + "'/></presence>")
		items, _ := c.event(alice, nodeFeed)
		itemOf(t, items, "seed")
	}
	for _, u := range []string{"eve", "frank"} {
		c := pepLogin(t, s, u, "x")
		c.ver = "bm90IHRoZSByaWdodCBoYXNoIQ==" // does not match the features
		directed(c)
		if c.discoAsked != 1 {
			t.Fatalf("%s with unverifiable caps was asked %d times", u, c.discoAsked)
		}
	}
	g := pepLogin(t, s, "george", "x")
	directed(g)
	h := pepLogin(t, s, "henry", "x")
	directed(h)
	if g.discoAsked != 1 || h.discoAsked != 0 {
		t.Fatalf("verified caps asked %d then %d times, want 1 then 0", g.discoAsked, h.discoAsked)
	}
	// A client that does not ask for the node gets nothing.
	h.setFeatures("http://jabber.org/protocol/caps", nsDiscoInfo)
	h.Send("<presence to='" + alice + "'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='" + capsNode + "' ver='" + h.ver + "'/></presence>")
	h.asked(1)
	a.publish(nodeFeed, "next", "<entry xmlns='urn:example'/>")
	g.event(alice, nodeFeed)
	h.quiet(alice, nodeFeed)
}

// TestPEPRestart: nodes, items and configurations survive a restart.
func TestPEPRestart(t *testing.T) {
	cfg := testConfig(t, "")
	s := xmpptest.Start(t, cfg)
	for _, u := range []string{"alice", "bob"} {
		s.AddUser(t, u, "pw")
	}
	subscribe(t, s, "alice", "bob", roster.SubBoth)
	a := pepLogin(t, s, "alice", "a")
	a.publish(nodeBookmarks, "r@conference.localhost", "<conference xmlns='urn:xmpp:bookmarks:1' name='R'/>", bookmarkOptions...)
	a.publish(nodeAvatar, "m1", meta("m1"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	s = xmpptest.Start(t, cfg)
	a = pepLogin(t, s, "alice", "a")
	ids, r := a.items("", nodeBookmarks)
	wantIDs(t, "bookmarks after restart", ids, r, "r@conference.localhost")
	if !xmpptest.HasText(r, "name='R'") {
		t.Fatalf("payload after restart: %s", r)
	}
	b := pepLogin(t, s, "bob", "b")
	_, r = b.items(alice, nodeBookmarks)
	wantError(t, "whitelist after restart", r, "not-allowed", "closed-node")
	b.available("")
	items, _ := b.event(alice, nodeAvatar)
	itemOf(t, items, "m1")
}

// TestPEPUserRemoved: deleting an account deletes its nodes.
func TestPEPUserRemoved(t *testing.T) {
	s := pepServer(t, "", "alice")
	a := pepLogin(t, s, "alice", "a")
	a.publish(nodeAvatar, "m1", meta("m1"))
	ctx := context.Background()
	if err := s.Core().RemoveUser(ctx, mustJID(t, alice)); err != nil {
		t.Fatal(err)
	}
	s.AddUser(t, "alice", "pw")
	a = pepLogin(t, s, "alice", "a")
	_, r := a.items("", nodeAvatar)
	wantError(t, "node of a removed account", r, "item-not-found", "")
}

// TestPEPGoAPI: another module publishes and reads through pep.Lookup
// (a bookmarks compatibility layer would), with the same notifications,
// preconditions and errors as the protocol.
func TestPEPGoAPI(t *testing.T) {
	s := pepServer(t, "", "alice")
	m := pep.Lookup(s.Core())
	if m == nil {
		t.Fatal("pep.Lookup found no module")
	}
	var (
		mu     sync.Mutex
		events []pep.Event
	)
	m.Observe(func(_ context.Context, ev pep.Event) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	})
	a := pepLogin(t, s, "alice", "a")
	a.publish(nodeBookmarks, "seed@conference.localhost", "<conference xmlns='urn:xmpp:bookmarks:1'/>",
		"pubsub#persist_items", "true", "pubsub#max_items", "max", "pubsub#access_model", "whitelist")
	a.available("")
	// The last item proves the caps resolved.
	items, _ := a.event(alice, nodeBookmarks)
	itemOf(t, items, "seed@conference.localhost")
	ctx := context.Background()
	owner := mustJID(t, alice)
	payload, err := xmltok.Parse([]byte("<conference xmlns='urn:xmpp:bookmarks:1' name='API'/>"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := pep.Options{"pubsub#access_model": {"whitelist"}, "pubsub#max_items": {"max"}}
	if _, err := m.Publish(ctx, owner, nodeBookmarks, "api@conference.localhost", payload, opts); err != nil {
		t.Fatal(err)
	}
	items, _ = a.event(alice, nodeBookmarks)
	itemOf(t, items, "api@conference.localhost")
	got, err := m.Items(ctx, owner, nodeBookmarks, 0)
	if err != nil || len(got) != 2 || got[1].ID != "api@conference.localhost" || !strings.Contains(string(got[1].Payload), "name='API'") {
		t.Fatalf("Items = %+v, %v", got, err)
	}
	_, err = m.Publish(ctx, owner, nodeBookmarks, "x", payload, pep.Options{"pubsub#access_model": {"open"}})
	if se, ok := err.(*stanza.Error); !ok || se.Condition != "conflict" {
		t.Fatalf("unmet precondition through the API: %v", err)
	}
	if err := m.Retract(ctx, owner, nodeBookmarks, "api@conference.localhost", true); err != nil {
		t.Fatal(err)
	}
	items, _ = a.event(alice, nodeBookmarks)
	retracted(t, items, "api@conference.localhost")
	if _, ok, err := m.Item(ctx, owner, nodeBookmarks, "api@conference.localhost"); err != nil || ok {
		t.Fatalf("Item after Retract = %v, %v", ok, err)
	}
	if cfg, ok, err := m.Node(ctx, owner, nodeBookmarks); err != nil || !ok || cfg.AccessModel != pep.AccessWhitelist {
		t.Fatalf("Node = %+v, %v, %v", cfg, ok, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 3 || events[1].Published == nil || events[2].Retracted[0] != "api@conference.localhost" {
		t.Fatalf("observed %+v", events)
	}
}

// TestPEPRosterAccess: the roster access model (XEP-0060 §4.5) lets in
// subscribed contacts of the allowed groups; a node without payload
// delivery notifies item IDs only.
func TestPEPRosterAccess(t *testing.T) {
	s := pepServer(t, "", "alice", "bob", "carol")
	subscribe(t, s, "alice", "bob", roster.SubBoth) // bob is in Friends
	st := s.Core().Store("roster").(roster.Store)
	if _, err := st.PutItem(context.Background(), mustJID(t, alice), roster.Item{JID: mustJID(t, "carol@localhost"), Subscription: roster.SubFrom, Groups: []string{"Work"}}); err != nil {
		t.Fatal(err)
	}
	a := pepLogin(t, s, "alice", "a")
	r := a.publish(nodeFeed, "i1", "<entry xmlns='urn:example'/>", "pubsub#access_model", "roster",
		"pubsub#roster_groups_allowed", "Friends", "pubsub#deliver_payloads", "0")
	if r.Attr("type") != "result" {
		t.Fatal(r)
	}
	b := pepLogin(t, s, "bob", "b")
	ids, r := b.items(alice, nodeFeed)
	wantIDs(t, "friend reads", ids, r, "i1")
	c := pepLogin(t, s, "carol", "c")
	_, r = c.items(alice, nodeFeed)
	wantError(t, "subscriber outside the groups", r, "not-authorized", "not-in-roster-group")
	b.available("")
	items, _ := b.event(alice, nodeFeed)
	if it := itemOf(t, items, "i1"); len(it.Children) != 0 {
		t.Fatalf("payload delivered although deliver_payloads is off: %s", it)
	}
	// Items requested by ID carry the payload.
	r = b.ok("get", alice, "<pubsub xmlns='"+nsPubSub+"'><items node='"+nodeFeed+"'><item id='i1'/></items></pubsub>")
	if !xmpptest.HasText(r, "<entry xmlns='urn:example'/>") {
		t.Fatalf("items by ID: %s", r)
	}
}
