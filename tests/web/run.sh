#!/usr/bin/env bash
# Web-client end-to-end test: real web clients against bin/meridian.
#
#   converse.mjs  Converse.js (pinned in package-lock.json) in Debian's
#                 Chromium, driven by playwright-core, over WebSocket
#                 (RFC 7395) and then over BOSH (XEP-0206), from a page
#                 served on another origin ([web] allowed_origins)
#   xmppjs.mjs    xmpp.js (@xmpp/client) in Node over WebSocket
#
# Both talk to an independent peer: bot.py, a slixmpp echo bot on the TCP
# listener (STARTTLS). The node runs on free loopback ports with a fresh
# data dir and the accounts created by `meridian user add` beforehand.
# npm packages come from package-lock.json with `npm ci`, skipped when
# node_modules already matches the lock. Screenshots and browser consoles
# go to tests/web/artifacts/. Everything started here is stopped on exit;
# the exit status is the test result. The last line is "N passed, N failed".
#
# Environment:
#   GO=go                 the Go command
#   WEB_KEEP=1            keep the temp dir (config, data, logs) afterwards
#   WEB_STEP_TIMEOUT=20   seconds each client step may take
#   WEB_LOG_LEVEL=info    server log level
#   WEB_CONVERSE_TRANSPORTS="websocket bosh"  the Converse runs, in order
#   CHROMIUM=/usr/bin/chromium
#   PYTHON=/usr/bin/python3
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/tests/web
PYTHON=${PYTHON:-/usr/bin/python3}
BIN=$ROOT/bin/meridian
HEALTH_TIMEOUT=20
SCRIPT_TIMEOUT=300 # a whole client script, should every step hang
DOMAIN=localhost
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export WEB_STEP_TIMEOUT=${WEB_STEP_TIMEOUT:-20}
export ARTIFACTS=$HERE/artifacts

passed=0
failed=0
SERVER_PID=
BOT_PID=
WORK=$(mktemp -d "${TMPDIR:-/tmp}/meridian-web.XXXXXX")
CONFIG=$WORK/meridian.toml
LOG=$WORK/server.log
BOT_OUT=$WORK/bot.out
export BOT_LOG=$WORK/bot-received.jsonl
START=$SECONDS

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { d = b - a; if (d < 1) printf "%.1fms", d * 1000; else printf "%.2fs", d }'; }
pass() { passed=$((passed + 1)); echo "PASS  $1  ($(elapsed "$2"))${3:+ - $3}"; }
fail() { failed=$((failed + 1)); echo "FAIL  $1  ($(elapsed "$2")): $3"; }

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

