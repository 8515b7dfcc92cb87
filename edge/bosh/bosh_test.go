package bosh

import (
	"testing"

	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

func TestParseBody(t *testing.T) {
	lim := xmltok.Limits{MaxStanzaSize: 1 << 16, MaxDepth: 16}
	for _, tc := range []struct {
		in       string
		ok       bool
		children int
		restart  bool
	}{
		{"<body xmlns='http://jabber.org/protocol/httpbind' rid='1' sid='s'/>", true, 0, false},
		{"<body xmlns='http://jabber.org/protocol/httpbind' rid='2' sid='s' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'/>", true, 0, true},
		{"<body xmlns='http://jabber.org/protocol/httpbind' rid='3' sid='s' x:restart='true' xmlns:x='urn:other'/>", true, 0, false},
		{"<body xmlns='http://jabber.org/protocol/httpbind' rid='4' sid='s'><message xmlns='jabber:client'/><presence xmlns='jabber:client'/></body>", true, 2, false},
		{"<body xmlns='http://jabber.org/protocol/httpbind' rid='5' sid='s'><message xmlns='jabber:client'/>", false, 0, false},
		{"<body xmlns='http://jabber.org/protocol/httpbind' rid='0'/>", false, 0, false},
		{"<body xmlns='http://jabber.org/protocol/httpbind' rid='9007199254740992'/>", false, 0, false},
		{"<body rid='1'/>", false, 0, false},
		{"<b xmlns='http://jabber.org/protocol/httpbind' rid='1'/>", false, 0, false},
		{"<body xmlns='http://jabber.org/protocol/httpbind' rid='1'><!-- c --></body>", false, 0, false},
	} {
		b, err := parseBody([]byte(tc.in), lim)
		if (err == nil) != tc.ok {
			t.Fatalf("%s: err %v", tc.in, err)
		}
		if err != nil {
			continue
		}
		if len(b.children) != tc.children || (b.attrs["xbosh:restart"] == "true") != tc.restart {
			t.Fatalf("%s: %d children, attrs %v", tc.in, len(b.children), b.attrs)
		}
	}
}

func TestTerminal(t *testing.T) {
	if st, b := terminal("item-not-found", false); st != 200 || string(b) != "<body xmlns='http://jabber.org/protocol/httpbind' type='terminate' condition='item-not-found'/>" {
		t.Fatalf("%d %s", st, b)
	}
	if st, b := terminal("item-not-found", true); st != 404 || b != nil {
		t.Fatalf("legacy: %d %s", st, b)
	}
	if version("1.6") != "1.6" || version("1.20") != "1.11" || version("x") != "1.11" {
		t.Fatal("version negotiation")
	}
}
