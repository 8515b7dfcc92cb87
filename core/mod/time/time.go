// Package entitytime is the Entity Time module (XEP-0202), named "time" in
// the config: the server tells its UTC time and its offset from UTC. It
// must not read the clock except through its injectable now function.
package entitytime

import (
	"context"
	"time"

	"github.com/meridian-xmpp/meridian/core/module"
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// NS is the entity time namespace.
const NS = "urn:xmpp:time"

func init() {
	module.Register(module.Info{Name: "time", New: New})
}

// Module is a provisioned time module.
type Module struct {
	// now is the clock; its result's location gives the offset (tzo).
	now func() time.Time
}

// New provisions the module. It has no configuration.
func New(h module.Host, _ any) (module.Instance, error) {
	m := &Module{now: time.Now}
	h.AddFeature(module.Server, NS)
	h.HandleIQ(module.Server, NS, m.query)
	return m, nil
}

// query answers XEP-0202 §4: <tzo/> as ±hh:mm (XEP-0082 TZD, never "Z"),
// <utc/> as an XEP-0082 DateTime in UTC with milliseconds.
func (m *Module) query(_ context.Context, iq module.IQ) (*xmltok.Element, error) {
	if iq.Set {
		return nil, stanza.ErrNotAllowed
	}
	if iq.Payload.Local != "time" {
		return nil, stanza.ErrBadRequest
	}
	t := m.now()
	el := xmltok.NewElement(NS, "time")
	el.Add(xmltok.NewElement(NS, "tzo").SetText(t.Format("-07:00")))
	el.Add(xmltok.NewElement(NS, "utc").SetText(t.UTC().Format("2006-01-02T15:04:05.000Z")))
	return el, nil
}
