#!/usr/bin/env bash
# Installs what the test suite needs on a Debian machine, beyond Go itself:
#   python3-slixmpp  the XMPP client tests/e2e drives the server with
#   curl             tests/e2e polls /healthz and reads /metrics
#   make             the entry point (make test)
#   redis-server     the Redis the registry tests start (make redis-test)
#   postgresql       the PostgreSQL make postgres-test and the local
#                    cluster start (scripts/postgres.sh)
#   chromium         the browser tests/web drives Converse.js in
#   nodejs, npm      tests/web's clients (playwright-core, xmpp.js); only
#                    when `node` or `npm` is missing, so that a Node.js
#                    installed another way (e.g. nodesource) is kept
# Idempotent: when everything is installed it only asks dpkg and exits;
# apt-get update runs only when a package is missing.
set -euo pipefail

packages=(python3-slixmpp curl make chromium redis-server postgresql)
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

installed() {
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
	echo "deps: installing ${missing[*]}"
	sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
		sudo=(sudo)
	fi
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The tests run Debian's interpreter, which is the one that sees the package
# (another python3 may come first in PATH).
if ! slixmpp=$(/usr/bin/python3 -c 'import slixmpp; print(slixmpp.__version__)' 2>/dev/null); then
	echo "deps: /usr/bin/python3 cannot import slixmpp although python3-slixmpp is installed" >&2
	exit 1
fi
command -v go >/dev/null || { echo "deps: go is not in PATH (Go 1.26 is needed; it is not a Debian package here)" >&2; exit 1; }
if (($(node -p 'process.versions.node.split(".")[0]') < 18)); then
	echo "deps: tests/web needs Node.js 18 or later, found $(node --version)" >&2
	exit 1
fi
echo "deps: ok (slixmpp $slixmpp, $(go env GOVERSION), node $(node --version), $(chromium --version 2>/dev/null | cut -d' ' -f1-2))"
