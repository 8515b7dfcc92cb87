#!/usr/bin/env bash
# Runs the tests that need a real PostgreSQL (build tag postgres): the
# storage conformance suite against storage/postgres, and its own tests.
# Starts a throwaway server (scripts/postgres.sh) on a free loopback port
# in a temporary directory and removes it after. make deps installs
# Debian's postgresql.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'scripts/postgres.sh stop "$tmp/pg" || true; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
MERIDIAN_TEST_POSTGRES=$(scripts/postgres.sh start "$tmp/pg" "$port")
export MERIDIAN_TEST_POSTGRES
echo "postgres-test: $(psql "$MERIDIAN_TEST_POSTGRES" -Atc 'show server_version') on 127.0.0.1:$port"
"$GO" test -race -count=1 -tags postgres ./storage/postgres/...
