#!/usr/bin/env bash
# End-to-end test: build bin/meridian, run one node on free loopback ports
# with a fresh data dir, drive it with slixmpp (tests/e2e/slixmpp_e2e.py),
# kill -9 it while the clients are still connected, restart it on the same
# data dir and check that accounts, rosters, message archives, a vCard,
# bookmarks and a PEP item survived, read /metrics, and stop it with
# SIGTERM. The server is always stopped on exit; the exit status is the
# test result. The last line is "N passed, N failed".
#
# Environment:
#   GO=go                 the Go command
#   E2E_KEEP=1            keep the temp dir (data, server log) afterwards
#   E2E_STEP_TIMEOUT=15   seconds each client step may take
#   E2E_LOG_LEVEL=debug   server log level (default info)
#   PYTHON=/usr/bin/python3
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
PYTHON=${PYTHON:-/usr/bin/python3}
BIN=$ROOT/bin/meridian
STEP_TIMEOUT=${E2E_STEP_TIMEOUT:-15}
HEALTH_TIMEOUT=20

passed=0
failed=0
SERVER_PID=  # the meridian process
WRAPPER_PID= # the subshell that waits for it and records its exit status
WORK=$(mktemp -d "${TMPDIR:-/tmp}/meridian-e2e.XXXXXX")
DATA=$WORK/data
LOG=$WORK/server.log

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { d = b - a; if (d < 1) printf "%.1fms", d * 1000; else printf "%.2fs", d }'; }
pass() { passed=$((passed + 1)); echo "PASS  $1  ($(elapsed "$2"))${3:+ - $3}"; }
fail() { failed=$((failed + 1)); echo "FAIL  $1  ($(elapsed "$2")): $3"; }

server_alive() { [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; }

# reap_server waits for the wrapper of a server that has exited; the
# server's exit status is then in $WORK/server.status.
reap_server() {
	[[ -n $WRAPPER_PID ]] && wait "$WRAPPER_PID" 2>/dev/null || true
	WRAPPER_PID= SERVER_PID=
}

stop_server() {
	if server_alive; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 50); do
			server_alive || break
			sleep 0.1
		done
		if server_alive; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
	fi
	reap_server
}

