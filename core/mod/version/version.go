// Package version is the Software Version module (XEP-0092): the server
// tells its name, its version and, when configured, its operating system.
// It must not reveal more than the config allows.
package version

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// NS is the software version namespace.
const NS = "jabber:iq:version"

// Version is the version the server reports. It may be set at link time
// (-ldflags "-X github.com/meridian-xmpp/meridian/core/mod/version.Version=1.2.3");
// when empty, the main module's version from the build info is used, or
// "dev" for a build from a work tree.
var Version string

// Config is [modules.version].
type Config struct {
	Name   string `toml:"name"`    // software name reported (XEP-0092 <name/>)
	ShowOS bool   `toml:"show_os"` // report runtime.GOOS as <os/>
}

func init() {
	module.Register(module.Info{
		Name:   "version",
		Config: func() any { return &Config{Name: "Meridian"} },
		New:    New,
	})
}

// Module is a provisioned version module.
type Module struct {
	cfg     Config
	version string
}

// New provisions the module.
func New(h module.Host, cfg any) (module.Instance, error) {
	c := Config{Name: "Meridian"}
	if p, ok := cfg.(*Config); ok && p != nil {
		c = *p
	}
	if c.Name == "" {
		// XEP-0092 §3: <name/> is required.
		return nil, errors.New("version: modules.version.name must not be empty")
	}
	m := &Module{cfg: c, version: buildVersion()}
	h.AddFeature(module.Server, NS)
	h.HandleIQ(module.Server, NS, m.query)
	return m, nil
}

func buildVersion() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// query answers XEP-0092 §3.
func (m *Module) query(_ context.Context, iq module.IQ) (*xmltok.Element, error) {
	if iq.Set {
		return nil, stanza.ErrNotAllowed
	}
	if iq.Payload.Local != "query" {
		return nil, stanza.ErrBadRequest
	}
	q := xmltok.NewElement(NS, "query")
	q.Add(xmltok.NewElement(NS, "name").SetText(m.cfg.Name))
	q.Add(xmltok.NewElement(NS, "version").SetText(m.version))
	if m.cfg.ShowOS {
		q.Add(xmltok.NewElement(NS, "os").SetText(runtime.GOOS))
	}
	return q, nil
}
