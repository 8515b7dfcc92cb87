package node

import (
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/meridian-xmpp/meridian/internal/metrics"
)

// The web listeners (config [web]) serve browsers and HTTP clients:
// WebSocket, BOSH, host-meta and the client REST API, each mounted by its
// own file (web_websocket.go, web_bosh.go, web_api.go).

// startWeb binds the plain and TLS web listeners.
func (n *Node) startWeb() error {
	w := n.cfg.Web
	if len(w.Listen) == 0 && len(w.TLSListen) == 0 {
		return nil
	}
	n.web = &http.Server{
		Handler:           n.webHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		// No ReadTimeout/WriteTimeout: WebSocket connections and BOSH
		// long-polls outlive any fixed deadline; each transport sets its own.
		IdleTimeout: 2 * time.Minute,
	}
	for _, a := range w.Listen {
		if err := n.listen("web", a, func(ln net.Listener) { n.web.Serve(ln) }); err != nil {
			return err
		}
	}
	if len(w.TLSListen) > 0 {
		cfg := n.tls.Clone()
		// HTTP/1.1 only: WebSocket (RFC 6455) upgrades an HTTP/1.1
		// connection.
		cfg.NextProtos = []string{"http/1.1"}
		for _, a := range w.TLSListen {
			if err := n.listen("web_tls", a, func(ln net.Listener) { n.web.Serve(tls.NewListener(ln, cfg)) }); err != nil {
				return err
			}
		}
	}
	return nil
}

func (n *Node) webHandler() http.Handler {
	mux := http.NewServeMux()
	w := n.cfg.Web
	hostMeta := metrics.CountHTTP("host_meta", http.HandlerFunc(n.hostMeta))
	mux.Handle("GET /.well-known/host-meta", hostMeta)
	mux.Handle("GET /.well-known/host-meta.json", hostMeta)
	if w.WebSocket.Enabled {
		mux.Handle(w.WebSocket.Path, metrics.CountHTTP("websocket", n.websocketHandler()))
	}
	if w.BOSH.Enabled {
		mux.Handle(w.BOSH.Path, metrics.CountHTTP("bosh", n.boshHandler()))
	}
	if w.API.Enabled {
		p := strings.TrimSuffix(w.API.Path, "/")
		api := n.noCoreHandler("the client REST API")
		if n.core != nil {
			api = n.clientAPIHandler()
		}
		mux.Handle(p+"/", metrics.CountHTTP("client_api", http.StripPrefix(p, api)))
	}
	return mux
}

// originAllowed reports whether a browser page from the request's Origin
// may use the web endpoints: requests without an Origin (not from a
// browser), same-origin pages and the origins of web.allowed_origins.
func (n *Node) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	allowed := n.cfg.Web.AllowedOrigins
	if slices.Contains(allowed, "*") {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
			return true
		}
	}
	return false
}

// baseURLs returns the http(s) and ws(s) base URLs of the endpoints as a
// client reaching this request would use them.
func (n *Node) baseURLs(r *http.Request) (httpBase, wsBase string) {
	base := n.cfg.Web.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	base = strings.TrimSuffix(base, "/")
	ws := "ws" + strings.TrimPrefix(base, "http")
	return base, ws
}

const (
	relWebSocket = "urn:xmpp:alt-connections:websocket"
	relBOSH      = "urn:xmpp:alt-connections:xbosh"
)

type hostMetaLink struct {
	Rel  string `json:"rel" xml:"rel,attr"`
	Href string `json:"href" xml:"href,attr"`
}

// hostMeta answers XEP-0156 connection discovery, as XRD (RFC 6415) or
// JSON (host-meta.json), listing the WebSocket and BOSH endpoints.
func (n *Node) hostMeta(w http.ResponseWriter, r *http.Request) {
	httpBase, wsBase := n.baseURLs(r)
	var links []hostMetaLink
	if c := n.cfg.Web.WebSocket; c.Enabled {
		links = append(links, hostMetaLink{relWebSocket, wsBase + c.Path})
	}
	if c := n.cfg.Web.BOSH; c.Enabled {
		links = append(links, hostMetaLink{relBOSH, httpBase + c.Path})
	}
	// XEP-0156 §3: readable from any origin, so that a web client served
	// elsewhere can discover the endpoints.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if strings.HasSuffix(r.URL.Path, ".json") {
		if links == nil {
			links = []hostMetaLink{}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"links": links})
		return
	}
	doc := struct {
		XMLName xml.Name       `xml:"http://docs.oasis-open.org/ns/xri/xrd-1.0 XRD"`
		Links   []hostMetaLink `xml:"Link"`
	}{Links: links}
	w.Header().Set("Content-Type", "application/xrd+xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	enc.Encode(doc)
}
