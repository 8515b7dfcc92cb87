package config

import (
	"bytes"
	"strings"
	"testing"
)

// TestMeshErrors: every bad [mesh] value fails naming its key.
func TestMeshErrors(t *testing.T) {
	for _, tc := range []struct {
		name, mesh string
		env        []string
		want       string
	}{
		{"bind without port", `bind = "0.0.0.0"`, nil, `config: mesh.bind: invalid address "0.0.0.0" (want IP:port)`},
		{"bind to a name", `bind = "localhost:7946"`, nil, `config: mesh.bind: "localhost:7946": the host must be an IP address`},
		{"bind port", `bind = "127.0.0.1:70000"`, nil, `config: mesh.bind: invalid port in "127.0.0.1:70000"`},
		{"advertise port 0", `advertise = "10.0.0.1:0"`, nil, `config: mesh.advertise: invalid port in "10.0.0.1:0"`},
		{"advertise without host", `advertise = ":7946"`, nil, `config: mesh.advertise: ":7946": the host is required`},
		{"seed host", `seeds = ["bad_host:7946"]`, nil, `config: mesh.seeds[0]: invalid host in "bad_host:7946"`},
		{"seed port", `seeds = ["10.0.0.1:x"]`, nil, `config: mesh.seeds[0]: invalid port in "10.0.0.1:x"`},
		{"seed twice", `seeds = ["a.example:7946", "a.example:7946"]`, nil, `config: mesh.seeds[1]: "a.example:7946" is listed twice`},
		{"seeds from env", ``, []string{"MERIDIAN_MESH_SEEDS=10.0.0.1:7946,:7946"}, `config: mesh.seeds[1]: invalid host in ":7946" (want host:port) (set by MERIDIAN_MESH_SEEDS)`},
		{"region case", `region = "EU"`, nil, `config: mesh.region: invalid region "EU"`},
		{"region empty", `region = ""`, nil, `config: mesh.region: invalid region ""`},
		{"secret not base64", `secret = "not base64!"`, nil, `config: mesh.secret: is not base64`},
		{"secret length", `secret = "c2hvcnQ="`, nil, `config: mesh.secret: must decode to 16, 24 or 32 bytes (AES-128, -192 or -256), got 5`},
		{"probe interval", `probe_interval = "0s"`, nil, `config: mesh.probe_interval: must be greater than 0`},
		{"probe timeout", `probe_timeout = "2s"`, nil, `config: mesh.probe_timeout: must be shorter than mesh.probe_interval (1s), got 2s`},
		{"load interval", `load_interval = "100ms"`, nil, `config: mesh.load_interval: must be at least 1s`},
		{"unknown key", `seed = ["a:1"]`, nil, `config: unknown key "mesh.seed"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(minimal+"[mesh]\n"+tc.mesh+"\n"), tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %q", err, tc.want)
			}
		})
	}
}

func TestMeshGood(t *testing.T) {
	c, err := Parse([]byte(minimal+`[mesh]
enabled = true
bind = "127.0.0.1:0"
advertise = "[2001:db8::1]:7946"
seeds = ["10.0.0.1:7946", "seed.example.com", "[::1]:7000"]
region = "eu-west-1"
secret = "AAECAwQFBgcICQoLDA0ODw=="
probe_interval = "200ms"
probe_timeout = "100ms"
load_interval = "1s"
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Mesh.Enabled || len(c.Mesh.Seeds) != 3 || c.Mesh.Region != "eu-west-1" {
		t.Fatalf("%+v", c.Mesh)
	}
	if k := c.MeshSecret(); !bytes.Equal(k, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}) {
		t.Fatalf("MeshSecret() = %x", k)
	}
	if Default().MeshSecret() != nil {
		t.Fatal("the default has a secret")
	}
	if d := Default().Mesh; d.Enabled || d.Bind != "0.0.0.0:7946" || d.Region != "default" {
		t.Fatalf("defaults: %+v", d)
	}
}
