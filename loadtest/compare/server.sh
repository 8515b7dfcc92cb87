#!/usr/bin/env bash
# Starts and stops one server of the comparison (Meridian, Prosody or
# ejabberd) in a folder of its own, on 127.0.0.1:PORT, pinned to one CPU,
# with STARTTLS required and the open-file limit raised.
#
#   server.sh start NAME DIR PORT   start; prints the pid of the server
#                                   process (the one whose RSS is measured)
#   server.sh stop DIR              stop what `start` started in DIR
#   server.sh adduser DIR USER PW   create an account with the server's own
#                                   tool (meridian user add, prosodyctl
#                                   register, ejabberdctl register)
#   server.sh version NAME          print the server's version
#
# Environment:
#   DOMAIN (localhost)        the virtual host
#   SERVER_CPU (0)            CPU the server is pinned to; empty: not pinned
#   NOFILE (65536)            open-file limit asked for; the hard limit caps it
#   CERT_DIR                  take DOMAIN.crt/.key from here (run.sh gives all
#                             three servers the same certificate); otherwise
#                             a new self-signed one is made
#   KEY_TYPE (ec)             ec (P-256, as Meridian generates) or rsa (2048)
#   BIN_MERIDIAN (bin/meridian)
#   PROSODY_BACKEND (epoll)   Prosody's network_backend: epoll (its default
#                             in 0.12) or event (libevent)
#   PROSODY_TEMPLATE, EJABBERD_TEMPLATE   other configuration templates
#                             (experiments); default prosody/, ejabberd/ here
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DOMAIN=${DOMAIN:-localhost}
SERVER_CPU=${SERVER_CPU-0}
NOFILE=${NOFILE:-65536}
KEY_TYPE=${KEY_TYPE:-ec}
BIN_MERIDIAN=${BIN_MERIDIAN:-$ROOT/bin/meridian}
PROSODY_BACKEND=${PROSODY_BACKEND:-epoll}

die() {
	echo "server.sh: $*" >&2
	exit 1
}

pin() { # prefix for commands run on the server's CPU
	if [ -n "$SERVER_CPU" ]; then echo "taskset -c $SERVER_CPU"; fi
}

# Shell text that raises the soft open-file limit as far as allowed;
# runuser gives the service users a soft limit of 1024.
raise_nofile="ulimit -n $NOFILE 2>/dev/null || ulimit -n \$(ulimit -Hn)"

certs() { # dir owner
	local d=$1/certs
	mkdir -p "$d"
	if [ -n "${CERT_DIR:-}" ]; then
		cp "$CERT_DIR/$DOMAIN.crt" "$CERT_DIR/$DOMAIN.key" "$d/"
	else
		make_cert "$d"
	fi
	cat "$d/$DOMAIN.crt" "$d/$DOMAIN.key" >"$d/$DOMAIN.pem"
	chmod 600 "$d/$DOMAIN.key" "$d/$DOMAIN.pem"
	[ -z "$2" ] || chown -R "$2" "$d"
}

make_cert() { # dir
	local key=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)
	[ "$KEY_TYPE" = rsa ] && key=(-newkey rsa:2048)
	openssl req -x509 "${key[@]}" -nodes -days 30 -subj "/CN=$DOMAIN" \
		-addext "subjectAltName=DNS:$DOMAIN" \
		-keyout "$1/$DOMAIN.key" -out "$1/$DOMAIN.crt" 2>/dev/null
}

