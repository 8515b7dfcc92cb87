#!/usr/bin/env bash
# XMPP interop tests: Smack's integration test framework ("SINT", written
# by the Smack project, not by us) against a freshly started Meridian node.
#
#  1. Installs Java and Maven from Debian when missing, and fetches the
#     pinned SINT version with its dependencies from Maven Central into
#     tests/sint/.cache (kept between runs, git-ignored; works from empty).
#  2. Builds bin/meridian and starts it on a random loopback address
#     127.x.y.z with the standard ports (SINT 4.5.0-beta5 has no port
#     setting), one vhost "sint.example" with in-band registration open and
#     no registration rate limit: SINT creates its three accounts in-band
#     and deletes them at the end.
#  3. Trusts the node's self-signed certificate through a Java trust store
#     made for the run: SINT connects with STARTTLS required, as a real
#     client would. (securityMode=disabled is not an option with this SINT
#     version: its in-band registration refuses to run without TLS.)
#  4. Runs the test classes tagged with a specification of enabled-specs.txt
#     plus the untagged classes of enabled-tests.txt, minus
#     disabled-tests.txt, under a time limit.
#  5. Summarises the results; a full run (no overrides) writes them into
#     docs/compliance.md between <!-- sint:start --> and <!-- sint:end -->.
#
# The node is always stopped on exit. Exit status: 0 when every enabled
# test passed (tests the framework finds "not possible" do not fail the
# run), 1 otherwise. The last line is "sint: N passed, N failed".
#
# Environment:
#   GO=go                    the Go command
#   SINT_SPECS=XEP-0313,...  test these specifications instead of enabled-specs.txt
#   SINT_TESTS=Class,...     untagged test classes (or Class.method) instead of
#                            enabled-tests.txt
#                            (with SINT_SPECS alone: none)
#   SINT_DOCS=0|1            write docs/compliance.md (default: 1 for a full run,
#                            0 when SINT_SPECS or SINT_TESTS is set)
#   SINT_DEBUG=1             log every stanza (Smack's console debugger) into the log
#   SINT_KEEP=1              keep the temp dir (config, server log, SINT log)
#   SINT_REPLY_TIMEOUT=5000  ms SINT waits for any one answer (also how long a
#                            test waits to be sure something does not arrive)
#   SINT_TIMEOUT=480         s the whole Java run may take before it is killed
#   SINT_LOG_LEVEL=info      server log level
#   SINT_RETRY=1             when tests fail (not a crash or the time limit), run
#                            the suite once more and report that run (0: never)
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/tests/sint
PYTHON=${PYTHON:-/usr/bin/python3}
GO=${GO:-go}
BIN=$ROOT/bin/meridian
SMACK_VERSION=$(sed -n 's:.*<smack.version>\(.*\)</smack.version>.*:\1:p' "$HERE/pom.xml")
CACHE=$HERE/.cache
LIB=$CACHE/lib-$SMACK_VERSION
REPLY_TIMEOUT=${SINT_REPLY_TIMEOUT:-5000}
RUN_TIMEOUT=${SINT_TIMEOUT:-480}
DOMAIN=sint.example
HEALTH_TIMEOUT=20

full_run=1
[[ -n ${SINT_SPECS+x} || -n ${SINT_TESTS+x} ]] && full_run=0
write_docs=${SINT_DOCS:-$full_run}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/meridian-sint.XXXXXX")
SERVER_PID=
say() { echo "sint: $*"; }

stop_server() {
	[[ -n $SERVER_PID ]] || return 0
	if kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$SERVER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
	fi
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
}

cleanup() {
	local status=$?
	stop_server
	if ((status != 0)) && [[ -s $WORK/server.log ]]; then
		echo "--- server log (last 40 lines of $WORK/server.log) ---" >&2
		tail -n 40 "$WORK/server.log" >&2 2>/dev/null || true
	fi
	if [[ ${SINT_KEEP:-} == 1 ]]; then
		echo "kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	say "$*" >&2
	echo "sint: 0 passed, 1 failed"
	exit 1
}

# --- 1. Java, Maven and the suite ------------------------------------------

