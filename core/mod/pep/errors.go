package pep

import (
	"github.com/meridian-xmpp/meridian/xmpp/stanza"
	"github.com/meridian-xmpp/meridian/xmpp/xmltok"
)

// pubsubError adds a pubsub-specific condition (XEP-0060 §7.1.3 and
// others, namespace pubsub#errors) to a stanza error.
func pubsubError(e *stanza.Error, cond, text string) *stanza.Error {
	if text != "" {
		e = e.WithText(text)
	}
	return e.WithApp(xmltok.NewElement(NSErrors, cond))
}

// unsupported is feature-not-implemented with <unsupported feature=.../>.
func unsupported(feature string) *stanza.Error {
	return stanza.ErrFeatureNotImplemented.WithApp(xmltok.NewElement(NSErrors, "unsupported",
		xmltok.Attr{Name: "feature", Value: feature}))
}

// The errors of XEP-0060 this service returns.
var (
	errNodeIDRequired     = pubsubError(stanza.ErrBadRequest, "nodeid-required", "")
	errItemRequired       = pubsubError(stanza.ErrBadRequest, "item-required", "")
	errInvalidPayload     = pubsubError(stanza.ErrBadRequest, "invalid-payload", "")
	errPayloadRequired    = pubsubError(stanza.ErrBadRequest, "payload-required", "")
	errItemForbidden      = pubsubError(stanza.ErrBadRequest, "item-forbidden", "")
	errPayloadTooBig      = pubsubError(stanza.ErrNotAcceptable, "payload-too-big", "")
	errPreconditionNotMet = pubsubError(stanza.ErrConflict, "precondition-not-met", "")
	// Items of a node the requester may not see (XEP-0060 §6.5.9.6-8).
	errPresenceRequired = pubsubError(stanza.ErrNotAuthorized, "presence-subscription-required", "")
	errNotInRosterGroup = pubsubError(stanza.ErrNotAuthorized, "not-in-roster-group", "")
	errClosedNode       = pubsubError(stanza.ErrNotAllowed, "closed-node", "")
	errNotPersistent    = unsupported("persistent-items")
)
