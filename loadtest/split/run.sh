#!/usr/bin/env bash
# What the edge/core split adds to message latency: the same meridian-load
# chat run against an all-in-one node, then against an edge-only node in
# front of a core-only node (two processes, the QUIC link between them on
# loopback). Prints p50/p90/p99/p99.9 of both; the JSON results land in
# loadtest/split/out/. Message archiving and last activity are off (as in
# loadtest/compare): the figure is routing, not the archive's fsync.
#
#   loadtest/split/run.sh [RATE...]     default rates: 10000 50000
#
# Environment: USERS (200), DURATION (20s), ROSTER (10), PORT (16200:
# first of the ports used), SERVER_CPU (0: the CPU the node, or both
# nodes of the split, are pinned to), LOAD_CPU (1: meridian-load's; empty
# values: not pinned), SPLIT_BIN (bin/meridian).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"

USERS=${USERS:-200}
DURATION=${DURATION:-20s}
ROSTER=${ROSTER:-10}
PORT=${PORT:-16200}
SERVER_CPU=${SERVER_CPU-0}
LOAD_CPU=${LOAD_CPU-1}
server_pin=() load_pin=()
[[ -z $SERVER_CPU ]] || server_pin=(taskset -c "$SERVER_CPU")
[[ -z $LOAD_CPU ]] || load_pin=(taskset -c "$LOAD_CPU")
rates=("$@")
[[ ${#rates[@]} -gt 0 ]] || rates=(10000 50000)
out=$HERE/out
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$out"

go build -o bin/ ./cmd/meridian ./cmd/meridian-load

config() { # config NAME ROLES C2S HTTP [LINK-SECTION-LINES]
	cat <<EOF
[node]
name = "$1"
data_dir = "$work/$1"
roles = [$2]
[log]
level = "warn"
[[vhosts]]
domain = "localhost"
registration = true
[c2s]
listen = [$3]
direct_tls_listen = []
max_unacked = 100000
send_queue = 100000
[web]
listen = []
tls_listen = []
[http]
listen = "127.0.0.1:$4"
[modules.register]
rate_limit = 0
[modules.mam]
enabled = false
[modules.last]
enabled = false
[link]
ca_dir = "$work/ca"
${5:-}
EOF
}

start() { # start NAME
	"${server_pin[@]}" "${SPLIT_BIN:-bin/meridian}" --config "$work/$1.toml" >"$work/$1.log" 2>&1 &
	pids+=($!)
	echo $!
}

wait_port() {
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "split: nothing listens on $1" >&2
	exit 1
}

load() { # load NAME PORT RATE → JSON file
	local f=$out/$1-$3.json
	"${load_pin[@]}" bin/meridian-load run --server "127.0.0.1:$2" --domain localhost --scenario chat \
		--users "$USERS" --users-from ibr --roster-size "$ROSTER" --rate "$3" \
		--duration "$DURATION" --progress=false --json "$f" >"$out/$1-$3.log" 2>&1
	echo "$f"
}

summary() { # summary FILE
	python3 - "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency_ms"]
print(f'{r["messages_per_sec"]:9.0f} {l["p50"]:8.3f} {l["p90"]:8.3f} {l["p99"]:8.3f} {l["p999"]:8.3f}  errors={sum(r["errors"].values())}')
EOF
}

config all '"edge", "core"' "\"127.0.0.1:$PORT\"" $((PORT + 10)) >"$work/all.toml"
config core '"core"' "" $((PORT + 11)) "listen = \"127.0.0.1:$((PORT + 2))\"" >"$work/core.toml"
config edge '"edge"' "\"127.0.0.1:$((PORT + 1))\"" $((PORT + 12)) "cores = [\"127.0.0.1:$((PORT + 2))\"]" >"$work/edge.toml"

echo "rate mode          msgs/s   p50 ms   p90 ms   p99 ms p99.9 ms"
for rate in "${rates[@]}"; do
	start all >/dev/null
	wait_port "$PORT"
	printf '%-5s %-12s' "$rate" all-in-one
	summary "$(load all "$PORT" "$rate")"
	kill "${pids[-1]}"
	wait "${pids[-1]}" 2>/dev/null || true
	unset 'pids[-1]'

	start core >/dev/null
	sleep 1 # the core creates the development CA the edge loads
	start edge >/dev/null
	wait_port $((PORT + 1))
	sleep 1
	printf '%-5s %-12s' "$rate" edge+core
	summary "$(load split $((PORT + 1)) "$rate")"
	kill "${pids[-1]}" "${pids[-2]}"
	wait 2>/dev/null || true
	pids=()
	rm -rf "${work:?}/all" "${work:?}/core" "${work:?}/edge"
done
