// Package storage opens the persistent store a node is configured with. It
// owns the registry of backends and the set of per-module stores a backend
// provides; the interfaces themselves belong to the modules that use them
// (core/auth, core/userdata, core/mod/roster, ...). It must not hold business logic.
package storage

import (
	"fmt"
	"sort"
	"sync"

	"github.com/meridian-xmpp/meridian/core/auth"
	"github.com/meridian-xmpp/meridian/core/mod/last"
	"github.com/meridian-xmpp/meridian/core/mod/mam"
	"github.com/meridian-xmpp/meridian/core/mod/offline"
	"github.com/meridian-xmpp/meridian/core/mod/pep"
	"github.com/meridian-xmpp/meridian/core/mod/roster"
	"github.com/meridian-xmpp/meridian/core/userdata"
)

// Stores is what one backend provides: a store for each kind of
// persistent data.
type Stores struct {
	Accounts auth.Store
	Roster   roster.Store
	Last     last.Store
	Offline  offline.Store
	// UserData is the per-user keyed blob store of vcard, private and
	// blocking.
	UserData userdata.Store
	PubSub   pep.Store // PEP nodes and items (XEP-0163)
	Archive  mam.Store // message archives (XEP-0313)
	// Close releases the backend.
	Close func() error
}

// Opener opens a backend. dataDir is the node's data directory; options are
// the backend's own settings from the config.
type Opener func(dataDir string, options map[string]any) (*Stores, error)

var (
	mu       sync.Mutex
	backends = map[string]Opener{}
)

// Register makes a backend available by name. It panics on a duplicate
// name, as registration happens in init functions.
func Register(name string, open Opener) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := backends[name]; dup {
		panic("storage: backend registered twice: " + name)
	}
	backends[name] = open
}

// Open opens the named backend.
func Open(name, dataDir string, options map[string]any) (*Stores, error) {
	mu.Lock()
	open, ok := backends[name]
	mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("storage: unknown backend %q (have %v)", name, Names())
	}
	return open(dataDir, options)
}

// Names lists the registered backends.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	var out []string
	for n := range backends {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
