#!/usr/bin/env bash
# Runs the tests that need a real Redis (build tag redis): the session
# registry's conformance suite, its restart and outage tests, with the race
# detector. The tests start their own redis-server processes, each on a free
# 127.0.0.1 port without persistence, restart them where the test needs it,
# and stop them at the end; this script only checks that the server is
# installed (make deps installs Debian's redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
bin=${MERIDIAN_REDIS_SERVER:-$(command -v redis-server || true)}
if [[ -z $bin ]]; then
	echo "redis-test: redis-server not found; run make deps (or set MERIDIAN_REDIS_SERVER)" >&2
	exit 1
fi
export MERIDIAN_REDIS_SERVER=$bin
echo "redis-test: $("$bin" --version | cut -d' ' -f1-3)"
"$GO" test -race -count=1 -tags redis ./core/registry/...
