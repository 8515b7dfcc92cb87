package storagetest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/pep"
	"github.com/meridian-xmpp/meridian/storage"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
)

func runPubSub(t *testing.T, open func(t *testing.T) *storage.Stores) {
	t.Run("Nodes", func(t *testing.T) { pubsubNodes(t, fresh(t, open).PubSub) })
	t.Run("Items", func(t *testing.T) { pubsubItems(t, fresh(t, open).PubSub) })
	t.Run("Delete", func(t *testing.T) { pubsubDelete(t, fresh(t, open).PubSub) })
}

var (
	psAlice  = jid.MustParse("alice@example.com")
	psAlice2 = jid.MustParse("alice@example.com2")
	psBob    = jid.MustParse("bob@example.com")
)

// everyField is a configuration with every field away from its zero value.
var everyField = pep.NodeConfig{
	AccessModel: pep.AccessRoster, RosterGroups: []string{"Friends", "Family"},
	PersistItems: true, MaxItems: pep.MaxItemsMax, SendLastPublished: pep.SendNever,
	DeliverNotifications: true, DeliverPayloads: true,
	NotifyConfig: true, NotifyDelete: true, NotifyRetract: true,
	NotificationType: "normal", Title: "Tïtle", Description: "desc", Type: "urn:example",
}