wait_port() { # port seconds
	local i
	for ((i = 0; i < $2 * 5; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.2
	done
	return 1
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

save() { # dir key value
	echo "$2=$(printf %q "$3")" >>"$1/server.state"
}

start_meridian() { # dir port
	local d=$1 port=$2
	[ -x "$BIN_MERIDIAN" ] || die "no $BIN_MERIDIAN (go build -o bin/meridian ./cmd/meridian)"
	mkdir -p "$d/data"
	certs "$d" ""
	# Defaults, except: only this listener, the shared certificate, no
	# registration rate limit, and the modules the other two have (roster,
	# disco, ping, register): version, time, last and mam (message
	# archiving, which the other two do not do here) switched off.
	env MERIDIAN_NODE_DATA_DIR="$d/data" \
		MERIDIAN_VHOSTS="$DOMAIN" MERIDIAN_VHOSTS_REGISTRATION=true \
		MERIDIAN_C2S_LISTEN="127.0.0.1:$port" MERIDIAN_C2S_DIRECT_TLS_LISTEN= \
		MERIDIAN_HTTP_LISTEN= \
		MERIDIAN_TLS_CERT_FILE="$d/certs/$DOMAIN.crt" MERIDIAN_TLS_KEY_FILE="$d/certs/$DOMAIN.key" \
		MERIDIAN_MODULES_REGISTER_RATE_LIMIT=0 \
		MERIDIAN_MODULES_VERSION_ENABLED=false MERIDIAN_MODULES_TIME_ENABLED=false \
		MERIDIAN_MODULES_LAST_ENABLED=false MERIDIAN_MODULES_MAM_ENABLED=false \
		MERIDIAN_LOG_LEVEL=warn \
		setsid bash -c "$raise_nofile; exec $(pin) '$BIN_MERIDIAN'" >"$d/meridian.log" 2>&1 </dev/null &
	local pid=$!
	save "$d" PID "$pid"
	wait_port "$port" 30 || die "meridian did not open port $port (see $d/meridian.log)"
	echo "$pid"
}

start_prosody() { # dir port
	local d=$1 port=$2
	mkdir -p "$d/data"
	sed -e "s|@DIR@|$d|g" -e "s|@PORT@|$port|g" -e "s|@DOMAIN@|$DOMAIN|g" \
		-e "s|@BACKEND@|$PROSODY_BACKEND|g" "${PROSODY_TEMPLATE:-$HERE/prosody/prosody.cfg.lua.in}" >"$d/prosody.cfg.lua"
	certs "$d" prosody:prosody
	chown -R prosody:prosody "$d"
	# Prosody refuses to run as root: its own user, in the foreground.
	setsid $(pin) runuser -u prosody -- bash -c "$raise_nofile; exec prosody -F --config '$d/prosody.cfg.lua'" \
		>"$d/stdout.log" 2>&1 </dev/null &
	save "$d" LAUNCHER "$!"
	wait_port "$port" 30 || die "prosody did not open port $port (see $d/prosody.log, $d/stdout.log)"
	local pid i
	for ((i = 0; i < 50; i++)); do
		[ -s "$d/prosody.pid" ] && break
		sleep 0.1
	done
	pid=$(cat "$d/prosody.pid")
	save "$d" PID "$pid"
	echo "$pid"
}

ejabberdctl_() { # dir args...: ejabberdctl as the ejabberd user with this instance's settings
	local d=$1
	shift
	runuser -u ejabberd -- ejabberdctl --ctl-config "$d/ejabberdctl.cfg" --spool "$d/spool" --logs "$d/logs" "$@"
}

start_ejabberd() { # dir port
	local d=$1 port=$2 dist node cookie
	mkdir -p "$d/spool" "$d/logs"
	sed -e "s|@DIR@|$d|g" -e "s|@PORT@|$port|g" -e "s|@DOMAIN@|$DOMAIN|g" \
		"${EJABBERD_TEMPLATE:-$HERE/ejabberd/ejabberd.yml.in}" >"$d/ejabberd.yml"
	# A copy of Debian's ejabberdctl.cfg: it sets EJABBERD_CONFIG_PATH
	# itself, so --config alone would be overridden.
	dist=$(free_port)
	node="ejabberd-cmp$port@localhost"
	cookie=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
	sed -e "s|^EJABBERD_CONFIG_PATH=.*|EJABBERD_CONFIG_PATH=$d/ejabberd.yml|" \
		-e "s|^EJABBERD_PID_PATH=.*|EJABBERD_PID_PATH=$d/ejabberd.pid|" \
		-e "s|^ERL_OPTIONS=.*|ERL_OPTIONS=\"-env ERL_CRASH_DUMP_BYTES 0 -setcookie $cookie\"|" \
		/etc/ejabberd/ejabberdctl.cfg >"$d/ejabberdctl.cfg"
	grep -q '^ERL_OPTIONS=' "$d/ejabberdctl.cfg" ||
		echo "ERL_OPTIONS=\"-env ERL_CRASH_DUMP_BYTES 0 -setcookie $cookie\"" >>"$d/ejabberdctl.cfg"
	cat >>"$d/ejabberdctl.cfg" <<-EOF
		# loadtest/compare: a private node. ERL_DIST_PORT fixes the
		# distribution port, so no epmd is started; the cookie above is
		# this instance's own.
		ERLANG_NODE=$node
		ERL_DIST_PORT=$dist
		INET_DIST_INTERFACE=127.0.0.1
		ERL_MAX_PORTS=$NOFILE
	EOF
	grep -q "^EJABBERD_CONFIG_PATH=$d/ejabberd.yml" "$d/ejabberdctl.cfg" ||
		echo "EJABBERD_CONFIG_PATH=$d/ejabberd.yml" >>"$d/ejabberdctl.cfg"
	certs "$d" ejabberd:ejabberd
	chown -R ejabberd:ejabberd "$d"
	chmod 600 "$d/ejabberdctl.cfg"
	save "$d" NODE "$node"
	$(pin) runuser -u ejabberd -- bash -c "$raise_nofile; exec ejabberdctl --ctl-config '$d/ejabberdctl.cfg' --spool '$d/spool' --logs '$d/logs' start" \
		>"$d/start.log" 2>&1 </dev/null
	ejabberdctl_ "$d" started >/dev/null 2>&1 || die "ejabberd did not start (see $d/logs/ejabberd.log, $d/start.log)"
	wait_port "$port" 30 || die "ejabberd did not open port $port (see $d/logs/ejabberd.log)"
	local pid
	pid=$(pgrep -u ejabberd -f -- "beam.smp.* -sname $node " | head -1)
	[ -n "$pid" ] || die "no beam.smp process for $node"
	save "$d" PID "$pid"
	echo "$pid"
}

stop_pid() { # pid seconds
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
}

stop() { # dir
	local d=$1 NAME= PID= LAUNCHER= NODE= p
	[ -f "$d/server.state" ] || return 0
	# shellcheck disable=SC1091
	. "$d/server.state"
	case "$NAME" in
	ejabberd)
		ejabberdctl_ "$d" stop >/dev/null 2>&1 || true
		for ((i = 0; i < 200; i++)); do
			kill -0 "$PID" 2>/dev/null || break
			sleep 0.1
		done
		stop_pid "$PID" 5
		# With ERL_DIST_PORT no epmd is started. Should one have been, it
		# carries this instance's EJABBERD_CONFIG_PATH in its environment
		# (ejabberdctl exports it): stop that one, by its pid, and no other.
		for p in $(pgrep -x -u ejabberd epmd || true); do
			if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "EJABBERD_CONFIG_PATH=$d/ejabberd.yml"; then
				kill "$p" 2>/dev/null || true
			fi
		done
		;;
	*)
		stop_pid "$PID" 15
		stop_pid "$LAUNCHER" 2
		;;
	esac
	# Leftovers of this instance (erl_child_setup, eimp, memsup, ...): the
	# service user's processes that name its folder or node; by pid.
	if [ "$NAME" != meridian ]; then
		for p in $(pgrep -u "$NAME" -f -- "$d/" || true) ${NODE:+$(pgrep -u "$NAME" -f -- "$NODE" || true)}; do
			kill -9 "$p" 2>/dev/null || true
		done
	fi
	rm -f "$d/server.state"
}

adduser() { # dir user password
	local d=$1 user=$2 pw=$3 NAME= PID= NODE=
	# shellcheck disable=SC1091
	. "$d/server.state"
	case "$NAME" in
	meridian)
		printf '%s\n' "$pw" | MERIDIAN_NODE_DATA_DIR="$d/data" MERIDIAN_VHOSTS="$DOMAIN" "$BIN_MERIDIAN" user add "$user@$DOMAIN"
		;;
	prosody)
		runuser -u prosody -- prosodyctl --config "$d/prosody.cfg.lua" register "$user" "$DOMAIN" "$pw"
		;;
	ejabberd)
		ejabberdctl_ "$d" register "$user" "$DOMAIN" "$pw"
		;;
	esac
}

