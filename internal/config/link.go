package config

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// HasRole reports whether node.roles lists role ("edge" or "core").
func (c *Config) HasRole(role string) bool { return slices.Contains(c.Node.Roles, role) }

// EdgeOnly reports whether the node is an edge without the core role: its
// client streams reach the cores over the edge link.
func (c *Config) EdgeOnly() bool { return c.HasRole("edge") && !c.HasRole("core") }

// CoreOnly reports whether the node is a core without the edge role: it
// serves edges over the edge link and no clients.
func (c *Config) CoreOnly() bool { return c.HasRole("core") && !c.HasRole("edge") }

// devCADir is the automatic development CA's directory under data_dir
// when link.ca_dir is empty.
const devCADir = "cluster-ca"

// LinkCADir is the directory of the automatic development CA:
// link.ca_dir, or cluster-ca under node.data_dir. It is unused when
// link.cert_file is set.
func (c *Config) LinkCADir() string {
	if c.Link.CADir != "" {
		return c.Link.CADir
	}
	return filepath.Join(c.Node.DataDir, devCADir)
}

func (v *validator) link() {
	l := v.c.Link
	if l.Listen != "" {
		if err := checkListen(l.Listen); err != nil {
			v.fail("link.listen", "%v", err)
		}
	}
	for i, a := range l.Cores {
		key := fmt.Sprintf("link.cores[%d]", i)
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			v.fail(key, "invalid address %q (want host:port)", a)
			continue
		}
		if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
			v.fail(key, "invalid port in %q", a)
		} else if host == "" || net.ParseIP(host) == nil && checkDomain(strings.ToLower(host)) != nil {
			v.fail(key, "invalid host in %q (want host:port)", a)
		} else if slices.Contains(l.Cores[:i], a) {
			v.fail(key, "%q is listed twice", a)
		}
	}
	switch {
	case v.c.EdgeOnly() && len(l.Cores) == 0 && !v.c.Mesh.Enabled:
		v.fail("link.cores", `an edge-only node (node.roles = ["edge"]) needs the cores' link addresses here, or mesh.enabled to find its region's cores`)
	case v.c.EdgeOnly() && len(l.Cores) > 0 && v.c.Mesh.Enabled:
		v.fail("link.cores", "must be empty when mesh.enabled is set: the edge takes its region's cores from the mesh")
	case !v.c.EdgeOnly() && len(l.Cores) > 0:
		v.fail("link.cores", `only an edge-only node (node.roles = ["edge"]) uses core addresses; this node has the core role`)
	}
	if v.c.CoreOnly() && l.Listen == "" {
		v.fail("link.listen", `a core-only node (node.roles = ["core"]) serves its edges on the edge link: set a UDP address, e.g. "0.0.0.0:5270"`)
	}
	// Operator-issued material comes as a set; the development CA is the
	// alternative, not a fallback.
	files := map[string]string{"link.ca_file": l.CAFile, "link.cert_file": l.CertFile, "link.key_file": l.KeyFile}
	set := 0
	for _, f := range files {
		if f != "" {
			set++
		}
	}
	if set > 0 && set < len(files) {
		for _, k := range []string{"link.ca_file", "link.cert_file", "link.key_file"} {
			if files[k] == "" {
				v.fail(k, "is required when any of link.ca_file, link.cert_file, link.key_file is set")
			}
		}
	}
	if set > 0 && l.CADir != "" {
		v.fail("link.ca_dir", "must be empty when link.cert_file is set: ca_dir is the automatic development CA")
	}
}