func pubsubNodes(t *testing.T, s pep.Store) {
	if s == nil {
		t.Fatal("backend has no pubsub store")
	}
	c := ctx(t)
	if nodes, err := s.Nodes(c, psAlice); err != nil || len(nodes) != 0 {
		t.Fatalf("Nodes of a new user = %v, %v", nodes, err)
	}
	if _, ok, err := s.Node(c, psAlice, "urn:x"); err != nil || ok {
		t.Fatalf("Node of nothing = %v, %v", ok, err)
	}
	for _, n := range []pep.Node{
		{Name: "urn:xmpp:omemo:2:devices", Config: everyField},
		{Name: "eu.siacs.conversations.axolotl.bundles:42", Config: pep.DefaultConfig()},
		{Name: "urn:xmpp:avatar:data", Config: pep.NodeConfig{MaxItems: 3}},
	} {
		if err := s.PutNode(c, psAlice, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutNode(c, psAlice2, pep.Node{Name: "other", Config: pep.DefaultConfig()}); err != nil {
		t.Fatal(err)
	}
	n, ok, err := s.Node(c, psAlice, "urn:xmpp:omemo:2:devices")
	if err != nil || !ok || !reflect.DeepEqual(n.Config, everyField) || n.Name != "urn:xmpp:omemo:2:devices" {
		t.Fatalf("Node = %+v, %v, %v; want every field kept", n, ok, err)
	}
	nodes, err := s.Nodes(c, psAlice)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	if want := []string{"eu.siacs.conversations.axolotl.bundles:42", "urn:xmpp:avatar:data", "urn:xmpp:omemo:2:devices"}; !slices.Equal(names, want) {
		t.Fatalf("Nodes = %v, want %v (name order, this user's only)", names, want)
	}
	// Replacing the configuration keeps the items.
	if _, err := s.Publish(c, psAlice, pep.Node{Name: "urn:xmpp:avatar:data", Config: pep.DefaultConfig()}, pep.Item{ID: "a", Published: when}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.PutNode(c, psAlice, pep.Node{Name: "urn:xmpp:avatar:data", Config: everyField}); err != nil {
		t.Fatal(err)
	}
	if items, err := s.Items(c, psAlice, "urn:xmpp:avatar:data", 0); err != nil || len(items) != 1 {
		t.Fatalf("PutNode lost the items: %v, %v", items, err)
	}
	if n, _, _ := s.Node(c, psAlice, "urn:xmpp:avatar:data"); !reflect.DeepEqual(n.Config, everyField) {
		t.Fatalf("PutNode did not replace the configuration: %+v", n.Config)
	}
	if n, _, _ := s.Node(c, psBob, "urn:xmpp:avatar:data"); n.Name != "" {
		t.Fatalf("another user sees the node: %+v", n)
	}
}

func pubsubItems(t *testing.T, s pep.Store) {
	c := ctx(t)
	node := pep.Node{Name: "n", Config: pep.DefaultConfig()}
	if items, err := s.Items(c, psAlice, "n", 0); err != nil || len(items) != 0 {
		t.Fatalf("Items of no node = %v, %v", items, err)
	}
	for i := range 5 {
		it := pep.Item{ID: fmt.Sprint("i", i), Payload: []byte(fmt.Sprintf("<p xmlns='urn:x'>%d</p>", i)), Published: when.Add(-time.Second)}
		if removed, err := s.Publish(c, psAlice, node, it, 0); err != nil || len(removed) != 0 {
			t.Fatalf("Publish %d = %v, %v", i, removed, err)
		}
	}
	// A node whose name extends this one's must not mix in.
	if _, err := s.Publish(c, psAlice, pep.Node{Name: "n2", Config: pep.DefaultConfig()}, pep.Item{ID: "x", Published: when}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(c, psBob, node, pep.Item{ID: "bob", Published: when}, 0); err != nil {
		t.Fatal(err)
	}
	ids := func(items []pep.Item) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out
	}
	check := func(what string, max int, want ...string) {
		t.Helper()
		items, err := s.Items(c, psAlice, "n", max)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := ids(items); !slices.Equal(got, want) {
			t.Fatalf("%s: Items(%d) = %v, want %v", what, max, got, want)
		}
	}
	check("all", 0, "i0", "i1", "i2", "i3", "i4")
	check("newest", 2, "i3", "i4")
	check("more than there are", 10, "i0", "i1", "i2", "i3", "i4")
	it, ok, err := s.Item(c, psAlice, "n", "i2")
	if err != nil || !ok || it.ID != "i2" || string(it.Payload) != "<p xmlns='urn:x'>2</p>" || !it.Published.Equal(when.Add(-time.Second)) {
		t.Fatalf("Item = %+v, %v, %v", it, ok, err)
	}
	if _, ok, err := s.Item(c, psAlice, "n", "x"); err != nil || ok {
		t.Fatalf("Item of another node's ID = %v, %v", ok, err)
	}
	// The same ID again replaces the item and makes it the newest.
	removed, err := s.Publish(c, psAlice, node, pep.Item{ID: "i1", Payload: []byte("<new/>"), Published: when}, 0)
	if err != nil || len(removed) != 0 {
		t.Fatalf("republish = %v, %v", removed, err)
	}
	check("republished", 0, "i0", "i2", "i3", "i4", "i1")
	if it, _, _ := s.Item(c, psAlice, "n", "i1"); string(it.Payload) != "<new/>" {
		t.Fatalf("republished payload = %q", it.Payload)
	}
	// Publishing past max drops the oldest.
	removed, err = s.Publish(c, psAlice, node, pep.Item{ID: "i5", Published: when}, 3)
	if err != nil || !slices.Equal(removed, []string{"i0", "i2", "i3"}) {
		t.Fatalf("Publish with max 3 removed %v, %v", removed, err)
	}
	check("trimmed", 0, "i4", "i1", "i5")
	if it, ok, _ := s.Item(c, psAlice, "n", "i5"); !ok || it.Payload != nil {
		t.Fatalf("item without payload = %+v, %v", it, ok)
	}
	if _, ok, _ := s.Item(c, psAlice, "n", "i0"); ok {
		t.Fatal("a trimmed item is still found by ID")
	}
	removed, err = s.Trim(c, psAlice, "n", 1)
	if err != nil || !slices.Equal(removed, []string{"i4", "i1"}) {
		t.Fatalf("Trim = %v, %v", removed, err)
	}
	check("Trim", 0, "i5")
	if removed, err := s.Trim(c, psAlice, "n", 5); err != nil || len(removed) != 0 {
		t.Fatalf("Trim under the limit = %v, %v", removed, err)
	}
	if ok, err := s.DeleteItem(c, psAlice, "n", "i5"); err != nil || !ok {
		t.Fatalf("DeleteItem = %v, %v", ok, err)
	}
	if ok, err := s.DeleteItem(c, psAlice, "n", "i5"); err != nil || ok {
		t.Fatalf("DeleteItem again = %v, %v", ok, err)
	}
	check("DeleteItem", 0)
	if items, _ := s.Items(c, psAlice, "n2", 0); !slices.Equal(ids(items), []string{"x"}) {
		t.Fatalf("other node's items = %v", ids(items))
	}
	if items, _ := s.Items(c, psBob, "n", 0); !slices.Equal(ids(items), []string{"bob"}) {
		t.Fatalf("other user's items = %v", ids(items))
	}
}

func pubsubDelete(t *testing.T, s pep.Store) {
	c := ctx(t)
	node := pep.Node{Name: "n", Config: pep.DefaultConfig()}
	for _, owner := range []jid.JID{psAlice, psBob} {
		for _, id := range []string{"a", "b"} {
			if _, err := s.Publish(c, owner, node, pep.Item{ID: id, Published: when}, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Purge(c, psAlice, "n"); err != nil {
		t.Fatal(err)
	}
	if items, _ := s.Items(c, psAlice, "n", 0); len(items) != 0 {
		t.Fatalf("Purge left %d items", len(items))
	}
	if _, ok, _ := s.Node(c, psAlice, "n"); !ok {
		t.Fatal("Purge removed the node")
	}
	if _, ok, _ := s.Item(c, psAlice, "n", "a"); ok {
		t.Fatal("Purge left the ID index")
	}
	if _, err := s.Publish(c, psAlice, node, pep.Item{ID: "a", Published: when}, 0); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.DeleteNode(c, psAlice, "n"); err != nil || !ok {
		t.Fatalf("DeleteNode = %v, %v", ok, err)
	}
	if ok, err := s.DeleteNode(c, psAlice, "n"); err != nil || ok {
		t.Fatalf("DeleteNode again = %v, %v", ok, err)
	}
	// A node created again starts empty.
	if err := s.PutNode(c, psAlice, node); err != nil {
		t.Fatal(err)
	}
	if items, _ := s.Items(c, psAlice, "n", 0); len(items) != 0 {
		t.Fatalf("a deleted node's items came back: %d", len(items))
	}
	if _, ok, _ := s.Item(c, psAlice, "n", "a"); ok {
		t.Fatal("DeleteNode left the ID index")
	}
	if err := s.DeleteUser(c, psBob); err != nil {
		t.Fatal(err)
	}
	if nodes, _ := s.Nodes(c, psBob); len(nodes) != 0 {
		t.Fatalf("DeleteUser left %d nodes", len(nodes))
	}
	if items, _ := s.Items(c, psBob, "n", 0); len(items) != 0 {
		t.Fatalf("DeleteUser left %d items", len(items))
	}
	if nodes, _ := s.Nodes(c, psAlice); len(nodes) != 1 {
		t.Fatalf("DeleteUser of bob removed alice's nodes: %d left", len(nodes))
	}
}
