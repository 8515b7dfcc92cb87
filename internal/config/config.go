package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is one node's configuration. Fields carry the TOML key they are
// read from; the environment variable for a key is derived from the same
// tags (see ApplyEnv), so a new field is configurable both ways at once.
type Config struct {
	Node    Node    `toml:"node"`
	Log     Log     `toml:"log"`
	VHosts  []VHost `toml:"vhosts"` // [[vhosts]]
	TLS     TLS     `toml:"tls"`
	C2S     C2S     `toml:"c2s"`
	HTTP    HTTP    `toml:"http"`
	Web     Web     `toml:"web"`
	Admin   Admin   `toml:"admin"`
	Storage Storage `toml:"storage"`
	Auth    Auth    `toml:"auth"`
	Cluster Cluster `toml:"cluster"`
	Mesh    Mesh    `toml:"mesh"`
	Link    Link    `toml:"link"`

	// modules holds the raw [modules.<name>] tables; the module registry
	// decodes each into the module's own struct with DecodeModule.
	modules map[string]map[string]any
	// moduleEnv holds MERIDIAN_MODULES_* variables by full name; which
	// module and key they belong to is only known to DecodeModule.
	moduleEnv map[string]string
	// fromEnv maps a key ("c2s.listen", "vhosts[0].domain") to the
	// variable that set it, so that validation errors can say so.
	fromEnv map[string]string
}

// Node is the [node] section: who this process is in the mesh.
type Node struct {
	Name          string   `toml:"name"`
	DataDir       string   `toml:"data_dir"`
	Roles         []string `toml:"roles"`
	ShutdownGrace Duration `toml:"shutdown_grace"`
}

// Cluster is the [cluster] section: what the cores of a region share.
type Cluster struct {
	// Registry is the session registry's backend: "memory" (replicated
	// across the cores) or "redis".
	Registry string   `toml:"registry"`
	RedisURL string   `toml:"redis_url"`
	TTL      Duration `toml:"ttl"`     // a registry entry lapses unless refreshed within it
	Refresh  Duration `toml:"refresh"` // how often a core refreshes its sessions' entries
}

