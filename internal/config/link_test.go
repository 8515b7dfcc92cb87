package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestLinkErrors: every bad [link] value, and every role without what it
// needs, fails naming its key.
func TestLinkErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       string
	}{
		{"edge without cores", "[node]\nroles = [\"edge\"]\n", `config: link.cores: an edge-only node (node.roles = ["edge"]) needs the cores' link addresses here, or mesh.enabled`},
		{"edge with cores and mesh", "[node]\nroles = [\"edge\"]\n[mesh]\nenabled = true\n[link]\ncores = [\"10.0.0.1:5270\"]\n", `config: link.cores: must be empty when mesh.enabled is set`},
		{"cores on a core", "[link]\ncores = [\"10.0.0.1:5270\"]\n", `config: link.cores: only an edge-only node`},
		{"core without listen", "[node]\nroles = [\"core\"]\n", `config: link.listen: a core-only node (node.roles = ["core"]) serves its edges on the edge link`},
		{"listen", "[link]\nlisten = \"0.0.0.0\"\n", `config: link.listen: invalid listen address "0.0.0.0"`},
		{"core address", "[node]\nroles = [\"edge\"]\n[link]\ncores = [\"10.0.0.1\"]\n", `config: link.cores[0]: invalid address "10.0.0.1" (want host:port)`},
		{"core port", "[node]\nroles = [\"edge\"]\n[link]\ncores = [\"10.0.0.1:0\"]\n", `config: link.cores[0]: invalid port in "10.0.0.1:0"`},
		{"core host", "[node]\nroles = [\"edge\"]\n[link]\ncores = [\"bad_host:5270\"]\n", `config: link.cores[0]: invalid host in "bad_host:5270"`},
		{"core twice", "[node]\nroles = [\"edge\"]\n[link]\ncores = [\"a.example:5270\", \"a.example:5270\"]\n", `config: link.cores[1]: "a.example:5270" is listed twice`},
		{"cert without key", "[link]\nca_file = \"ca.crt\"\ncert_file = \"n.crt\"\n", `config: link.key_file: is required when any of link.ca_file, link.cert_file, link.key_file is set`},
		{"key without ca", "[link]\ncert_file = \"n.crt\"\nkey_file = \"n.key\"\n", `config: link.ca_file: is required`},
		{"ca_dir with files", "[link]\nca_dir = \"/tmp/ca\"\nca_file = \"ca.crt\"\ncert_file = \"n.crt\"\nkey_file = \"n.key\"\n", `config: link.ca_dir: must be empty when link.cert_file is set`},
		{"unknown key", "[link]\ncore = [\"a:1\"]\n", `config: unknown key "link.core"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal+tc.file), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %q", err, tc.want)
			}
		})
	}
}

func TestLinkGood(t *testing.T) {
	for _, tc := range []struct{ name, file string }{
		{"all-in-one", ""},
		{"all-in-one serving the link", "[link]\nlisten = \"0.0.0.0:5270\"\n"},
		{"core", "[node]\nroles = [\"core\"]\n[link]\nlisten = \"127.0.0.1:0\"\nca_file = \"ca.crt\"\ncert_file = \"n.crt\"\nkey_file = \"n.key\"\n"},
		{"edge with cores", "[node]\nroles = [\"edge\"]\n[link]\ncores = [\"10.0.0.1:5270\", \"core-2.example:5270\", \"[::1]:5270\"]\nca_dir = \"/tmp/ca\"\n"},
		{"edge with the mesh", "[node]\nroles = [\"edge\"]\n[mesh]\nenabled = true\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(minimal+tc.file), nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	c, err := Parse([]byte(minimal+"[node]\ndata_dir = \"/var/lib/m\"\nroles = [\"edge\"]\n"), []string{"MERIDIAN_LINK_CORES=10.0.0.1:5270,10.0.0.2:5270"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.EdgeOnly() || c.CoreOnly() || len(c.Link.Cores) != 2 || c.LinkCADir() != filepath.Join("/var/lib/m", "cluster-ca") {
		t.Fatalf("%+v, ca dir %s", c.Link, c.LinkCADir())
	}
	if d := Default(); d.EdgeOnly() || d.CoreOnly() || d.Link.Listen != "" {
		t.Fatalf("defaults: %+v", d.Link)
	}
}
