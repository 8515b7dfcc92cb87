package disco

import (
	"context"
	"testing"
	"time"

	"github.com/meridian-xmpp/meridian/core/mod/internal/modtest"
	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/jid"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

func setup(t *testing.T) *modtest.Host {
	t.Helper()
	h := modtest.New(time.Unix(0, 0), "example.com")
	h.AddIdentity("server", "im", "Meridian")
	h.AddFeature(module.Server, "urn:xmpp:ping")
	if _, err := New(h, nil); err != nil {
		t.Fatal(err)
	}
	// Modules provisioned after disco announce features too.
	h.AddFeature(module.Server, "jabber:iq:version")
	h.AddFeature(module.Account, "jabber:iq:last")
	h.AddFeature(module.Server, "urn:xmpp:ping") // announced twice, listed once
	h.AddUser(modtest.JID(t, "alice@example.com"), "pw")
	h.AddUser(modtest.JID(t, "bob@example.com"), "pw")
	return h
}

func request(ns, node string) *xmltok.Element {
	q := xmltok.NewElement(ns, "query")
	if node != "" {
		q.SetAttr("node", node)
	}
	return q
}

func TestInfo(t *testing.T) {
	h := setup(t)
	ctx := context.Background()
	const server = `<query xmlns='http://jabber.org/protocol/disco#info'>` +
		`<identity category='server' type='im' name='Meridian'/>` +
		`<feature var='http://jabber.org/protocol/disco#info'/>` +
		`<feature var='http://jabber.org/protocol/disco#items'/>` +
		`<feature var='jabber:iq:version'/>` +
		`<feature var='urn:xmpp:ping'/></query>`
	const account = `<query xmlns='http://jabber.org/protocol/disco#info'>` +
		`<identity category='account' type='registered'/>` +
		`<feature var='http://jabber.org/protocol/disco#info'/>` +
		`<feature var='http://jabber.org/protocol/disco#items'/>` +
		`<feature var='jabber:iq:last'/></query>`
	tests := []struct {
		name, from, to, want string
	}{
		{"server", "alice@example.com/a", "example.com", server},
		{"own account", "alice@example.com/a", "alice@example.com", account},
		{"own account without to", "alice@example.com/a", "", account},
		{"other existing account", "bob@example.com/b", "alice@example.com", account},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := h.IQ(ctx, t, tt.from, tt.to, "get", request(NSInfo, ""))
			if err != nil {
				t.Fatal(err)
			}
			if got := res.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestItems(t *testing.T) {
	h := setup(t)
	ctx := context.Background()
	for _, to := range []string{"example.com", "alice@example.com"} {
		res, err := h.IQ(ctx, t, "alice@example.com/a", to, "get", request(NSItems, ""))
		if err != nil {
			t.Fatalf("to %s: %v", to, err)
		}
		if got, want := res.String(), `<query xmlns='http://jabber.org/protocol/disco#items'/>`; got != want {
			t.Errorf("to %s: got %s, want %s", to, got, want)
		}
	}
}

func TestErrors(t *testing.T) {
	h := setup(t)
	ctx := context.Background()
	tests := []struct {
		name, to, typ string
		payload       *xmltok.Element
		want          string
	}{
		{"unknown info node", "example.com", "get", request(NSInfo, "http://example.com/caps#x"), "item-not-found"},
		{"unknown items node", "example.com", "get", request(NSItems, "pubsub"), "item-not-found"},
		{"unknown account node", "alice@example.com", "get", request(NSInfo, "x"), "item-not-found"},
		{"set", "example.com", "set", request(NSInfo, ""), "not-allowed"},
		{"not a query", "example.com", "get", xmltok.NewElement(NSInfo, "info"), "bad-request"},
		{"no such account", "nobody@example.com", "get", request(NSInfo, ""), "service-unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := h.IQ(ctx, t, "alice@example.com/a", tt.to, tt.typ, tt.payload)
			if got := modtest.Condition(err); got != tt.want {
				t.Errorf("error %q (result %v), want %q", got, res, tt.want)
			}
		})
	}
}

func TestFeaturesAnnounced(t *testing.T) {
	h := modtest.New(time.Unix(0, 0), "example.com")
	if _, err := New(h, nil); err != nil {
		t.Fatal(err)
	}
	for _, target := range []module.Target{module.Server, module.Account} {
		got := h.Features(target)
		if len(got) != 2 || got[0] != NSInfo || got[1] != NSItems {
			t.Errorf("target %d: features %v, want disco#info and disco#items", target, got)
		}
	}
}

// TestInfoForms: XEP-0128 forms announced by modules come after the
// features, FORM_TYPE first and hidden, only for their target.
func TestInfoForms(t *testing.T) {
	h := modtest.New(time.Unix(0, 0), "example.com")
	if _, err := New(h, nil); err != nil {
		t.Fatal(err)
	}
	h.AddInfoForm(module.Server, module.InfoForm{
		FormType: "http://jabber.org/network/serverinfo",
		Fields: []module.FormField{
			{Var: "abuse-addresses", Type: "list-multi", Values: []string{"mailto:abuse@example.com", "xmpp:abuse@example.com"}},
			{Var: "support-addresses", Values: []string{"https://example.com/support?a=1&b=2"}},
		},
	})
	h.AddUser(modtest.JID(t, "alice@example.com"), "pw")
	const server = `<query xmlns='http://jabber.org/protocol/disco#info'>` +
		`<feature var='http://jabber.org/protocol/disco#info'/>` +
		`<feature var='http://jabber.org/protocol/disco#items'/>` +
		`<x xmlns='jabber:x:data' type='result'>` +
		`<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/network/serverinfo</value></field>` +
		`<field var='abuse-addresses' type='list-multi'><value>mailto:abuse@example.com</value><value>xmpp:abuse@example.com</value></field>` +
		`<field var='support-addresses'><value>https://example.com/support?a=1&amp;b=2</value></field>` +
		`</x></query>`
	for i := 0; i < 2; i++ { // the second answer is built the same way
		res, err := h.IQ(context.Background(), t, "alice@example.com/a", "example.com", "get", request(NSInfo, ""))
		if err != nil {
			t.Fatal(err)
		}
		if got := res.String(); got != server {
			t.Errorf("got  %s\nwant %s", got, server)
		}
	}
	res, err := h.IQ(context.Background(), t, "alice@example.com/a", "alice@example.com", "get", request(NSInfo, ""))
	if err != nil {
		t.Fatal(err)
	}
	if xmltokHas(res, NSData) {
		t.Errorf("account info has the server's form: %s", res)
	}
}

func xmltokHas(el *xmltok.Element, space string) bool {
	for _, c := range el.Children {
		if c.Space == space {
			return true
		}
	}
	return false
}

// TestAccountDisco: what a module serves on behalf of accounts (PEP)
// extends the answers about a bare JID, and only those.
func TestAccountDisco(t *testing.T) {
	h := setup(t)
	ctx := context.Background()
	h.AddAccountDisco(module.AccountDisco{
		Identity: module.Identity{Category: "pubsub", Type: "pep"},
		Info: func(_ context.Context, requester, account jid.JID, node string) (module.DiscoInfo, error) {
			if node != "n" || requester.Bare() != account {
				return module.DiscoInfo{}, stanza.ErrItemNotFound
			}
			return module.DiscoInfo{
				Identities: []module.Identity{{Category: "pubsub", Type: "leaf"}},
				Features:   []string{"urn:f"},
				Forms:      []*xmltok.Element{xmltok.NewElement("jabber:x:data", "x", xmltok.Attr{Name: "type", Value: "result"})},
			}, nil
		},
		Items: func(_ context.Context, requester, account jid.JID, node string) ([]module.DiscoItem, error) {
			switch node {
			case "":
				return []module.DiscoItem{{Node: "n", Name: "N"}}, nil
			case "n":
				return []module.DiscoItem{{Name: "item1"}}, nil
			}
			return nil, stanza.ErrItemNotFound
		},
	})
	for _, tt := range []struct {
		name, from, to string
		payload        *xmltok.Element
		want, err      string
	}{
		{"account info", "bob@example.com/b", "alice@example.com", request(NSInfo, ""),
			`<query xmlns='http://jabber.org/protocol/disco#info'><identity category='account' type='registered'/><identity category='pubsub' type='pep'/>` +
				`<feature var='http://jabber.org/protocol/disco#info'/><feature var='http://jabber.org/protocol/disco#items'/><feature var='jabber:iq:last'/></query>`, ""},
		{"node info", "alice@example.com/a", "alice@example.com", request(NSInfo, "n"),
			`<query xmlns='http://jabber.org/protocol/disco#info' node='n'><identity category='pubsub' type='leaf'/><feature var='urn:f'/><x xmlns='jabber:x:data' type='result'/></query>`, ""},
		{"node info refused", "bob@example.com/b", "alice@example.com", request(NSInfo, "n"), "", "item-not-found"},
		{"account items", "bob@example.com/b", "alice@example.com", request(NSItems, ""),
			`<query xmlns='http://jabber.org/protocol/disco#items'><item jid='alice@example.com' node='n' name='N'/></query>`, ""},
		{"node items", "bob@example.com/b", "alice@example.com", request(NSItems, "n"),
			`<query xmlns='http://jabber.org/protocol/disco#items' node='n'><item jid='alice@example.com' name='item1'/></query>`, ""},
		{"unknown node items", "bob@example.com/b", "alice@example.com", request(NSItems, "x"), "", "item-not-found"},
		{"server items unchanged", "bob@example.com/b", "example.com", request(NSItems, ""), `<query xmlns='http://jabber.org/protocol/disco#items'/>`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := h.IQ(ctx, t, tt.from, tt.to, "get", tt.payload)
			if got := modtest.Condition(err); got != tt.err {
				t.Fatalf("error %q, want %q", got, tt.err)
			}
			if tt.err == "" && res.String() != tt.want {
				t.Errorf("got  %s\nwant %s", res, tt.want)
			}
		})
	}
}
