package node_test

import (
	"slices"
	"sort"
	"testing"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

const nsBookmarks = "urn:xmpp:bookmarks:1"

// rawIQ sends a whole IQ and returns its answer, skipping anything else
// and acknowledging the server's pushes (roster, blocklist) meanwhile.
func rawIQ(t *testing.T, c *xmpptest.Conn, id, body string) *xmltok.Element {
	t.Helper()
	c.Send(body)
	for i := 0; i < 50; i++ {
		el := c.Next()
		if el.Local == "iq" && el.Attr("id") == id {
			return el
		}
		if el.Local == "iq" && el.Attr("type") == "set" {
			c.Send("<iq type='result' id='" + el.Attr("id") + "'/>")
		}
	}
	t.Fatalf("no answer to %s", id)
	return nil
}

// pepIDs lists the item IDs of a PEP node of c's own account.
func pepIDs(t *testing.T, c *xmpptest.Conn, node string) []string {
	t.Helper()
	r := rawIQ(t, c, "items", "<iq type='get' id='items'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='"+node+"'/></pubsub></iq>")
	if r.Attr("type") != "result" {
		t.Fatalf("items of %s: %s", node, r)
	}
	var ids []string
	for _, it := range r.Child("http://jabber.org/protocol/pubsub", "pubsub").Child("http://jabber.org/protocol/pubsub", "items").ChildrenNamed("http://jabber.org/protocol/pubsub", "item") {
		ids = append(ids, it.Attr("id"))
	}
	sort.Strings(ids)
	return ids
}

// privateRooms lists the conference JIDs of XEP-0048 bookmarks in
// private storage.
func privateRooms(t *testing.T, c *xmpptest.Conn) []string {
	t.Helper()
	r := rawIQ(t, c, "pg", "<iq type='get' id='pg'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>")
	st := r.Child("jabber:iq:private", "query").Child("storage:bookmarks", "storage")
	if r.Attr("type") != "result" || st == nil {
		t.Fatalf("private get: %s", r)
	}
	var rooms []string
	for _, c := range st.ChildrenNamed("storage:bookmarks", "conference") {
		rooms = append(rooms, c.Attr("jid"))
	}
	sort.Strings(rooms)
	return rooms
}

// XEP-0402 §5: a client on XEP-0048 private storage and one on PEP
// native bookmarks see the same bookmarks.
func TestBookmarksCompat(t *testing.T) {
	s := pepServer(t, "", "alice")
	legacy := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "legacy")
	modern := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "modern")

	// The account announces the layer.
	r := rawIQ(t, modern, "d", "<iq type='get' to='alice@localhost' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	if !xmpptest.HasText(r, nsBookmarks+"#compat'") || !xmpptest.HasText(r, nsBookmarks+"#compat-pep'") {
		t.Fatalf("disco: %s", r)
	}

	// Legacy set: both rooms appear as XEP-0402 items.
	r = rawIQ(t, legacy, "ps", "<iq type='set' id='ps'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>"+
		"<conference jid='a@rooms.localhost' name='A' autojoin='true'><nick>al</nick></conference>"+
		"<conference jid='b@rooms.localhost' autojoin='false'/>"+
		"<url name='web' url='https://example.com/'/></storage></query></iq>")
	if r.Attr("type") != "result" {
		t.Fatalf("private set: %s", r)
	}
	if ids := pepIDs(t, modern, nsBookmarks); !slices.Equal(ids, []string{"a@rooms.localhost", "b@rooms.localhost"}) {
		t.Fatalf("XEP-0402 items after the legacy set: %v", ids)
	}
	item := rawIQ(t, modern, "one", "<iq type='get' id='one'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='"+nsBookmarks+"'><item id='a@rooms.localhost'/></items></pubsub></iq>")
	if !xmpptest.HasText(item, "<conference xmlns='"+nsBookmarks+"' name='A' autojoin='true'><nick>al</nick></conference>") {
		t.Fatalf("converted item: %s", item)
	}

	// Modern publish and retract: the legacy view follows.
	r = rawIQ(t, modern, "pub", "<iq type='set' id='pub'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='"+nsBookmarks+"'>"+
		"<item id='c@rooms.localhost'><conference xmlns='"+nsBookmarks+"' name='C' autojoin='true'/></item></publish>"+
		"<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"+
		"<field var='pubsub#persist_items'><value>true</value></field><field var='pubsub#max_items'><value>max</value></field>"+
		"<field var='pubsub#send_last_published_item'><value>never</value></field><field var='pubsub#access_model'><value>whitelist</value></field></x></publish-options></pubsub></iq>")
	if r.Attr("type") != "result" {
		t.Fatalf("publish: %s", r)
	}
	if rooms := privateRooms(t, legacy); !slices.Equal(rooms, []string{"a@rooms.localhost", "b@rooms.localhost", "c@rooms.localhost"}) {
		t.Fatalf("legacy view after publish: %v", rooms)
	}
	r = rawIQ(t, modern, "ret", "<iq type='set' id='ret'><pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='"+nsBookmarks+"' notify='true'><item id='b@rooms.localhost'/></retract></pubsub></iq>")
	if r.Attr("type") != "result" {
		t.Fatalf("retract: %s", r)
	}
	if rooms := privateRooms(t, legacy); !slices.Equal(rooms, []string{"a@rooms.localhost", "c@rooms.localhost"}) {
		t.Fatalf("legacy view after retract: %v", rooms)
	}

	// A legacy set that drops a room retracts it.
	rawIQ(t, legacy, "ps2", "<iq type='set' id='ps2'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>"+
		"<conference jid='c@rooms.localhost' name='C' autojoin='true'/></storage></query></iq>")
	if ids := pepIDs(t, modern, nsBookmarks); !slices.Equal(ids, []string{"c@rooms.localhost"}) {
		t.Fatalf("after the second legacy set: %v", ids)
	}

	// XEP-0223 clients: publishing storage:bookmarks rewrites the XEP-0402
	// node, and a XEP-0402 change rewrites storage:bookmarks.
	r = rawIQ(t, legacy, "p223", "<iq type='set' id='p223'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='storage:bookmarks'>"+
		"<item id='current'><storage xmlns='storage:bookmarks'><conference jid='d@rooms.localhost' autojoin='true'/></storage></item></publish>"+
		"<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>"+
		"<field var='pubsub#persist_items'><value>true</value></field><field var='pubsub#access_model'><value>whitelist</value></field></x></publish-options></pubsub></iq>")
	if r.Attr("type") != "result" {
		t.Fatalf("XEP-0223 publish: %s", r)
	}
	if ids := pepIDs(t, modern, nsBookmarks); !slices.Equal(ids, []string{"d@rooms.localhost"}) {
		t.Fatalf("after the XEP-0223 publish: %v", ids)
	}
	rawIQ(t, modern, "pub2", "<iq type='set' id='pub2'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='"+nsBookmarks+"'>"+
		"<item id='e@rooms.localhost'><conference xmlns='"+nsBookmarks+"' autojoin='false'/></item></publish></pubsub></iq>")
	r = rawIQ(t, legacy, "g223", "<iq type='get' id='g223'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='storage:bookmarks'/></pubsub></iq>")
	if !xmpptest.HasText(r, "jid='d@rooms.localhost'") || !xmpptest.HasText(r, "jid='e@rooms.localhost'") {
		t.Fatalf("storage:bookmarks after a XEP-0402 publish: %s", r)
	}
}

