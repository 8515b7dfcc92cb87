#!/usr/bin/env bash
# Side-by-side comparison of Meridian, Prosody and ejabberd on this machine:
# each server pinned to CPU 0, meridian-load pinned to CPU 1, the same
# scenarios for all three in one run. Results go to $OUT (JSON per run) and
# table.py writes the table into docs/benchmarks.md.
#
#   loadtest/compare/run.sh [meridian prosody ejabberd]
#
# Sizes (env): LOGIN_USERS (1000), IDLE_USERS (3000), CHAT_USERS (200),
# ROSTER (10), RATES ("500 1000 2000 3000 5000 10000 ... 80000"), STEP (10s).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LOGIN_USERS=${LOGIN_USERS:-1000}
IDLE_USERS=${IDLE_USERS:-3000}
CHAT_USERS=${CHAT_USERS:-200}
ROSTER=${ROSTER:-10}
RATES=${RATES:-"500 1000 2000 3000 5000 10000 20000 30000 40000 60000 80000"}
STEP=${STEP:-10s}
OUT=${OUT:-$ROOT/artifacts/compare}
SERVERS=("${@:-meridian prosody ejabberd}")
read -r -a SERVERS <<<"${SERVERS[*]}"
mkdir -p "$OUT" bin
scripts/peers.sh install >/dev/null
go build -o bin/meridian ./cmd/meridian
go build -o bin/meridian-load ./cmd/meridian-load

WORK=$(mktemp -d /tmp/meridian-compare.XXXXXX)
chmod 755 "$WORK"
PID=
cleanup() {
	stop_server || true
	rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)

certs() { # $1 dir, $2 owner
	mkdir -p "$1/certs"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
		-addext subjectAltName=DNS:localhost -keyout "$1/certs/localhost.key" -out "$1/certs/localhost.crt" 2>/dev/null
	cat "$1/certs/localhost.crt" "$1/certs/localhost.key" >"$1/certs/localhost.pem"
	chown -R "$2" "$1"
}

wait_port() {
	for _ in $(seq 1 150); do
		if (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then return 0; fi
		sleep 0.2
	done
	echo "server did not open port $PORT" >&2
	return 1
}

start_meridian() {
	local d=$WORK/meridian
	mkdir -p "$d"
	MERIDIAN_NODE_DATA_DIR=$d MERIDIAN_C2S_LISTEN=127.0.0.1:$PORT MERIDIAN_C2S_DIRECT_TLS_LISTEN= \
		MERIDIAN_HTTP_LISTEN= MERIDIAN_MODULES_REGISTER_RATE_LIMIT=0 MERIDIAN_LOG_LEVEL=warn \
		bash -c "ulimit -n 65536 2>/dev/null || ulimit -n $(ulimit -Hn); exec taskset -c 0 '$ROOT/bin/meridian'" >"$d/log" 2>&1 &
	PID=$!
	wait_port
}

start_prosody() {
	local d=$WORK/prosody
	mkdir -p "$d/data"
	sed -e "s|@DIR@|$d|g" -e "s|@PORT@|$PORT|g" loadtest/compare/prosody.cfg.lua.in >"$d/prosody.cfg.lua"
	certs "$d" prosody:prosody
	# runuser resets the soft open-file limit: raise it as the user.
	taskset -c 0 runuser -u prosody -- bash -c "ulimit -n \$(ulimit -Hn); exec prosody --config '$d/prosody.cfg.lua'" >"$d/stdout" 2>&1 &
	wait_port
	PID=$(cat "$d/prosody.pid")
}

start_ejabberd() {
	local d=$WORK/ejabberd
	mkdir -p "$d/spool" "$d/logs"
	sed -e "s|@DIR@|$d|g" -e "s|@PORT@|$PORT|g" loadtest/compare/ejabberd.yml.in >"$d/ejabberd.yml"
	sed -e "s|^EJABBERD_CONFIG_PATH=.*|EJABBERD_CONFIG_PATH=$d/ejabberd.yml|" \
		-e "s|^EJABBERD_PID_PATH=.*|EJABBERD_PID_PATH=$d/ejabberd.pid|" /etc/ejabberd/ejabberdctl.cfg >"$d/ejabberdctl.cfg"
	echo "ERLANG_NODE=ejabberd-compare@localhost" >>"$d/ejabberdctl.cfg"
	certs "$d" ejabberd:ejabberd
	EJ="runuser -u ejabberd -- ejabberdctl --ctl-config $d/ejabberdctl.cfg --spool $d/spool --logs $d/logs"
	taskset -c 0 runuser -u ejabberd -- bash -c "ulimit -n \$(ulimit -Hn); exec ejabberdctl --ctl-config $d/ejabberdctl.cfg --spool $d/spool --logs $d/logs start"
	$EJ started
	wait_port
	PID=$(pgrep -f "beam.*ejabberd-compare" | head -1)
}

stop_server() {
	case "${CURRENT:-}" in
	ejabberd)
		$EJ stop >/dev/null 2>&1 || true
		$EJ stopped >/dev/null 2>&1 || true
		pkill -f "epmd.*" -u ejabberd 2>/dev/null || true
		;;
	*)
		[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
		;;
	esac
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
	PID=
	CURRENT=
}

load() { # name, args...
	local name=$1
	shift
	echo "--- $CURRENT $name" >&2
	sleep 3 # let the previous phase's connections close
	taskset -c 1 bin/meridian-load run --server 127.0.0.1:"$PORT" --domain localhost --password secret \
		--progress=false --json "$OUT/$CURRENT-$name.json" "$@" || echo "$CURRENT $name failed" >&2
}

for s in "${SERVERS[@]}"; do
	CURRENT=$s
	echo "=== $s" >&2
	"start_$s"
	# Accounts: registered in-band (same path for every server), then a
	# fresh start so that memory is measured from a clean process.
	load provision --scenario login --users "$IDLE_USERS" --users-from ibr --concurrency 32 --sources 127.0.0.2-127.0.0.254
	stop_server
	CURRENT=$s
	"start_$s"
	sleep 2
	load idle --scenario idle --users "$IDLE_USERS" --duration 5s --connect-rate 500 --server-pid "$PID" --sources 127.0.0.2-127.0.0.254
	load login --scenario login --users "$LOGIN_USERS" --users-from existing --concurrency 64 --sources 127.0.0.2-127.0.0.254
	for r in $RATES; do
		load "chat-$r" --scenario chat --users "$CHAT_USERS" --roster-size "$ROSTER" --rate "$r" --duration "$STEP" --server-pid "$PID"
		p99=$(python3 -c "import json,sys; r=json.load(open('$OUT/$s-chat-$r.json')); ok=r['messages_received']>=0.95*r['messages_sent'] and r['latency_ms']['p99']<50; print('ok' if ok else 'stop')" 2>/dev/null || echo stop)
		[ "$p99" = ok ] || break
	done
	stop_server
done
python3 loadtest/compare/table.py "$OUT" docs/benchmarks.md
