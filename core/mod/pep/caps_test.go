package pep

import (
	"testing"

	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

func parse(t *testing.T, s string) *xmltok.Element {
	t.Helper()
	el, err := xmltok.Parse([]byte(s), "jabber:client", nil)
	if err != nil {
		t.Fatal(err)
	}
	return el
}

// The examples of XEP-0115 §5.2 and §5.3.
const (
	simpleInfo = `<query xmlns='http://jabber.org/protocol/disco#info'>
		<identity category='client' name='Exodus 0.9.1' type='pc'/>
		<feature var='http://jabber.org/protocol/muc'/>
		<feature var='http://jabber.org/protocol/disco#info'/>
		<feature var='http://jabber.org/protocol/disco#items'/>
		<feature var='http://jabber.org/protocol/caps'/></query>`
	complexInfo = `<query xmlns='http://jabber.org/protocol/disco#info' node='http://psi-im.org#q07IKJEyjvHSyhy//CH0CxmKi8w='>
		<identity xml:lang='en' category='client' name='Psi 0.11' type='pc'/>
		<identity xml:lang='el' category='client' name='&#936; 0.11' type='pc'/>
		<feature var='http://jabber.org/protocol/caps'/>
		<feature var='http://jabber.org/protocol/disco#info'/>
		<feature var='http://jabber.org/protocol/disco#items'/>
		<feature var='http://jabber.org/protocol/muc'/>
		<x xmlns='jabber:x:data' type='result'>
			<field var='FORM_TYPE' type='hidden'><value>urn:xmpp:dataforms:softwareinfo</value></field>
			<field var='ip_version' type='text-multi'><value>ipv6</value><value>ipv4</value></field>
			<field var='os'><value>Mac</value></field>
			<field var='software_version'><value>0.11</value></field>
			<field var='os_version'><value>10.5.1</value></field>
			<field var='software'><value>Psi</value></field>
		</x>
		<x xmlns='jabber:x:data' type='result'><field var='no-form-type'><value>ignored</value></field></x>
	</query>`
)

func TestVerify(t *testing.T) {
	tests := []struct {
		name, hash, ver, info string
		want                  bool
	}{
		{"simple", "sha-1", "QgayPKawpkPSDYmwT/WM94uAlu0=", simpleInfo, true},
		{"complex with forms", "sha-1", "q07IKJEyjvHSyhy//CH0CxmKi8w=", complexInfo, true},
		{"wrong ver", "sha-1", "QgayPKawpkPSDYmwT/WM94uAlu1=", simpleInfo, false},
		{"unsupported hash", "md5", "QgayPKawpkPSDYmwT/WM94uAlu0=", simpleInfo, false},
		{"duplicate feature", "sha-1", "QgayPKawpkPSDYmwT/WM94uAlu0=",
			`<query xmlns='http://jabber.org/protocol/disco#info'><feature var='a'/><feature var='a'/></query>`, false},
		{"duplicate identity", "sha-1", "x",
			`<query xmlns='http://jabber.org/protocol/disco#info'><identity category='c' type='t'/><identity category='c' type='t'/></query>`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verify(caps{hash: tt.hash, ver: tt.ver}, parse(t, tt.info)); got != tt.want {
				s, ok := verificationString(parse(t, tt.info))
				t.Errorf("verify = %v, want %v (S = %q, %v)", got, tt.want, s, ok)
			}
		})
	}
}

func TestCapsOf(t *testing.T) {
	for _, tt := range []struct {
		presence string
		ok       bool
	}{
		{`<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>`, true},
		{`<presence><c xmlns='http://jabber.org/protocol/caps' node='n' ver='2.1' ext='a b'/></presence>`, false}, // legacy
		{`<presence><c xmlns='urn:other' hash='sha-1' node='n' ver='v'/></presence>`, false},
		{`<presence/>`, false},
	} {
		if _, ok := capsOf(parse(t, tt.presence)); ok != tt.ok {
			t.Errorf("capsOf(%s) = %v, want %v", tt.presence, ok, tt.ok)
		}
	}
}

func TestNotifyOf(t *testing.T) {
	s := notifyOf(parse(t, `<query xmlns='http://jabber.org/protocol/disco#info'>
		<feature var='urn:xmpp:omemo:2:devices+notify'/><feature var='urn:xmpp:avatar:metadata'/><feature var='+notify'/></query>`))
	if len(s) != 1 || !s.has("urn:xmpp:omemo:2:devices") {
		t.Fatalf("notifyOf = %v", s)
	}
}

func TestCapsCacheBounded(t *testing.T) {
	c := newCapsCache(2)
	c.put(capsKey{"sha-1", "a"}, notifySet{"x": {}})
	c.put(capsKey{"sha-1", "b"}, notifySet{})
	c.get(capsKey{"sha-1", "a"}) // a is now the most recently used
	c.put(capsKey{"sha-1", "c"}, notifySet{})
	if _, ok := c.get(capsKey{"sha-1", "b"}); ok {
		t.Error("the least recently used entry was kept")
	}
	if s, ok := c.get(capsKey{"sha-1", "a"}); !ok || !s.has("x") {
		t.Error("a recently used entry was evicted")
	}
	if c.len() != 2 {
		t.Errorf("len = %d, want 2", c.len())
	}
}