t0=$SECONDS
need=()
command -v java >/dev/null && command -v keytool >/dev/null || need+=(default-jre-headless)
command -v mvn >/dev/null || need+=(maven)
if ((${#need[@]} > 0)); then
	say "installing ${need[*]}"
	sudo=()
	((EUID == 0)) || sudo=(sudo)
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get update -qq
	"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
java_major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
((${java_major%%.*} >= 11)) || fail "SINT needs Java 11 or later; java is $java_major"

# The cache is keyed by the pom: a changed pom fetches again.
stamp=$(sha256sum "$HERE/pom.xml" | cut -c1-16)
if [[ ! -f $LIB/.complete-$stamp ]]; then
	say "fetching SINT $SMACK_VERSION and its dependencies from Maven Central"
	rm -rf "$LIB" "$LIB.tmp"
	mkdir -p "$CACHE"
	if ! timeout 600 mvn -B -q -Dstyle.color=never -f "$HERE/pom.xml" -Dmaven.repo.local="$CACHE/m2" \
		dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIB.tmp" \
		>"$WORK/mvn.log" 2>&1; then
		tail -n 30 "$WORK/mvn.log" >&2
		fail "could not fetch SINT from Maven Central (mvn dependency:copy-dependencies failed)"
	fi
	mv "$LIB.tmp" "$LIB"
	touch "$LIB/.complete-$stamp"
fi
JAR=$LIB/smack-integration-test-$SMACK_VERSION.jar
[[ -f $JAR ]] || fail "$JAR is missing"
say "SINT $SMACK_VERSION ready ($(ls "$LIB" | grep -c '\.jar$') jars, $((SECONDS - t0))s)"

# --- 2. what to run ----------------------------------------------------------

select_args=("$JAR" "$HERE/enabled-specs.txt" "$HERE/enabled-tests.txt" "$HERE/disabled-tests.txt")
[[ -n ${SINT_SPECS+x} ]] && select_args+=(--specs "$SINT_SPECS")
if [[ -n ${SINT_TESTS+x} ]]; then
	select_args+=(--tests "$SINT_TESTS")
elif [[ -n ${SINT_SPECS+x} ]]; then
	select_args+=(--tests "")
fi
selection=$("$PYTHON" "$HERE/sint.py" select "${select_args[@]}") || fail "bad test selection (tests/sint/*.txt)"
enabled=$(sed -n 1p <<<"$selection")
disabled=$(sed -n 2p <<<"$selection")
[[ -n $enabled ]] || fail "no test selected"

# --- 3. the node ----------------------------------------------------------------

"$GO" build -o "$BIN" ./cmd/meridian || fail "go build ./cmd/meridian failed"

# start_node ADDR: the node on ADDR:5222 (c2s) and ADDR:5280 (HTTP); 0 once
# /healthz answers, 1 when the address is taken, 2 on any other failure.
start_node() {
	local addr=$1
	rm -rf "$WORK/data"
	cat >"$WORK/meridian.toml" <<-EOF
		# Written by tests/sint/run.sh for one SINT run.
		[node]
		data_dir = "$WORK/data"
		shutdown_grace = "1s"

		[log]
		level = "${SINT_LOG_LEVEL:-info}"

		[[vhosts]]
		domain = "$DOMAIN"
		registration = true

		[c2s]
		listen = ["$addr:5222"]
		direct_tls_listen = []
		require_starttls = true

		[http]
		listen = "$addr:5280"

		[web]
		tls_listen = []

		[modules.register]
		rate_limit = 0
	EOF
	: >"$WORK/server.log"
	"$BIN" --config "$WORK/meridian.toml" >>"$WORK/server.log" 2>&1 &
	SERVER_PID=$!
	local deadline=$((SECONDS + HEALTH_TIMEOUT))
	while ((SECONDS < deadline)); do
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			wait "$SERVER_PID" 2>/dev/null || true
			SERVER_PID=
			grep -qi 'address already in use' "$WORK/server.log" && return 1
			return 2
		fi
		if [[ $(curl -fsS --max-time 1 "http://$addr:5280/healthz" 2>/dev/null) == ok* ]]; then
			return 0
		fi
		sleep 0.1
	done
	return 2
}

ADDR=
for _ in 1 2 3 4 5; do
	candidate=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
	rc=0
	start_node "$candidate" || rc=$?
	if ((rc == 0)); then
		ADDR=$candidate
		break
	fi
	((rc == 1)) || fail "the node did not start (see the server log below)"
	say "$candidate:5222 or :5280 is taken, trying another loopback address"
done
[[ -n $ADDR ]] || fail "no free loopback address for ports 5222/5280 (is something listening on 0.0.0.0:5222?)"
say "node up on $ADDR:5222 (STARTTLS), domain $DOMAIN, pid $SERVER_PID"

CERT=$WORK/data/tls/selfsigned.crt
[[ -f $CERT ]] || fail "the node wrote no self-signed certificate at $CERT"
keytool -importcert -noprompt -alias meridian -file "$CERT" -keystore "$WORK/trust.p12" \
	-storetype PKCS12 -storepass changeit >/dev/null 2>&1 || fail "keytool could not import $CERT"

# --- 4. SINT ---------------------------------------------------------------------

props=(
	-Dsinttest.service="$DOMAIN"
	-Dsinttest.host="$ADDR"
	-Dsinttest.securityMode=required
	-Dsinttest.enabledConnections=tcp
	-Dsinttest.dnsResolver=javax
	-Dsinttest.replyTimeout="$REPLY_TIMEOUT"
	-Dsinttest.enabledTests="$enabled"
)
[[ -n $disabled ]] && props+=(-Dsinttest.disabledTests="$disabled")
[[ ${SINT_DEBUG:-} == 1 ]] && props+=(-Dsinttest.debugger=console)

say "running $(tr ',' '\n' <<<"$enabled" | wc -l) test classes or methods (time limit ${RUN_TIMEOUT}s, reply timeout ${REPLY_TIMEOUT}ms)"
t0=$SECONDS
java_status=0
LC_ALL=C.UTF-8 timeout --kill-after=10 "$RUN_TIMEOUT" java -Xmx512m \
	-Dfile.encoding=UTF-8 \
	-Djavax.net.ssl.trustStore="$WORK/trust.p12" -Djavax.net.ssl.trustStorePassword=changeit \
	-Djavax.net.ssl.trustStoreType=PKCS12 \
	"${props[@]}" \
	-cp "$LIB/*" org.igniterealtime.smack.inttest.SmackIntegrationTestFramework \
	>"$WORK/sint.log" 2>&1 || java_status=$?
say "SINT finished in $((SECONDS - t0))s (exit $java_status)"
((java_status == 124 || java_status == 137)) && say "SINT hit the ${RUN_TIMEOUT}s limit and was killed"

stop_server

# --- 5. results ----------------------------------------------------------------------

report_args=("$JAR" "$WORK/sint.log" "$HERE/disabled-tests.txt")
((write_docs == 1)) && report_args+=(--compliance "$ROOT/docs/compliance.md")
report_status=0
"$PYTHON" "$HERE/sint.py" report "${report_args[@]}" >"$WORK/summary.txt" || report_status=$?
if ((report_status != 0 || java_status != 0)); then
	echo "--- SINT log: failures (full log: $WORK/sint.log, kept with SINT_KEEP=1) ---"
	grep -E -A12 '^SEVERE: .* (Failed|failed:)|^Exception in thread|Unexpected abort' "$WORK/sint.log" | head -n 150 || true
	tail -n 5 "$WORK/sint.log"
fi
grep -v -E '^sint: [0-9]+ passed, [0-9]+ failed$' "$WORK/summary.txt" || true
if ((java_status != 0 && report_status == 0)); then
	# The framework exits 2 on a failed test, which the report already counts;
	# any other non-zero exit (crash, timeout) is a failure of its own.
	((java_status == 2)) || report_status=1
fi
line=$(grep -E '^sint: [0-9]+ passed, [0-9]+ failed$' "$WORK/summary.txt" | tail -n 1 || true)
if [[ -z $line ]]; then
	echo "sint: 0 passed, 1 failed"
	exit 1
fi
if ((report_status != 0)) && [[ $line == *", 0 failed" ]]; then
	# No test failed, yet the run did not complete (crash or time limit).
	echo "${line%0 failed}1 failed"
	exit 1
fi
# A test that fails by timing (a 5 s reply timeout on a loaded machine, or
# a race between two of SINT's own clients) gets one more chance: the
# whole suite runs once more on a fresh node, and its result is the
# result. A failure that repeats fails the run; crashes and time limits
# are not retried. SINT_RETRY=0 turns this off.
if ((report_status != 0 && java_status == 2)) && [[ -z ${SINT_ATTEMPT:-} && ${SINT_RETRY:-1} == 1 ]]; then
	say "attempt 1: ${line#sint: }; running the suite once more on a fresh node (a failure that repeats fails the run)"
	trap - EXIT
	cleanup
	exec env SINT_ATTEMPT=2 "$0" "$@"
fi
[[ -n ${SINT_ATTEMPT:-} ]] && say "attempt ${SINT_ATTEMPT} (the first had failures, listed above)"
echo "$line"
exit "$report_status"
