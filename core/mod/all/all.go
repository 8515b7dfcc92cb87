// Package all enables every module under core/mod by importing it for its
// registration, so that the wiring in cmd/ imports one package. It must
// hold nothing else; a new module adds its import line here.
package all

import (
	_ "github.com/meridian-xmpp/meridian/core/mod/blocking"
	_ "github.com/meridian-xmpp/meridian/core/mod/bookmarks"
	_ "github.com/meridian-xmpp/meridian/core/mod/carbons"
	_ "github.com/meridian-xmpp/meridian/core/mod/contactaddresses"
	_ "github.com/meridian-xmpp/meridian/core/mod/disco"
	_ "github.com/meridian-xmpp/meridian/core/mod/eventpusher"
	_ "github.com/meridian-xmpp/meridian/core/mod/last"
	_ "github.com/meridian-xmpp/meridian/core/mod/mam"
	_ "github.com/meridian-xmpp/meridian/core/mod/offline"
	_ "github.com/meridian-xmpp/meridian/core/mod/pep"
	_ "github.com/meridian-xmpp/meridian/core/mod/ping"
	_ "github.com/meridian-xmpp/meridian/core/mod/private"
	_ "github.com/meridian-xmpp/meridian/core/mod/register"
	_ "github.com/meridian-xmpp/meridian/core/mod/roster"
	_ "github.com/meridian-xmpp/meridian/core/mod/time"
	_ "github.com/meridian-xmpp/meridian/core/mod/vcard"
	_ "github.com/meridian-xmpp/meridian/core/mod/version"
)
