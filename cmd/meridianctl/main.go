// Command meridianctl administers a Meridian node through its admin REST
// API: accounts, sessions, stanzas, domains, status and the mesh. It talks
// to the local node's admin socket or to --url with a bearer token; account
// commands open the node's store when no node runs.
package main

import (
	"os"

	"github.com/meridian-xmpp/meridian/internal/ctl"
)

func main() {
	os.Exit(ctl.Main("meridianctl", os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