cleanup() {
	local status=$?
	stop_server
	if ((failed > 0 || status != 0)); then
		echo "--- server log (last 60 lines of $LOG) ---" >&2
		tail -n 60 "$LOG" >&2 2>/dev/null || true
	fi
	if [[ ${E2E_KEEP:-} == 1 ]]; then
		echo "kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

summary() {
	echo "${passed} passed, ${failed} failed"
	((failed == 0))
}

# Three distinct free ports, chosen while all three are bound.
read -r C2S_PORT TLS_PORT HTTP_PORT < <("$PYTHON" -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
')

# start_server runs the node in the background under a wrapper subshell,
# so that its death by SIGKILL is not reported by this shell as a job
# notice, and its exit status is kept.
start_server() {
	rm -f "$WORK/server.pid" "$WORK/server.status"
	(
		MERIDIAN_NODE_DATA_DIR=$DATA \
		MERIDIAN_C2S_LISTEN=127.0.0.1:$C2S_PORT \
		MERIDIAN_C2S_DIRECT_TLS_LISTEN=127.0.0.1:$TLS_PORT \
		MERIDIAN_HTTP_LISTEN=127.0.0.1:$HTTP_PORT \
		MERIDIAN_WEB_TLS_LISTEN= \
		MERIDIAN_LOG_LEVEL=${E2E_LOG_LEVEL:-info} \
			"$BIN" >>"$LOG" 2>&1 &
		echo $! >"$WORK/server.pid"
		status=0
		wait $! || status=$?
		echo "$status" >"$WORK/server.status"
	) 2>/dev/null &
	WRAPPER_PID=$!
	for _ in $(seq 500); do
		[[ -s $WORK/server.pid ]] && break
		sleep 0.01
	done
	SERVER_PID=$(<"$WORK/server.pid")
}

# wait_healthy: until GET /healthz answers 200 "ok", the server dies, or
# HEALTH_TIMEOUT passes.
wait_healthy() {
	local deadline=$((SECONDS + HEALTH_TIMEOUT)) body
	while ((SECONDS < deadline)); do
		if ! server_alive; then
			echo "server exited before becoming healthy" >&2
			return 1
		fi
		if body=$(curl -fsS --max-time 1 "http://127.0.0.1:$HTTP_PORT/healthz" 2>/dev/null) && [[ $body == ok* ]]; then
			return 0
		fi
		sleep 0.1
	done
	echo "no healthy answer from /healthz within ${HEALTH_TIMEOUT}s" >&2
	return 1
}

# client MODE [ARGS...]: runs the slixmpp script; its PASS/FAIL lines go to our
# output and its counts into ours (its own summary is shown prefixed, so
# that the only bare "N passed, N failed" line is the final one).
client() {
	local out=$WORK/client-$1.out status=0 line
	"$PYTHON" "$ROOT/tests/e2e/slixmpp_e2e.py" --mode "$@" \
		--starttls-port "$C2S_PORT" --tls-port "$TLS_PORT" \
		--step-timeout "$STEP_TIMEOUT" 2>&1 | tee "$out" |
		sed -E "s/^([0-9]+ passed, [0-9]+ failed|total .*)$/slixmpp $1: \1/" || status=$?
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1 || true)
	if [[ -z $line ]]; then
		fail "slixmpp $1 run" "$(now)" "no summary line (exit $status)"
		return 1
	fi
	passed=$((passed + ${line%% passed*}))
	local f=${line##*, }
	failed=$((failed + ${f%% failed}))
	return "$status"
}

echo "e2e: ports c2s=$C2S_PORT direct-tls=$TLS_PORT http=$HTTP_PORT, data $DATA"

t=$(now)
if ! "$PYTHON" -c 'import slixmpp' 2>/dev/null; then
	fail "slixmpp importable by $PYTHON" "$t" "missing: run scripts/deps.sh"
	summary
	exit 1
fi
if ! "${GO:-go}" build -o "$BIN" ./cmd/meridian; then
	fail "build bin/meridian" "$t" "go build failed"
	summary
	exit 1
fi
pass "build bin/meridian" "$t"

t=$(now)
start_server
if ! wait_healthy; then
	fail "server starts and /healthz answers ok" "$t" "see the server log below"
	summary
	exit 1
fi
pass "server starts and /healthz answers ok" "$t" "pid $SERVER_PID"

# The full scenario ends by kill -9ing the server with both sessions open:
# no shutdown or session-end path runs, so whatever the server acknowledged
# must already be on disk.
if ! client full --kill-pid "$SERVER_PID"; then
	summary
	exit 1
fi

# Restart safety: same data dir, same ports.
t=$(now)
kill -KILL "$SERVER_PID" 2>/dev/null || true
reap_server
echo "--- kill -9, restart on the same data dir ---" >>"$LOG"
start_server
if ! wait_healthy; then
	fail "server restarts after kill -9" "$t" "see the server log below"
	summary
	exit 1
fi
pass "server restarts after kill -9 on the same data dir" "$t"

client check || true

t=$(now)
metrics=$(curl -fsS --max-time 5 "http://127.0.0.1:$HTTP_PORT/metrics" || true)
if grep -q '^meridian_c2s_auth_total{.*result="success".*} [1-9]' <<<"$metrics"; then
	pass "/metrics counts the logins" "$t" "$(grep -c '^meridian_' <<<"$metrics") meridian_* samples"
else
	fail "/metrics counts the logins" "$t" "no meridian_c2s_auth_total{result=\"success\"} sample in GET /metrics"
fi

# Graceful shutdown: SIGTERM ends the node with status 0.
t=$(now)
kill -TERM "$SERVER_PID"
status=
for _ in $(seq 100); do
	if ! server_alive; then
		reap_server
		status=$(cat "$WORK/server.status" 2>/dev/null || echo "unknown")
		break
	fi
	sleep 0.1
done
if [[ -z $status ]]; then
	fail "SIGTERM stops the server with status 0" "$t" "still running after 10s"
elif [[ $status != 0 ]]; then
	fail "SIGTERM stops the server with status 0" "$t" "exit status $status"
else
	pass "SIGTERM stops the server with status 0" "$t"
fi

summary