func TestBookmarksBadInput(t *testing.T) {
	s := pepServer(t, "", "alice")
	c := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "r")
	rawIQ(t, c, "ok", "<iq type='set' id='ok'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'><conference jid='a@rooms.localhost'/></storage></query></iq>")
	for _, bad := range []string{
		"<conference name='no jid'/>",
		"<conference jid='@@bad'/>",
	} {
		r := rawIQ(t, c, "bad", "<iq type='set' id='bad'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>"+bad+"</storage></query></iq>")
		if xmpptest.Condition(r) != "bad-request" {
			t.Fatalf("%s: %s", bad, r)
		}
	}
	// Nothing changed.
	if ids := pepIDs(t, c, nsBookmarks); !slices.Equal(ids, []string{"a@rooms.localhost"}) {
		t.Fatalf("after bad sets: %v", ids)
	}
	if rooms := privateRooms(t, c); !slices.Equal(rooms, []string{"a@rooms.localhost"}) {
		t.Fatalf("after bad sets: %v", rooms)
	}
}

// XEP-0398: the vCard photo and the PEP avatar are one picture.
func TestAvatarConversion(t *testing.T) {
	s := pepServer(t, "", "alice")
	c := xmpptest.Login(t, s.C2S, "localhost", "alice", "pw", "r")
	r := rawIQ(t, c, "d", "<iq type='get' to='localhost' id='d'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
	if !xmpptest.HasText(r, "urn:xmpp:pep-vcard-conversion:0") {
		t.Fatalf("disco: %s", r)
	}
	// "hello" in base64; SHA-1 of "hello".
	const png, id = "aGVsbG8=", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
	r = rawIQ(t, c, "v", "<iq type='set' id='v'><vCard xmlns='vcard-temp'><FN>Alice</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>"+png+"</BINVAL></PHOTO></vCard></iq>")
	if r.Attr("type") != "result" {
		t.Fatalf("vCard set: %s", r)
	}
	if ids := pepIDs(t, c, "urn:xmpp:avatar:metadata"); !slices.Equal(ids, []string{id}) {
		t.Fatalf("metadata items %v, want [%s]", ids, id)
	}
	r = rawIQ(t, c, "dat", "<iq type='get' id='dat'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:avatar:data'/></pubsub></iq>")
	if !xmpptest.HasText(r, ">"+png+"</data>") {
		t.Fatalf("avatar data: %s", r)
	}
	r = rawIQ(t, c, "meta", "<iq type='get' id='meta'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:avatar:metadata'/></pubsub></iq>")
	if !xmpptest.HasText(r, "bytes='5'") || !xmpptest.HasText(r, "type='image/png'") {
		t.Fatalf("avatar metadata: %s", r)
	}

	// A PEP client publishes another picture: the vCard follows, other
	// fields kept.
	const png2, id2 = "d29ybGQ=", "7c211433f02071597741e6ff5a8ea34789abbf43" // "world"
	rawIQ(t, c, "pd", "<iq type='set' id='pd'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:avatar:data'><item id='"+id2+"'><data xmlns='urn:xmpp:avatar:data'>"+png2+"</data></item></publish></pubsub></iq>")
	rawIQ(t, c, "pm", "<iq type='set' id='pm'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:avatar:metadata'><item id='"+id2+"'><metadata xmlns='urn:xmpp:avatar:metadata'><info id='"+id2+"' bytes='5' type='image/jpeg'/></metadata></item></publish></pubsub></iq>")
	r = rawIQ(t, c, "vg", "<iq type='get' id='vg'><vCard xmlns='vcard-temp'/></iq>")
	if !xmpptest.HasText(r, "<FN>Alice</FN>") || !xmpptest.HasText(r, "<BINVAL>"+png2+"</BINVAL>") || !xmpptest.HasText(r, "<TYPE>image/jpeg</TYPE>") {
		t.Fatalf("vCard after the PEP avatar: %s", r)
	}
	// The presence hash follows too (XEP-0153).
	c.Send("<presence/>")
	if p := c.Expect("presence"); !xmpptest.HasText(p, "<photo>"+id2+"</photo>") {
		t.Fatalf("presence: %s", p)
	}

	// Avatar switched off in PEP: the vCard loses its photo.
	rawIQ(t, c, "off", "<iq type='set' id='off'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:avatar:metadata'><item id='none'><metadata xmlns='urn:xmpp:avatar:metadata'/></item></publish></pubsub></iq>")
	r = rawIQ(t, c, "vg2", "<iq type='get' id='vg2'><vCard xmlns='vcard-temp'/></iq>")
	if xmpptest.HasText(r, "PHOTO") || !xmpptest.HasText(r, "<FN>Alice</FN>") {
		t.Fatalf("vCard after the avatar was switched off: %s", r)
	}
}
