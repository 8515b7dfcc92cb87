package pep

import (
	"errors"
	"slices"
	"strconv"

	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// Node access models (XEP-0060 §4.5). "authorize" is not offered: a PEP
// service has no subscription approval.
const (
	AccessOpen      = "open"
	AccessPresence  = "presence"
	AccessRoster    = "roster"
	AccessWhitelist = "whitelist"
)

// Values of pubsub#send_last_published_item. A PEP subscription comes
// from presence, so on_sub sends nothing: no subscription is ever
// "processed" (XEP-0163 §4.3.4 asks for on_sub_and_presence).
const (
	SendNever            = "never"
	SendOnSub            = "on_sub"
	SendOnSubAndPresence = "on_sub_and_presence"
)

// MaxItemsMax is NodeConfig.MaxItems of a node configured with
// pubsub#max_items 'max': the service's limit, whatever it is when an
// item is published.
const MaxItemsMax = -1

// NodeConfig is a node's configuration: the pubsub#node_config fields
// (XEP-0060 §16.4.4) this service implements.
type NodeConfig struct {
	AccessModel          string   // pubsub#access_model
	RosterGroups         []string // pubsub#roster_groups_allowed (access model roster)
	PersistItems         bool     // pubsub#persist_items: false keeps no item at all
	MaxItems             int      // pubsub#max_items: 1 or more, or MaxItemsMax
	SendLastPublished    string   // pubsub#send_last_published_item
	DeliverNotifications bool     // pubsub#deliver_notifications
	DeliverPayloads      bool     // pubsub#deliver_payloads
	NotifyConfig         bool     // pubsub#notify_config
	NotifyDelete         bool     // pubsub#notify_delete
	NotifyRetract        bool     // pubsub#notify_retract (also governs purge)
	NotificationType     string   // pubsub#notification_type: headline or normal
	Title                string   // pubsub#title
	Description          string   // pubsub#description
	Type                 string   // pubsub#type: the payload namespace
}

// DefaultConfig is the configuration of a node created without options
// (XEP-0163 §5: presence access, last item on presence, payloads
// delivered; a single item, as other PEP services keep).
func DefaultConfig() NodeConfig {
	return NodeConfig{
		AccessModel:          AccessPresence,
		PersistItems:         true,
		MaxItems:             1,
		SendLastPublished:    SendOnSubAndPresence,
		DeliverNotifications: true,
		DeliverPayloads:      true,
		NotifyDelete:         true,
		NotificationType:     "headline",
	}
}

// effectiveMax is MaxItems with 'max' resolved against limit.
func (c NodeConfig) effectiveMax(limit int) int {
	if c.MaxItems == MaxItemsMax {
		return limit
	}
	return c.MaxItems
}

// Data forms namespaces and FORM_TYPEs.
const (
	NSData           = stanza.NSData
	FormNodeConfig   = "http://jabber.org/protocol/pubsub#node_config"
	FormPublishOpts  = "http://jabber.org/protocol/pubsub#publish-options"
	FormMetaData     = "http://jabber.org/protocol/pubsub#meta-data"
	fieldPrefix      = "pubsub#"
	maxFormValueSize = 1024
	maxRosterGroups  = 100
)

// Why a field value is refused: errBadValue is not a valid value of the
// field at all (bad-request), errUnsupported a valid one this service
// does not offer (not-acceptable, or an unmet precondition).
var (
	errBadValue    = errors.New("invalid value")
	errUnsupported = errors.New("unsupported value")
)

// configField is one pubsub#node_config field.
type configField struct {
	name    string // var without the pubsub# prefix
	typ     string // data form field type
	label   string
	options []string
	// get renders the field's value(s); set parses submitted values into c.
	get func(c *NodeConfig) []string
	set func(c *NodeConfig, v []string, limit int) error
	// norm is the value compared by a precondition (get when nil).
	norm func(c *NodeConfig, limit int) []string
}

var configFields = []configField{
	{name: "access_model", typ: "list-single", label: "Who may subscribe and retrieve items",
		options: []string{AccessOpen, AccessPresence, AccessRoster, AccessWhitelist},
		get:     func(c *NodeConfig) []string { return []string{c.AccessModel} },
		set: func(c *NodeConfig, v []string, _ int) error {
			s, err := single(v)
			switch {
			case err != nil:
				return err
			case s == AccessOpen || s == AccessPresence || s == AccessRoster || s == AccessWhitelist:
				c.AccessModel = s
				return nil
			case s == "authorize":
				return errUnsupported
			}
			return errBadValue
		}},
	{name: "roster_groups_allowed", typ: "list-multi", label: "The roster group(s) allowed to subscribe and retrieve items",
		get: func(c *NodeConfig) []string { return c.RosterGroups },
		set: func(c *NodeConfig, v []string, _ int) error {
			if len(v) > maxRosterGroups {
				return errUnsupported
			}
			var groups []string
			for _, g := range v {
				if g == "" {
					return errBadValue
				}
				if !slices.Contains(groups, g) {
					groups = append(groups, g)
				}
			}
			c.RosterGroups = groups
			return nil
		},
		norm: func(c *NodeConfig, _ int) []string { return slices.Sorted(slices.Values(c.RosterGroups)) }},
	boolField("persist_items", "Persist items to storage", func(c *NodeConfig) *bool { return &c.PersistItems }),
	{name: "max_items", typ: "text-single", label: "Max # of items to persist ('max' for the service limit)",
		get: func(c *NodeConfig) []string {
			if c.MaxItems == MaxItemsMax {
				return []string{"max"}
			}
			return []string{strconv.Itoa(c.MaxItems)}
		},
		set: func(c *NodeConfig, v []string, limit int) error {
			s, err := single(v)
			if err != nil {
				return err
			}
			if s == "max" {
				c.MaxItems = MaxItemsMax
				return nil
			}
			n, err := strconv.Atoi(s)
			switch {
			case err != nil || n < 0:
				return errBadValue
			case n == 0 || n > limit:
				return errUnsupported
			}
			c.MaxItems = n
			return nil
		},
		norm: func(c *NodeConfig, limit int) []string { return []string{strconv.Itoa(c.effectiveMax(limit))} }},
	{name: "send_last_published_item", typ: "list-single", label: "When to send the last published item",
		options: []string{SendNever, SendOnSub, SendOnSubAndPresence},
		get:     func(c *NodeConfig) []string { return []string{c.SendLastPublished} },
		set: func(c *NodeConfig, v []string, _ int) error {
			s, err := single(v)
			if err != nil {
				return err
			}
			if s != SendNever && s != SendOnSub && s != SendOnSubAndPresence {
				return errBadValue
			}
			c.SendLastPublished = s
			return nil
		}},
	boolField("deliver_notifications", "Deliver event notifications", func(c *NodeConfig) *bool { return &c.DeliverNotifications }),
	boolField("deliver_payloads", "Deliver payloads with event notifications", func(c *NodeConfig) *bool { return &c.DeliverPayloads }),
	boolField("notify_config", "Notify subscribers when the node configuration changes", func(c *NodeConfig) *bool { return &c.NotifyConfig }),
	boolField("notify_delete", "Notify subscribers when the node is deleted", func(c *NodeConfig) *bool { return &c.NotifyDelete }),
	boolField("notify_retract", "Notify subscribers when items are removed from the node", func(c *NodeConfig) *bool { return &c.NotifyRetract }),
	{name: "notification_type", typ: "list-single", label: "Message type of event notifications",
		options: []string{"headline", "normal"},
		get:     func(c *NodeConfig) []string { return []string{c.NotificationType} },
		set: func(c *NodeConfig, v []string, _ int) error {
			s, err := single(v)
			if err != nil {
				return err
			}
			if s != "headline" && s != "normal" {
				return errBadValue
			}
			c.NotificationType = s
			return nil
		}},
	{name: "publish_model", typ: "list-single", label: "The publisher model",
		options: []string{"publishers"},
		// Only the owner publishes to a PEP node (XEP-0163 §2.2).
		get: func(*NodeConfig) []string { return []string{"publishers"} },
		set: func(_ *NodeConfig, v []string, _ int) error {
			s, err := single(v)
			switch {
			case err != nil:
				return err
			case s == "publishers":
				return nil
			case s == "subscribers" || s == "open":
				return errUnsupported
			}
			return errBadValue
		}},
	textField("title", "A friendly name for the node", func(c *NodeConfig) *string { return &c.Title }),
	textField("description", "A description of the node", func(c *NodeConfig) *string { return &c.Description }),
	textField("type", "The type of node data, usually specified by the namespace of the payload", func(c *NodeConfig) *string { return &c.Type }),
}

func boolField(name, label string, p func(*NodeConfig) *bool) configField {
	return configField{name: name, typ: "boolean", label: label,
		get: func(c *NodeConfig) []string {
			if *p(c) {
				return []string{"1"}
			}
			return []string{"0"}
		},
		set: func(c *NodeConfig, v []string, _ int) error {
			s, err := single(v)
			if err != nil {
				return err
			}
			// XEP-0004 §3.3: boolean is 0, 1, false or true.
			switch s {
			case "1", "true":
				*p(c) = true
			case "0", "false":
				*p(c) = false
			default:
				return errBadValue
			}
			return nil
		}}
}

func textField(name, label string, p func(*NodeConfig) *string) configField {
	return configField{name: name, typ: "text-single", label: label,
		get: func(c *NodeConfig) []string { return []string{*p(c)} },
		set: func(c *NodeConfig, v []string, _ int) error {
			switch len(v) {
			case 0:
				*p(c) = ""
			case 1:
				*p(c) = v[0]
			default:
				return errBadValue
			}
			return nil
		}}
}

// single is the one value of a single-valued field (XEP-0004 §3.3).
func single(v []string) (string, error) {
	if len(v) != 1 {
		return "", errBadValue
	}
	return v[0], nil
}

func lookupField(v string) *configField {
	if len(v) <= len(fieldPrefix) || v[:len(fieldPrefix)] != fieldPrefix {
		return nil
	}
	name := v[len(fieldPrefix):]
	for i := range configFields {
		if configFields[i].name == name {
			return &configFields[i]
		}
	}
	return nil
}

// form is a parsed data form (XEP-0004).
type form struct {
	typ      string
	formType string
	fields   []formField // FORM_TYPE excluded, in document order
}

type formField struct {
	name   string
	values []string
}

// parseForm reads a jabber:x:data form. Duplicate fields, several
// FORM_TYPE values and oversized values make it malformed.
func parseForm(x *xmltok.Element) (form, error) {
	f := form{typ: x.Attr("type")}
	seen := map[string]bool{}
	for _, fe := range x.ChildrenNamed(NSData, "field") {
		name := fe.Attr("var")
		if name == "" || seen[name] {
			return form{}, errBadValue
		}
		seen[name] = true
		var values []string
		for _, v := range fe.ChildrenNamed(NSData, "value") {
			if len(v.Text) > maxFormValueSize {
				return form{}, errBadValue
			}
			values = append(values, v.Text)
		}
		if name == "FORM_TYPE" {
			if len(values) != 1 {
				return form{}, errBadValue
			}
			f.formType = values[0]
			continue
		}
		f.fields = append(f.fields, formField{name: name, values: values})
	}
	return f, nil
}

// applyForm sets each field of f in c. It returns the first field that
// is unknown (errUnknownField) or whose value is refused.
func applyForm(c *NodeConfig, f form, limit int) (string, error) {
	for _, ff := range f.fields {
		cf := lookupField(ff.name)
		if cf == nil {
			return ff.name, errUnknownField
		}
		if err := cf.set(c, ff.values, limit); err != nil {
			return ff.name, err
		}
	}
	return "", nil
}

var errUnknownField = errors.New("unknown field")

// preconditionsMet reports whether each field of f (already checked by
// applyForm) holds the value c has (XEP-0060 §7.1.5).
func preconditionsMet(c NodeConfig, f form, limit int) (string, bool) {
	for _, ff := range f.fields {
		cf := lookupField(ff.name)
		want := c
		want.RosterGroups = slices.Clone(c.RosterGroups)
		if cf.set(&want, ff.values, limit) != nil {
			return ff.name, false
		}
		norm := cf.norm
		if norm == nil {
			norm = func(c *NodeConfig, _ int) []string { return cf.get(c) }
		}
		if !slices.Equal(norm(&want, limit), norm(&c, limit)) {
			return ff.name, false
		}
	}
	return "", true
}

// configForm renders c as a data form of type typ ("form" to fill in,
// "result" in notifications). groups are the owner's roster groups,
// offered as options of pubsub#roster_groups_allowed.
func configForm(c NodeConfig, typ string, groups []string) *xmltok.Element {
	x := xmltok.NewElement(NSData, "x", xmltok.Attr{Name: "type", Value: typ})
	x.Add(hiddenFormType(FormNodeConfig))
	for _, cf := range configFields {
		fe := xmltok.NewElement(NSData, "field",
			xmltok.Attr{Name: "var", Value: fieldPrefix + cf.name},
			xmltok.Attr{Name: "type", Value: cf.typ})
		if typ == "form" {
			fe.SetAttr("label", cf.label)
			options := cf.options
			if cf.name == "roster_groups_allowed" {
				options = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(groups), c.RosterGroups...))))
			}
			for _, o := range options {
				fe.Add(xmltok.NewElement(NSData, "option").Add(xmltok.NewElement(NSData, "value").SetText(o)))
			}
		}
		for _, v := range cf.get(&c) {
			fe.Add(xmltok.NewElement(NSData, "value").SetText(v))
		}
		x.Add(fe)
	}
	return x
}

func hiddenFormType(ft string) *xmltok.Element {
	return xmltok.NewElement(NSData, "field",
		xmltok.Attr{Name: "var", Value: "FORM_TYPE"},
		xmltok.Attr{Name: "type", Value: "hidden"}).
		Add(xmltok.NewElement(NSData, "value").SetText(ft))
}
