package config

import (
	"strings"
	"testing"
	"time"
)

func TestCluster(t *testing.T) {
	c := mustParse(t, minimal+"[cluster]\nregistry = \"redis\"\nredis_url = \"redis://10.0.0.5:6380/2\"\nttl = \"60s\"\nrefresh = \"20s\"\n")
	if c.Cluster.Registry != "redis" || c.Cluster.RedisURL != "redis://10.0.0.5:6380/2" || c.Cluster.TTL.Duration != time.Minute || c.Cluster.Refresh.Duration != 20*time.Second {
		t.Fatalf("[cluster] = %+v", c.Cluster)
	}
	c = mustParse(t, minimal, "MERIDIAN_CLUSTER_REGISTRY=redis", "MERIDIAN_CLUSTER_REDIS_URL=unix:///run/redis.sock")
	if c.Cluster.Registry != "redis" || c.Cluster.RedisURL != "unix:///run/redis.sock" {
		t.Fatalf("[cluster] from the environment = %+v", c.Cluster)
	}
	for _, tc := range []struct{ file, want string }{
		{"registry = \"etcd\"", "cluster.registry"},
		{"registry = \"redis\"\nredis_url = \"http://x:1\"", "cluster.redis_url"},
		{"registry = \"redis\"\nredis_url = \"redis://\"", "cluster.redis_url"},
		{"ttl = \"0s\"", "cluster.ttl"},
		{"refresh = \"0s\"", "cluster.refresh"},
		{"ttl = \"30s\"\nrefresh = \"20s\"", "cluster.refresh"},
	} {
		_, err := Parse([]byte(minimal+"[cluster]\n"+tc.file+"\n"), nil)
		if err == nil || !strings.Contains(err.Error(), "config: "+tc.want+":") {
			t.Errorf("%q: error %v, want one naming %s", tc.file, err, tc.want)
		}
	}
	// A memory registry does not look at the Redis URL.
	mustParse(t, minimal+"[cluster]\nredis_url = \"\"\n")
}
