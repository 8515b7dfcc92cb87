package mesh

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
)

// Config is one node's membership. Zero durations take the defaults
// below; tests shorten them.
type Config struct {
	// Name is the node's name in the mesh; unique in the cluster.
	Name string
	// Bind is the IP:port Serf listens on, TCP and UDP; port 0 picks a
	// free port (Addr reports it).
	Bind string
	// Advertise is the IP:port other members reach this node at; empty:
	// the bound address (or, bound to 0.0.0.0, a private address of the
	// host).
	Advertise string
	// Seeds are host:port addresses of members to join. None: this node
	// starts a cluster of its own and waits for others to join it.
	Seeds []string
	// Secret is the gossip encryption key (16, 24 or 32 bytes for
	// AES-128/192/256); nil sends gossip in the clear.
	Secret []byte
	// Tags are what this node announces; Tags.Load is replaced by Load's
	// value every LoadInterval.
	Tags Tags
	// Load reports this node's load; nil leaves Tags.Load unchanged.
	Load func() int
	// LoadInterval is how often Load is sampled; a changed value is
	// gossiped (default 5s).
	LoadInterval time.Duration
	// ProbeInterval and ProbeTimeout tune failure detection (memberlist's
	// LAN defaults, 1s and 500ms: a failed member is declared so within
	// a few seconds).
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	// GossipInterval is how often queued messages are gossiped
	// (memberlist's LAN default, 200ms).
	GossipInterval time.Duration
	// JoinBackoff and JoinBackoffMax bound the wait between attempts to
	// join the seeds (defaults 1s and 30s).
	JoinBackoff    time.Duration
	JoinBackoffMax time.Duration
	// LeaveTimeout bounds how long Leave waits for the leave to be
	// gossiped (default 5s).
	LeaveTimeout time.Duration
	// Logger receives the mesh's logs and Serf's, mapped to levels.
	Logger *slog.Logger
}

// Defaults of the zero Config fields.
const (
	DefaultLoadInterval   = 5 * time.Second
	DefaultJoinBackoff    = time.Second
	DefaultJoinBackoffMax = 30 * time.Second
	DefaultLeaveTimeout   = 5 * time.Second
)

// Mesh is this node's Serf agent and its view of the other members.
type Mesh struct {
	cfg    Config
	log    *slog.Logger
	serf   *serf.Serf
	events chan serf.Event
	stop   chan struct{}
	wg     sync.WaitGroup
	addr   string

	state state

	tagMu sync.Mutex // serialises tag updates
	tags  Tags

	// leaving is set when Leave starts: load updates stop, since a tag
	// update after the leave waits out the broadcast timeout and holds up
	// the leave and shutdown behind it.
	leaving atomic.Bool

	joinAttempts atomic.Int64
	joinFailures atomic.Int64

	leaveOnce sync.Once
	stopOnce  sync.Once
}

// Start binds the Serf agent, starts consuming its events and, when there
// are seeds, joins them in the background (retrying with backoff until one
// answers).
func Start(cfg Config) (*Mesh, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.LoadInterval, DefaultLoadInterval)
	def(&cfg.JoinBackoff, DefaultJoinBackoff)
	def(&cfg.JoinBackoffMax, DefaultJoinBackoffMax)
	def(&cfg.LeaveTimeout, DefaultLeaveTimeout)
	if cfg.Name == "" {
		return nil, errors.New("mesh: a node name is required")
	}
	if cfg.Load != nil {
		cfg.Tags.Load = cfg.Load()
	}
	if err := cfg.Tags.check(); err != nil {
		return nil, err
	}
	switch len(cfg.Secret) {
	case 0, 16, 24, 32:
	default:
		return nil, fmt.Errorf("mesh: the secret must be 16, 24 or 32 bytes, got %d", len(cfg.Secret))
	}
	bindIP, bindPort, err := splitIPPort(cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("mesh: bind: %w", err)
	}

	m := &Mesh{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "mesh"),
		events: make(chan serf.Event, 1024),
		stop:   make(chan struct{}),
		tags:   cfg.Tags,
	}
	m.state.init(cfg.Name, m.log)

	sc := serf.DefaultConfig()
	sc.NodeName = cfg.Name
	sc.Tags = cfg.Tags.encode()
	sc.EventCh = m.events
	sc.BroadcastTimeout = cfg.LeaveTimeout
	logger := newSerfLogger(m.log)
	sc.Logger = logger
	sc.LogOutput = nil
	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Name
	mc.BindAddr, mc.BindPort = bindIP, bindPort
	if cfg.Advertise != "" {
		ip, port, err := splitIPPort(cfg.Advertise)
		if err != nil {
			return nil, fmt.Errorf("mesh: advertise: %w", err)
		}
		mc.AdvertiseAddr, mc.AdvertisePort = ip, port
	}
	if cfg.ProbeInterval > 0 {
		mc.ProbeInterval = cfg.ProbeInterval
	}
	if cfg.ProbeTimeout > 0 {
		mc.ProbeTimeout = cfg.ProbeTimeout
	}
	if cfg.GossipInterval > 0 {
		mc.GossipInterval = cfg.GossipInterval
	}
	if len(cfg.Secret) > 0 {
		mc.SecretKey = append([]byte(nil), cfg.Secret...)
	}
	mc.Logger = logger
	mc.LogOutput = nil
	sc.MemberlistConfig = mc

	m.serf, err = serf.Create(sc)
	if err != nil {
		return nil, fmt.Errorf("mesh: start on %s: %w", cfg.Bind, err)
	}
	self := m.serf.LocalMember()
	m.addr = net.JoinHostPort(self.Addr.String(), strconv.Itoa(int(self.Port)))
	for _, mem := range m.serf.Members() {
		m.state.apply(mem, "")
	}
	m.state.notify()

	m.wg.Add(1)
	go m.drain()
	if cfg.Load != nil {
		m.wg.Add(1)
		go m.loadLoop()
	}
	if len(cfg.Seeds) > 0 {
		m.wg.Add(1)
		go m.joinLoop()
	}
	m.log.Info("mesh started", "addr", m.addr, "seeds", cfg.Seeds, "encrypted", len(cfg.Secret) > 0)
	return m, nil
}

// splitIPPort parses "IP:port"; memberlist binds and advertises IP
// addresses, not names.
func splitIPPort(a string) (string, int, error) {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return "", 0, err
	}
	if host == "" {
		host = "0.0.0.0"
	}
	if net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("%q: the host must be an IP address", a)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("%q: invalid port", a)
	}
	return host, int(p), nil
}

// Addr is the address other members reach this node at (IP:port).
func (m *Mesh) Addr() string { return m.addr }

// Name is this node's name in the mesh.
func (m *Mesh) Name() string { return m.cfg.Name }

// Leave announces a graceful departure, so that the others mark this node
// "left" rather than "failed", then stops the agent. It is idempotent,
// and waits at most LeaveTimeout for the announcement to spread.
func (m *Mesh) Leave() error {
	var err error
	m.leaveOnce.Do(func() {
		m.leaving.Store(true)
		m.log.Info("mesh: leaving")
		err = m.serf.Leave()
	})
	if sErr := m.Shutdown(); err == nil {
		err = sErr
	}
	return err
}

// Shutdown stops the agent without leaving: the others see this node fail.
// Leave is the graceful way. It is idempotent.
func (m *Mesh) Shutdown() error {
	var err error
	m.stopOnce.Do(func() {
		err = m.serf.Shutdown()
		close(m.stop)
		m.wg.Wait()
		m.state.closeSubscribers()
	})
	return err
}