# stop PID: SIGTERM, up to 5 s, then SIGKILL; reaps it.
stop() {
	local pid=$1
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		alive "$pid" || break
		sleep 0.1
	done
	alive "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local status=$?
	stop "$BOT_PID"
	stop "$SERVER_PID"
	if ((failed > 0 || status != 0)); then
		echo "--- server log (last 60 lines of $LOG) ---" >&2
		tail -n 60 "$LOG" >&2 2>/dev/null || true
		echo "--- bot output ---" >&2
		tail -n 20 "$BOT_OUT" >&2 2>/dev/null || true
	fi
	if [[ ${WEB_KEEP:-} == 1 ]]; then
		echo "kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	echo "web: $((SECONDS - START))s" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

summary() {
	echo "${passed} passed, ${failed} failed"
	((failed == 0))
}

abort() {
	fail "$1" "$2" "$3"
	summary
	exit 1
}

# Four distinct free ports, chosen while all are bound.
read -r C2S_PORT HTTP_PORT WEB_PORT STATIC_PORT < <("$PYTHON" -c '
import socket
socks = [socket.socket() for _ in range(4)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
')
export STATIC_PORT DOMAIN
export WEB_URL=http://127.0.0.1:$WEB_PORT
export METRICS_URL=http://127.0.0.1:$HTTP_PORT/metrics
echo "web: ports c2s=$C2S_PORT http=$HTTP_PORT web=$WEB_PORT page=$STATIC_PORT, work dir $WORK"

# Tools.
t=$(now)
command -v node >/dev/null && command -v npm >/dev/null || abort "node and npm present" "$t" "missing: run scripts/deps.sh"
[[ -x $CHROMIUM ]] || abort "chromium present" "$t" "$CHROMIUM missing: run scripts/deps.sh"
"$PYTHON" -c 'import slixmpp' 2>/dev/null || abort "slixmpp importable by $PYTHON" "$t" "missing: run scripts/deps.sh"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
	abort "node is 18 or later" "$t" "node $(node --version)"

# npm ci only when node_modules was not installed from this very lock.
lock_sum=$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)
stamp=$HERE/node_modules/.meridian-lock-sha256
if [[ $(cat "$stamp" 2>/dev/null) != "$lock_sum" ]]; then
	(cd "$HERE" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || abort "npm ci" "$t" "npm ci failed"
	echo "$lock_sum" >"$stamp"
	pass "npm ci" "$t"
fi

echo "web: node $(node --version), $("$CHROMIUM" --version 2>/dev/null | cut -d' ' -f1-2), $(cd "$HERE" && node -e '
for (const p of ["converse.js", "playwright-core", "@xmpp/client"])
  process.stdout.write(`${p} ${require(`./node_modules/${p}/package.json`).version}  `)')"

t=$(now)
"${GO:-go}" build -o "$BIN" ./cmd/meridian || abort "build bin/meridian" "$t" "go build failed"
pass "build bin/meridian" "$t"

cat >"$CONFIG" <<EOF
[node]
data_dir = "$WORK/data"
shutdown_grace = "2s"
[log]
level = "${WEB_LOG_LEVEL:-info}"
[[vhosts]]
domain = "$DOMAIN"
[c2s]
listen = ["127.0.0.1:$C2S_PORT"]
direct_tls_listen = []
[http]
listen = "127.0.0.1:$HTTP_PORT"
[web]
listen = ["127.0.0.1:$WEB_PORT"]
tls_listen = []
allowed_origins = ["http://127.0.0.1:$STATIC_PORT"]
EOF

# Accounts: one per web client, so that no session sees another's traffic,
# and the bot's.
password=web-test-secret
export BOT_JID=echo@$DOMAIN
export CONVERSE_USERS="{\"websocket\": [\"alice@$DOMAIN\", \"$password\"], \"bosh\": [\"bob@$DOMAIN\", \"$password\"]}"
export XMPPJS_USER=carol XMPPJS_PASSWORD=$password
t=$(now)
for u in echo alice bob carol; do
	"$BIN" --config "$CONFIG" user add "$u@$DOMAIN" "$password" >>"$LOG" 2>&1 ||
		abort "create accounts" "$t" "meridian user add $u@$DOMAIN failed"
done
pass "create accounts" "$t" "echo, alice, bob, carol @$DOMAIN"

t=$(now)
"$BIN" --config "$CONFIG" >>"$LOG" 2>&1 &
SERVER_PID=$!
deadline=$((SECONDS + HEALTH_TIMEOUT))
until [[ $(curl -fsS --max-time 1 "http://127.0.0.1:$HTTP_PORT/healthz" 2>/dev/null) == ok* ]]; do
	alive "$SERVER_PID" || abort "server starts and /healthz answers ok" "$t" "server exited, see its log below"
	((SECONDS < deadline)) || abort "server starts and /healthz answers ok" "$t" "no answer within ${HEALTH_TIMEOUT}s"
	sleep 0.1
done
pass "server starts and /healthz answers ok" "$t" "pid $SERVER_PID"

t=$(now)
"$PYTHON" "$HERE/bot.py" --jid "$BOT_JID" --password "$password" --port "$C2S_PORT" \
	--log "$BOT_LOG" --ready "$WORK/bot.ready" >"$BOT_OUT" 2>&1 &
BOT_PID=$!
deadline=$((SECONDS + WEB_STEP_TIMEOUT))
until [[ -s $WORK/bot.ready ]]; do
	alive "$BOT_PID" || abort "echo bot online over TCP" "$t" "bot exited: $(tail -n 3 "$BOT_OUT")"
	((SECONDS < deadline)) || abort "echo bot online over TCP" "$t" "not online within ${WEB_STEP_TIMEOUT}s"
	sleep 0.1
done
pass "echo bot online over TCP" "$t" "$(tail -n 1 "$BOT_OUT")"

# run NAME SCRIPT ARGS...: a node test script; its PASS/FAIL lines go to
# our output and its counts into ours.
run() {
	local label=$1 out=$WORK/$1.out status=0 line
	shift
	timeout -k 5 "$SCRIPT_TIMEOUT" node "$@" 2>&1 | tee "$out" | sed -E "s/^([0-9]+ passed, [0-9]+ failed)$/$label: \1/" || status=$?
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1 || true)
	if [[ -z $line ]]; then
		fail "$label run" "$(now)" "no summary line (exit $status)"
		return
	fi
	passed=$((passed + ${line%% passed*}))
	local f=${line##*, }
	failed=$((failed + ${f%% failed}))
}

# shellcheck disable=SC2086 # a list of words
run converse "$HERE/converse.mjs" ${WEB_CONVERSE_TRANSPORTS:-websocket bosh}
run xmpp.js "$HERE/xmppjs.mjs"

t=$(now)
if ! alive "$SERVER_PID"; then
	fail "server still running at the end" "$t" "it exited, see its log below"
elif grep -qE '^(panic|fatal error):|level=ERROR' "$LOG"; then
	fail "server log has no panic or error" "$t" "$(grep -m 3 -E '^(panic|fatal error):|level=ERROR' "$LOG")"
else
	pass "server still running, its log has no panic or error" "$t"
fi
summary
