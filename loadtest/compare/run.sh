#!/usr/bin/env bash
# Meridian, Prosody and ejabberd side by side on this machine, same run,
# same scenarios: each server pinned to one CPU (SERVER_CPU), meridian-load
# pinned to the other (LOAD_CPU). Three measurements per server:
#
#   memory   IDLE_USERS users log in over STARTTLS and stay idle; resident
#            memory per session = (RSS after IDLE_HOLD of idleness - RSS of
#            the freshly started server) / sessions
#   logins   a login storm of LOGIN_USERS existing users, CONCURRENCY at a
#            time, once per SASL mechanism of LOGIN_MECHANISMS: logins per
#            second. PLAIN makes the server run PBKDF2 for every login;
#            with SCRAM the client (meridian-load, on its one CPU) does.
#   chat     CHAT_USERS users with rosters of ROSTER send one-to-one
#            messages at each total rate of RATES for STEP; the ladder stops
#            at the first rate with p99 >= P99_MAX_MS or fewer than
#            MIN_DELIVERED of the messages delivered, then bisects REFINE
#            times between the best passing and the first failing rate.
#            The best passing rate is the figure. The p99 judged is the
#            whole step's (P99_BASIS=whole); P99_BASIS=steady judges the
#            highest p99 of the 1 s intervals after the first WARMUP
#            seconds instead (an upper bound of the steady-state p99).
#
# Idle sessions and chat users authenticate with MECHANISM (SCRAM-SHA-1,
# what clients use and all three offer).
#
#   loadtest/compare/run.sh [meridian] [prosody] [ejabberd]
#
# Results: one JSON per harness run in OUT (a new folder under
# artifacts/compare/, also linked as artifacts/compare/latest), run.json
# with the run's settings, and table.py's section in docs/benchmarks.md
# (WRITE_DOC=0 to leave it alone). BUILD=0 uses BIN_MERIDIAN and BIN_LOAD
# as they are. Whole run, default sizes: ~12 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/loadtest/compare

export DOMAIN=${DOMAIN:-localhost}
LOGIN_USERS=${LOGIN_USERS:-2000}
IDLE_USERS=${IDLE_USERS:-5000}
IDLE_HOLD=${IDLE_HOLD:-10s}
CHAT_USERS=${CHAT_USERS:-200}
ROSTER=${ROSTER:-10}
RATES=${RATES:-"1000 2000 5000 10000 20000 30000 40000 60000 80000"}
STEP=${STEP:-20s}
RAMP=${RAMP:-2s}
REFINE=${REFINE:-2}
P99_MAX_MS=${P99_MAX_MS:-50}
P99_BASIS=${P99_BASIS:-whole}
WARMUP=${WARMUP:-3}
MIN_DELIVERED=${MIN_DELIVERED:-0.95}
MECHANISM=${MECHANISM:-SCRAM-SHA-1}
LOGIN_MECHANISMS=${LOGIN_MECHANISMS:-"PLAIN SCRAM-SHA-1"}
TRANSPORT=${TRANSPORT:-starttls}
SOURCES=${SOURCES:-127.0.0.2-127.0.0.254}
CONCURRENCY=${CONCURRENCY:-64}
export SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
export KEY_TYPE=${KEY_TYPE:-ec}
export PROSODY_BACKEND=${PROSODY_BACKEND:-epoll}
OUT=${OUT:-$ROOT/artifacts/compare/$(date +%Y%m%d-%H%M%S)}
WRITE_DOC=${WRITE_DOC:-1}
DOC=${DOC:-$ROOT/docs/benchmarks.md}
export BIN_MERIDIAN=${BIN_MERIDIAN:-$ROOT/bin/meridian}
BIN_LOAD=${BIN_LOAD:-$ROOT/bin/meridian-load}
PASSWORD=secret
PREFIX=load