// Log is the [log] section.
type Log struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// VHost is one [[vhosts]] entry: an XMPP domain this server hosts.
type VHost struct {
	Domain string `toml:"domain"`
	// Registration allows in-band registration (XEP-0077) on this host.
	Registration bool `toml:"registration"`
	// CertFile and KeyFile are this host's certificate, overriding [tls].
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// TLS is the [tls] section: the default certificate and protocol floor.
type TLS struct {
	CertFile   string `toml:"cert_file"`
	KeyFile    string `toml:"key_file"`
	MinVersion string `toml:"min_version"`
}

// C2S is the [c2s] section: client-to-server streams.
type C2S struct {
	Listen            []string `toml:"listen"`
	DirectTLSListen   []string `toml:"direct_tls_listen"`
	RequireStartTLS   bool     `toml:"require_starttls"`
	MaxStanzaSize     int      `toml:"max_stanza_size"`
	MaxDepth          int      `toml:"max_depth"`
	HandshakeTimeout  Duration `toml:"handshake_timeout"`
	IdleTimeout       Duration `toml:"idle_timeout"`
	KeepaliveInterval Duration `toml:"keepalive_interval"`
	WriteTimeout      Duration `toml:"write_timeout"`
	SendQueue         int      `toml:"send_queue"`
	ResourceConflict  string   `toml:"resource_conflict"`
	MaxResources      int      `toml:"max_resources"`
	ResumeTimeout     Duration `toml:"resume_timeout"`
	MaxUnacked        int      `toml:"max_unacked"`
}

// HTTP is the [http] section: health, metrics and debug endpoints.
type HTTP struct {
	Listen string `toml:"listen"`
}

// Web is the [web] section: the client-facing HTTP listeners, where web
// clients connect over WebSocket (RFC 7395) or BOSH (XEP-0206), find them
// through host-meta (XEP-0156), and any client can use the REST API.
type Web struct {
	Listen         []string  `toml:"listen"`
	TLSListen      []string  `toml:"tls_listen"`
	AllowedOrigins []string  `toml:"allowed_origins"`
	PublicURL      string    `toml:"public_url"`
	WebSocket      WebSocket `toml:"websocket"`
	BOSH           BOSH      `toml:"bosh"`
	API            ClientAPI `toml:"api"`
}

// WebSocket is [web.websocket]: XMPP over WebSocket (RFC 7395).
type WebSocket struct {
	Enabled      bool     `toml:"enabled"`
	Path         string   `toml:"path"`
	PingInterval Duration `toml:"ping_interval"`
}

// BOSH is [web.bosh]: XMPP over BOSH (XEP-0124, XEP-0206).
type BOSH struct {
	Enabled     bool     `toml:"enabled"`
	Path        string   `toml:"path"`
	MaxWait     Duration `toml:"max_wait"`
	MaxHold     int      `toml:"max_hold"`
	MaxRequests int      `toml:"max_requests"`
	Inactivity  Duration `toml:"inactivity"`
	MaxPause    Duration `toml:"max_pause"`
	MaxSessions int      `toml:"max_sessions"`
}

// ClientAPI is [web.api]: the client REST API.
type ClientAPI struct {
	Enabled  bool     `toml:"enabled"`
	Path     string   `toml:"path"`
	TokenTTL Duration `toml:"token_ttl"`
}

// Admin is the [admin] section: the admin REST API on a TCP listener (the
// local admin socket is always served).
type Admin struct {
	Listen string   `toml:"listen"`
	Tokens []string `toml:"tokens"`
}

// Storage is the [storage] section: the persistent store.
type Storage struct {
	Backend  string   `toml:"backend"`
	Embedded Embedded `toml:"embedded"`
	Postgres Postgres `toml:"postgres"`
}

// Postgres is [storage.postgres]: a PostgreSQL server the cores of a
// cluster share.
type Postgres struct {
	DSN      string `toml:"dsn"`
	Schema   string `toml:"schema"`
	MaxConns int    `toml:"max_conns"`
}

// StorageOptions are the options storage.Open takes for the configured
// backend: its own section's keys.
func (c *Config) StorageOptions() map[string]any {
	switch c.Storage.Backend {
	case "postgres":
		p := c.Storage.Postgres
		return map[string]any{"dsn": p.DSN, "schema": p.Schema, "max_conns": p.MaxConns}
	default:
		return map[string]any{"path": c.Storage.Embedded.Path}
	}
}

// Embedded is [storage.embedded]: the pure-Go store in one file.
type Embedded struct {
	Path string `toml:"path"`
}

// Auth is the [auth] section: SASL.
type Auth struct {
	ScramIterations int      `toml:"scram_iterations"`
	Mechanisms      []string `toml:"mechanisms"`
}

// Mesh is the [mesh] section: membership in the cluster's Serf mesh,
// through which nodes find each other.
type Mesh struct {
	Enabled       bool     `toml:"enabled"`
	Bind          string   `toml:"bind"`
	Advertise     string   `toml:"advertise"`
	Seeds         []string `toml:"seeds"`
	Region        string   `toml:"region"`
	Secret        string   `toml:"secret"`
	ProbeInterval Duration `toml:"probe_interval"`
	ProbeTimeout  Duration `toml:"probe_timeout"`
	LoadInterval  Duration `toml:"load_interval"`
}

// Link is the [link] section: the QUIC edge link between edge-only and
// core-only nodes, and the cluster CA material that authenticates it.
type Link struct {
	// Listen is the UDP address a node with the core role serves the
	// edge link on; "" serves none.
	Listen string `toml:"listen"`
	// Cores are the link addresses an edge-only node uses when the mesh
	// is off.
	Cores []string `toml:"cores"`
	// CADir holds the automatic development CA ("": data_dir/cluster-ca);
	// CAFile, CertFile and KeyFile are operator-issued material instead.
	CADir    string `toml:"ca_dir"`
	CAFile   string `toml:"ca_file"`
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// Defaults that other code and the docs refer to.
const (
	DefaultDataDir       = "./meridian-data"
	DefaultMaxStanzaSize = 262144
	// MinStanzaSize is the floor RFC 6120 §13.12 sets: a server must
	// accept stanzas of at least 10000 bytes.
	MinStanzaSize = 10000
	// MinScramIterations is RFC 7677 §4's recommended minimum.
	MinScramIterations = 4096
	// MinDepth keeps max_depth from rejecting ordinary payloads (a PubSub
	// item carrying an Atom entry is already six levels deep).
	MinDepth = 8
	// embeddedFile is the store's file name under data_dir when
	// storage.embedded.path is empty.
	embeddedFile = "meridian.db"
)

// Allowed values of the enumerated keys, in the order the docs list them.
var (
	roles             = []string{"edge", "core"}
	backends          = []string{"embedded", "postgres"}
	logLevels         = []string{"debug", "info", "warn", "error"}
	logFormats        = []string{"text", "json"}
	tlsVersions       = []string{"1.2", "1.3"}
	resourceConflicts = []string{"replace", "refuse", "random"}
	// mechanisms is also the default preference order: channel binding
	// first, PLAIN last.
	mechanisms = []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}
)

// defaults returns every default except the vhosts, which a file or
// MERIDIAN_VHOSTS must provide.
func defaults() *Config {
	return &Config{
		Node: Node{
			Name:          hostname(),
			DataDir:       DefaultDataDir,
			Roles:         []string{"edge", "core"},
			ShutdownGrace: Duration{10 * time.Second},
		},
		Log: Log{Level: "info", Format: "text"},
		TLS: TLS{MinVersion: "1.2"},
		C2S: C2S{
			Listen:            []string{"0.0.0.0:5222"},
			DirectTLSListen:   []string{"0.0.0.0:5223"},
			RequireStartTLS:   true,
			MaxStanzaSize:     DefaultMaxStanzaSize,
			MaxDepth:          64,
			HandshakeTimeout:  Duration{60 * time.Second},
			IdleTimeout:       Duration{5 * time.Minute},
			KeepaliveInterval: Duration{60 * time.Second},
			WriteTimeout:      Duration{30 * time.Second},
			SendQueue:         1024,
			ResourceConflict:  "replace",
			ResumeTimeout:     Duration{5 * time.Minute},
			MaxUnacked:        5000,
		},
		HTTP: HTTP{Listen: "0.0.0.0:5280"},
		Web: Web{
			Listen:         []string{},
			TLSListen:      []string{"0.0.0.0:5443"},
			AllowedOrigins: []string{},
			WebSocket:      WebSocket{Enabled: true, Path: "/xmpp-websocket", PingInterval: Duration{30 * time.Second}},
			BOSH: BOSH{
				Enabled: true, Path: "/http-bind",
				MaxWait: Duration{60 * time.Second}, MaxHold: 1, MaxRequests: 2,
				Inactivity: Duration{60 * time.Second}, MaxPause: Duration{120 * time.Second},
				MaxSessions: 100000,
			},
			API: ClientAPI{Enabled: true, Path: "/api/v1", TokenTTL: Duration{24 * time.Hour}},
		},
		Admin:   Admin{Tokens: []string{}},
		Storage: Storage{Backend: "embedded"},
		Cluster: Cluster{
			Registry: "memory", RedisURL: "redis://127.0.0.1:6379/0",
			TTL: Duration{90 * time.Second}, Refresh: Duration{30 * time.Second},
		},
		Auth: Auth{
			ScramIterations: MinScramIterations,
			Mechanisms:      append([]string(nil), mechanisms...),
		},
		Mesh: Mesh{
			Bind:          "0.0.0.0:7946",
			Seeds:         []string{},
			Region:        "default",
			ProbeInterval: Duration{time.Second},
			ProbeTimeout:  Duration{500 * time.Millisecond},
			LoadInterval:  Duration{5 * time.Second},
		},
		Link: Link{Cores: []string{}},
	}
}

// hostname is node.name's default. A node must have a name for the mesh,
// so a failing os.Hostname falls back to a fixed one.
func hostname() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "meridian"
}

