// Command meridianctl administers a Meridian node: accounts now; later
// sessions, mesh and drain. It talks to a running node's admin socket, or
// opens the node's store when no node runs.
package main

import (
	"os"

	"github.com/meridian-xmpp/meridian/internal/ctl"
)

func main() {
	os.Exit(ctl.Main("meridianctl", os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
