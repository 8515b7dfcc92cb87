#!/usr/bin/env bash
# Proves the comparison's server setups work, without load: each server is
# started with its configuration here (server.sh) on a free port, pinned to
# CPU 0; one account is made with the server's own tool, another registers
# in-band; both log in over STARTTLS with slixmpp and exchange a message
# (check_xmpp.py); openssl s_client shows the TLS version negotiated after
# STARTTLS; then the server is stopped and nothing of it may remain.
#
#   loadtest/compare/check.sh [meridian prosody ejabberd]
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=loadtest/compare
SERVERS=("$@")
((${#SERVERS[@]})) || SERVERS=(meridian prosody ejabberd)
export DOMAIN=${DOMAIN:-localhost}
scripts/peers.sh install >/dev/null
if [[ " ${SERVERS[*]} " == *" meridian "* ]]; then
	go build -o bin/meridian ./cmd/meridian
fi

failed=0 passed=0
WORK=$(mktemp -d /tmp/meridian-compare-check.XXXXXX)
chmod 755 "$WORK"
current=
cleanup() {
	[ -z "$current" ] || $HERE/server.sh stop "$current" || true
	if ((failed)); then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

failed=0 passed=0
for s in "${SERVERS[@]}"; do
	echo "=== $s: $($HERE/server.sh version "$s")"
	d=$WORK/$s
	port=$(free_port)
	current=$d
	pid=$($HERE/server.sh start "$s" "$d" "$port") || { failed=$((failed + 1)); exit 1; }
	$HERE/server.sh adduser "$d" alice secret-alice >/dev/null
	ok=1
	/usr/bin/python3 $HERE/check_xmpp.py --port "$port" --domain "$DOMAIN" --user alice --password secret-alice --new bob || ok=0
	# What a plain TLS client negotiates after STARTTLS.
	tls=$(timeout 10 openssl s_client -connect "127.0.0.1:$port" -starttls xmpp -xmpphost "$DOMAIN" </dev/null 2>/dev/null |
		sed -n 's/^New, \(.*\), Cipher is \(.*\)/\1 \2/p; s/^Server public key is /key /p' | tr '\n' ' ')
	echo "openssl s_client -starttls xmpp: ${tls:-no TLS}"
	[ -n "$tls" ] || ok=0
	$HERE/server.sh stop "$d"
	current=
	sleep 0.5
	if kill -0 "$pid" 2>/dev/null; then
		echo "FAIL $s: pid $pid still running after stop"
		ok=0
	fi
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "FAIL $s: port $port still open after stop"
		ok=0
	fi
	left=$(pgrep -u "$s" -f -- "$d/" 2>/dev/null || true)
	if [ "$s" != meridian ] && [ -n "$left" ]; then
		echo "FAIL $s: processes left: $left"
		ok=0
	fi
	if ((ok)); then
		echo "--- $s: ok"
		passed=$((passed + 1))
	else
		echo "--- $s: FAILED (files in $d)"
		failed=$((failed + 1))
	fi
done
echo "servers: $passed passed, $failed failed"
((failed == 0))