// Default returns the configuration of `meridian` run with no arguments:
// every default, and one virtual host, localhost, open to in-band
// registration so that a developer can create accounts.
func Default() *Config {
	c := defaults()
	c.VHosts = []VHost{{Domain: "localhost", Registration: true}}
	return c
}

// Load reads the file at path, applies the MERIDIAN_* variables of this
// process's environment and validates the result.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// The *PathError names the path.
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(data, os.Environ(), path)
}

// Parse is Load from bytes: data is the file's content and env the
// environment as KEY=VALUE strings (os.Environ's form).
func Parse(data []byte, env []string) (*Config, error) {
	return parse(data, env, "")
}

func parse(data []byte, env []string, source string) (*Config, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		if source != "" {
			return nil, fmt.Errorf("config: %s: %w", source, err)
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	c := defaults()
	var d decoder
	if m, ok := raw["modules"]; ok {
		delete(raw, "modules")
		c.modules = d.modules(m)
	}
	d.decode("", raw, reflectValue(c))
	errs := d.errs
	errs = append(errs, c.applyEnv(env)...)
	c.normalize()
	errs = append(errs, c.validate()...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// normalize puts values in the form the rest of the server compares:
// domains lower-case without a final dot (RFC 7622 §3.2).
func (c *Config) normalize() {
	for i := range c.VHosts {
		c.VHosts[i].Domain = normalizeDomain(c.VHosts[i].Domain)
	}
}

func normalizeDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

// Hosts returns the vhost domains in the order of the file.
func (c *Config) Hosts() []string {
	hosts := make([]string, len(c.VHosts))
	for i, v := range c.VHosts {
		hosts[i] = v.Domain
	}
	return hosts
}

// VHost returns the virtual host for domain, compared as a domainpart
// (case-insensitively, ignoring a final dot).
func (c *Config) VHost(domain string) (VHost, bool) {
	domain = normalizeDomain(domain)
	for _, v := range c.VHosts {
		if normalizeDomain(v.Domain) == domain {
			return v, true
		}
	}
	return VHost{}, false
}

// EmbeddedPath is the embedded store's file: storage.embedded.path, or
// meridian.db under node.data_dir when that is empty.
func (c *Config) EmbeddedPath() string {
	if c.Storage.Embedded.Path != "" {
		return c.Storage.Embedded.Path
	}
	return filepath.Join(c.Node.DataDir, embeddedFile)
}