version() {
	case "$1" in
	meridian)
		local rev
		rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
		git -C "$ROOT" diff --quiet HEAD 2>/dev/null || rev="$rev, work tree changed"
		echo "Meridian $("$BIN_MERIDIAN" version 2>/dev/null || echo '?') ($rev)"
		;;
	prosody) echo "Prosody $(dpkg-query -W -f='${Version}' prosody) (Lua $(prosodyctl about 2>/dev/null | sed -n 's/^Lua version:[[:space:]]*Lua //p' | head -1), network_backend $PROSODY_BACKEND)" ;;
	ejabberd) echo "ejabberd $(dpkg-query -W -f='${Version}' ejabberd) (Erlang/OTP $(erl -noshell -eval 'io:format("~s",[erlang:system_info(otp_release)]),halt().' 2>/dev/null))" ;;
	*) die "unknown server $1" ;;
	esac
}

case "${1:-}" in
start)
	[ $# -eq 4 ] || die "usage: server.sh start NAME DIR PORT"
	name=$2 dir=$3 port=$4
	case "$name" in meridian | prosody | ejabberd) ;; *) die "unknown server $name" ;; esac
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	port_free "$port" || die "port $port is in use"
	# The service users must reach their folder.
	p=$dir
	while [ "$p" != / ]; do
		[ -x "$p" ] || chmod o+x "$p"
		p=$(dirname "$p")
	done
	: >"$dir/server.state"
	save "$dir" NAME "$name"
	pid=$("start_$name" "$dir" "$port")
	# Check the pinning and the open-file limit the server really has.
	if [ -n "$SERVER_CPU" ]; then
		aff=$(taskset -cp "$pid" | sed 's/.*: //')
		[ "$aff" = "$SERVER_CPU" ] || die "$name (pid $pid) runs on CPUs $aff, not $SERVER_CPU"
	fi
	nofile=$(awk '/Max open files/ {print $4}' "/proc/$pid/limits")
	save "$dir" NOFILE "$nofile"
	echo "$name: pid $pid, 127.0.0.1:$port, CPU ${SERVER_CPU:-any}, open files $nofile" >&2
	echo "$pid"
	;;
stop)
	[ $# -eq 2 ] || die "usage: server.sh stop DIR"
	stop "$(cd "$2" && pwd)"
	;;
adduser)
	[ $# -eq 4 ] || die "usage: server.sh adduser DIR USER PASSWORD"
	adduser "$(cd "$2" && pwd)" "$3" "$4"
	;;
version)
	version "$2"
	;;
*)
	sed -n '2,24p' "$0" >&2
	exit 2
	;;
esac