SERVERS=("$@")
((${#SERVERS[@]})) || SERVERS=(meridian prosody ejabberd)
for s in "${SERVERS[@]}"; do
	case "$s" in meridian | prosody | ejabberd) ;; *)
		echo "unknown server $s (meridian, prosody, ejabberd)" >&2
		exit 2
		;;
	esac
done

log() { echo "[$(date +%T)] $*" >&2; }

log "installing/checking the peers"
scripts/peers.sh install >&2
if [ "${BUILD:-1}" = 1 ]; then
	log "building meridian and meridian-load"
	go build -o "$BIN_MERIDIAN" ./cmd/meridian
	go build -o "$BIN_LOAD" ./cmd/meridian-load
fi
[ -x "$BIN_MERIDIAN" ] && [ -x "$BIN_LOAD" ] || { echo "need $BIN_MERIDIAN and $BIN_LOAD" >&2; exit 1; }

mkdir -p "$OUT"
if compgen -G "$OUT/*.json" >/dev/null; then
	echo "$OUT already holds results; give another OUT" >&2
	exit 2
fi
ln -sfn "$OUT" "$ROOT/artifacts/compare/latest" 2>/dev/null || true
WORK=$(mktemp -d /tmp/meridian-compare.XXXXXX)
chmod 755 "$WORK"
CURRENT_DIR=
SAMPLER=
cleanup() {
	[ -z "$SAMPLER" ] || kill "$SAMPLER" 2>/dev/null || true
	[ -z "$CURRENT_DIR" ] || "$HERE/server.sh" stop "$CURRENT_DIR" || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One certificate for all three servers (KEY_TYPE: P-256 by default, what
# Meridian generates for itself), so that TLS costs the same everywhere.
mkdir -p "$WORK/certs"
if [ "$KEY_TYPE" = rsa ]; then key=(-newkey rsa:2048); else key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1); fi
openssl req -x509 "${key[@]}" -nodes -days 30 -subj "/CN=$DOMAIN" -addext "subjectAltName=DNS:$DOMAIN" \
	-keyout "$WORK/certs/$DOMAIN.key" -out "$WORK/certs/$DOMAIN.crt" 2>/dev/null
export CERT_DIR=$WORK/certs

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The run's settings, for table.py.
python3 - "$OUT/run.json" <<EOF
import json, sys
json.dump({
  "servers": "${SERVERS[*]}".split(), "domain": "$DOMAIN",
  "login_users": $LOGIN_USERS, "idle_users": $IDLE_USERS, "idle_hold": "$IDLE_HOLD",
  "chat_users": $CHAT_USERS, "roster": $ROSTER, "rates": [int(r) for r in "$RATES".split()],
  "step": "$STEP", "ramp": "$RAMP", "refine": $REFINE, "p99_max_ms": $P99_MAX_MS,
  "min_delivered": $MIN_DELIVERED, "p99_basis": "$P99_BASIS", "warmup_s": $WARMUP, "every_s": 1, "mechanism": "$MECHANISM", "transport": "$TRANSPORT",
  "login_mechanisms": "$LOGIN_MECHANISMS".split(),
  "sources": "$SOURCES", "concurrency": $CONCURRENCY, "server_cpu": "$SERVER_CPU",
  "load_cpu": "$LOAD_CPU", "key_type": "$KEY_TYPE", "prosody_backend": "$PROSODY_BACKEND",
}, open(sys.argv[1], "w"), indent=1)
EOF

# meridian-load on LOAD_CPU; its output in OUT/NAME.log, result in NAME.json.
load() { # server step args...
	local s=$1 name=$2
	shift 2
	local extra=() rc=0 TIMEFORMAT='%R %U %S'
	[ -n "$LOAD_CPU" ] && extra=(taskset -c "$LOAD_CPU")
	server_ticks >"$OUT/$s-$name.srv"
	# Wall, user and system seconds of the harness: its CPU use tells
	# whether it, not the server, was the limit.
	{ time timeout --kill-after=10 900 "${extra[@]}" "$BIN_LOAD" run \
		--server "127.0.0.1:$PORT" --domain "$DOMAIN" --transport "$TRANSPORT" \
		--user-prefix "$PREFIX" --password "$PASSWORD" --mechanism "$MECHANISM" \
		--progress --every 5s --json "$OUT/$s-$name.json" "$@" >"$OUT/$s-$name.log" 2>&1 || rc=$?; } 2>"$OUT/$s-$name.time"
	server_ticks >>"$OUT/$s-$name.srv"
	if ((rc)); then
		log "$s $name: meridian-load failed (exit $rc), see $OUT/$s-$name.log"
		tail -3 "$OUT/$s-$name.log" >&2
		return 1
	fi
}

server_ticks() { # utime+stime of the server, busy time of the machine: clock ticks (USER_HZ 100)
	local t
	t=$(sed 's/.*) //' "/proc/$PID/stat" 2>/dev/null | awk '{print $12 + $13}')
	echo "${t:-0} $(awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat)"
}

server_cpu() { # name: ", server CPU N%" over the whole harness run, and
	# the CPU that neither the server nor meridian-load used (other
	# processes: the figures are suspect when that is high)
	cat "$OUT/$1.srv" "$OUT/$1.time" 2>/dev/null | tr '\n' ' ' |
		awk '$5 > 0 {printf ", server CPU %.0f%%", ($3 - $1) / $5; o = ($4 - $2 - ($3 - $1)) / $5 - 100 * ($6 + $7) / $5; if (o > 5) printf ", OTHER PROCESSES %.0f%%", o}' || true
}

harness_cpu() { # name: ", harness CPU N%" from NAME.time
	awk '$1 > 0 {printf ", harness CPU %.0f%%", 100 * ($2 + $3) / $1}' "$OUT/$1.time" 2>/dev/null || true
}

field() { # json-file python-expression-on-r
	python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"
}

# RSS of the server and its established c2s connections, once a second,
# on LOAD_CPU: the idle figure is taken at the last moment every session
# was still connected, after IDLE_HOLD of idleness.
sample() { # pid file
	local pid=$1 file=$2
	while kill -0 "$pid" 2>/dev/null; do
		echo "$(date +%s.%N) $(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0) $(ss -Htn state established "( sport = :$PORT )" 2>/dev/null | wc -l)" >>"$file"
		sleep 1
	done
}

start() { # server dir: sets PID
	CURRENT_DIR=$2
	PID=$("$HERE/server.sh" start "$1" "$2" "$PORT") && [ -n "$PID" ]
}

chat() { # server rate -> 0 pass, 1 fail
	local s=$1 r=$2 f verdict
	load "$s" "chat-$r" --scenario chat --users-from existing --users "$CHAT_USERS" \
		--roster-size "$ROSTER" --rate "$r" --ramp "$RAMP" --duration "$STEP" --every 1s \
		--concurrency "$CONCURRENCY" --server-pid "$PID" || return 1
	f=$OUT/$s-chat-$r.json
	verdict=$(python3 "$HERE/table.py" --verdict "$f")
	log "$s chat $r/s: $verdict$(harness_cpu "$s-chat-$r")$(server_cpu "$s-chat-$r" | sed 's/, server CPU [0-9]*%//')"
	[ "${verdict%% *}" = pass ]
}

# Two cores: anything else running takes CPU from the server or the
# harness. Say so before starting (the log lines and the table say it again
# for every measurement where it happened).
busy0=$(awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat)
sleep 2
busy=$((($(awk '$1 == "cpu" {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat) - busy0) / 2))
if ((busy > 10)); then
	log "WARNING: the machine is not quiet (${busy}% of a core busy before the run); the figures will be disturbed"
	top -bn1 | sed -n '8,12p' >&2
fi

T0=$(date +%s)
for s in "${SERVERS[@]}"; do
	t0=$(date +%s)
	d=$WORK/$s
	PORT=$(free_port)
	log "=== $s ($("$HERE/server.sh" version "$s"))"

	# Accounts: in-band registration through the harness, the same path on
	# every server, as many as the largest measurement needs; then a fresh
	# start, so that memory is measured from a clean process.
	n=$IDLE_USERS
	((LOGIN_USERS > n)) && n=$LOGIN_USERS
	((CHAT_USERS > n)) && n=$CHAT_USERS
	if ! start "$s" "$d"; then
		log "$s did not start: skipped"
		"$HERE/server.sh" stop "$d" || true
		CURRENT_DIR=
		continue
	fi
	log "$s: registering $n users in-band"
	load "$s" provision --scenario login --users-from ibr --users "$n" \
		--concurrency "$CONCURRENCY" --sources "$SOURCES" || { "$HERE/server.sh" stop "$d"; CURRENT_DIR=; continue; }
	"$HERE/server.sh" stop "$d"
	CURRENT_DIR=
	if ! start "$s" "$d"; then
		log "$s did not start again: skipped"
		"$HERE/server.sh" stop "$d" || true
		CURRENT_DIR=
		continue
	fi
	sleep 2

	# (b) memory per idle authenticated TLS session.
	log "$s: $IDLE_USERS idle sessions, held $IDLE_HOLD"
	rm -f "$OUT/$s-idle.rss"
	if [ -n "$LOAD_CPU" ]; then
		taskset -c "$LOAD_CPU" bash -c "$(declare -f sample); PORT=$PORT; sample $PID '$OUT/$s-idle.rss'" &
	else
		bash -c "$(declare -f sample); PORT=$PORT; sample $PID '$OUT/$s-idle.rss'" &
	fi
	SAMPLER=$!
	sleep 1.5
	load "$s" idle --scenario idle --users-from existing --users "$IDLE_USERS" --duration "$IDLE_HOLD" \
		--concurrency "$CONCURRENCY" --sources "$SOURCES" --server-pid "$PID" || true
	kill "$SAMPLER" 2>/dev/null || true
	wait "$SAMPLER" 2>/dev/null || true
	SAMPLER=
	if [ -f "$OUT/$s-idle.json" ]; then
		log "$s idle: $(field "$OUT/$s-idle.json" "f\"{r['connected']} sessions, {r['server']['rss_per_session_bytes']/1024:.1f} KB/session right after login\"")"
	fi
	sleep 3 # let the server close the idle sessions

	# (a) logins per second, per SASL mechanism.
	for m in $LOGIN_MECHANISMS; do
		log "$s: login storm of $LOGIN_USERS, $m"
		if load "$s" "login-$m" --scenario login --users-from existing --users "$LOGIN_USERS" \
			--concurrency "$CONCURRENCY" --sources "$SOURCES" --server-pid "$PID" --mechanism "$m"; then
			log "$s login $m: $(field "$OUT/$s-login-$m.json" "f\"{r['logins_per_sec']:.0f} logins/s, {r['connected']}/{r['users']} in, errors {r.get('errors') or {}}\"")$(harness_cpu "$s-login-$m")$(server_cpu "$s-login-$m")"
		fi
		sleep 2
	done

	# (c) messages per second at p99 < P99_MAX_MS, on a fresh process
	# again: what the idle and login runs left behind (a large Lua heap in
	# Prosody, grown Erlang heaps in ejabberd) must not weigh on the chat.
	"$HERE/server.sh" stop "$d"
	CURRENT_DIR=
	if ! start "$s" "$d"; then
		log "$s did not start for the chat: skipped"
		"$HERE/server.sh" stop "$d" || true
		CURRENT_DIR=
		continue
	fi
	sleep 2
	best=0 fail=0
	for r in $RATES; do
		if chat "$s" "$r"; then best=$r; else
			fail=$r
			break
		fi
	done
	for ((i = 0; i < REFINE && fail > 0; i++)); do
		mid=$(((best + fail) / 2 / 100 * 100))
		((mid > best && mid < fail)) || break
		if chat "$s" "$mid"; then best=$mid; else fail=$mid; fi
	done
	log "$s: best passing chat rate ${best}/s (first failing ${fail}/s)"

	"$HERE/server.sh" stop "$d"
	CURRENT_DIR=
	log "$s done in $(($(date +%s) - t0)) s"
done
log "all done in $(($(date +%s) - T0)) s"

if [ "$WRITE_DOC" = 1 ]; then
	python3 "$HERE/table.py" "$OUT" "$DOC"
else
	python3 "$HERE/table.py" "$OUT" -
fi
