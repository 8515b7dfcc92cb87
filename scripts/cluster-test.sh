#!/usr/bin/env bash
# Runs the multi-process cluster test (build tag cluster): the local
# cluster of scripts/cluster.sh — Redis, three cores, two edges, each its
# own process on loopback ports picked free — driven by independent
# clients: chat and presence across edges and cores, a core killed
# mid-conversation, an edge drained. make deps installs redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
if [[ -z ${MERIDIAN_REDIS_SERVER:-} ]] && ! command -v redis-server >/dev/null; then
	echo "cluster-test: redis-server not found; run make deps (or set MERIDIAN_REDIS_SERVER)" >&2
	exit 1
fi
"$GO" test -count=1 -tags cluster -timeout 10m -v ./tests/cluster/ 2>&1 | tee /tmp/meridian-cluster-test.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)|cluster_test.go'
exit "${PIPESTATUS[0]}"
