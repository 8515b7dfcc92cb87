package node_test

import (
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"testing"

	"github.com/meridian-xmpp/meridian/internal/xmpptest"
)

// getWeb fetches url, over TLS without verification for https.
func getWeb(t *testing.T, url string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

type xrd struct {
	XMLName xml.Name `xml:"http://docs.oasis-open.org/ns/xri/xrd-1.0 XRD"`
	Links   []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"Link"`
}

func TestHostMeta(t *testing.T) {
	srv := xmpptest.Start(t, nil)
	for _, tc := range []struct{ base, ws string }{
		{"http://" + srv.Web, "ws://" + srv.Web},
		{"https://" + srv.WebTLS, "wss://" + srv.WebTLS},
	} {
		resp := getWeb(t, tc.base+"/.well-known/host-meta", nil)
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("%s: status %d, CORS %q", tc.base, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		var doc xrd
		if err := xml.NewDecoder(resp.Body).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, l := range doc.Links {
			got[l.Rel] = l.Href
		}
		if got["urn:xmpp:alt-connections:websocket"] != tc.ws+"/xmpp-websocket" || got["urn:xmpp:alt-connections:xbosh"] != tc.base+"/http-bind" || len(got) != 2 {
			t.Fatalf("%s: XRD links %v", tc.base, got)
		}

		resp = getWeb(t, tc.base+"/.well-known/host-meta.json", nil)
		var js struct {
			Links []struct{ Rel, Href string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&js); err != nil {
			t.Fatal(err)
		}
		if len(js.Links) != 2 || js.Links[0].Href != tc.ws+"/xmpp-websocket" || js.Links[1].Href != tc.base+"/http-bind" {
			t.Fatalf("%s: JSON links %+v", tc.base, js.Links)
		}
	}
}

// TestHostMeta's four requests are counted per endpoint.
func TestWebRequestsCounted(t *testing.T) {
	srv := xmpptest.Start(t, nil)
	before := metricValue(t, srv, `meridian_http_requests_total{code="200",endpoint="host_meta"}`)
	for range 3 {
		getWeb(t, "http://"+srv.Web+"/.well-known/host-meta", nil)
	}
	if got := metricValue(t, srv, `meridian_http_requests_total{code="200",endpoint="host_meta"}`); got != before+3 {
		t.Fatalf("host_meta requests counted %v, want %v", got, before+3)
	}
}

// metricValue reads one series from the node's /metrics.
func metricValue(t *testing.T, srv *xmpptest.Server, series string) float64 {
	t.Helper()
	body, _ := io.ReadAll(getWeb(t, "http://"+srv.HTTP+"/metrics", nil).Body)
	f, ok := xmpptest.MetricValue(string(body), series)
	if !ok {
		t.Fatalf("%s not in /metrics", series)
	}
	return f
}

func TestHostMetaPublicURLAndDisabled(t *testing.T) {
	cfg := xmpptest.Config(t)
	cfg.Web.PublicURL = "https://chat.example.com:8443/"
	cfg.Web.BOSH.Enabled = false
	srv := xmpptest.Start(t, cfg)
	resp := getWeb(t, "http://"+srv.Web+"/.well-known/host-meta.json", nil)
	body, _ := io.ReadAll(resp.Body)
	var js struct {
		Links []struct{ Rel, Href string }
	}
	if err := json.Unmarshal(body, &js); err != nil {
		t.Fatal(err)
	}
	if len(js.Links) != 1 || js.Links[0].Href != "wss://chat.example.com:8443/xmpp-websocket" {
		t.Fatalf("links %s", body)
	}
	if resp := getWeb(t, "http://"+srv.Web+"/http-bind", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("disabled BOSH answers %d", resp.StatusCode)
	}
}
