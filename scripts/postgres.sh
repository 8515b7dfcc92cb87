#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests and the local cluster:
#
#   scripts/postgres.sh start DIR PORT   initdb into DIR (when empty), start
#                                        on 127.0.0.1:PORT, print the DSN
#   scripts/postgres.sh stop DIR         stop it (fast shutdown)
#
# The server trusts local connections (a test server: loopback only, no
# password) and keeps its socket in DIR. PostgreSQL refuses to run as
# root: as root it runs as the postgres user the Debian package creates.
# It runs without fsync unless MERIDIAN_PG_DURABLE=1.
# make deps installs Debian's postgresql; MERIDIAN_PG_BIN overrides where
# initdb and pg_ctl are.
set -euo pipefail

bin=${MERIDIAN_PG_BIN:-}
if [[ -z $bin ]]; then
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
fi
if [[ -z $bin || ! -x $bin/pg_ctl ]]; then
	echo "postgres.sh: PostgreSQL not found (/usr/lib/postgresql/*/bin); run make deps or set MERIDIAN_PG_BIN" >&2
	exit 1
fi

as=()
if ((EUID == 0)); then
	as=(runuser -u postgres --)
fi

case ${1:-} in
start)
	dir=${2:?DIR} port=${3:?PORT}
	mkdir -p "$dir"
	if ((EUID == 0)); then
		chown postgres "$dir"
		"${as[@]}" test -x "$dir" || { echo "postgres.sh: the postgres user cannot reach $dir (make its parents world-searchable)" >&2; exit 1; }
	fi
	if [[ ! -f $dir/PG_VERSION ]]; then
		"${as[@]}" "$bin/initdb" -D "$dir" -U meridian --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 ||
			{ cat "$dir.initdb.log" >&2; exit 1; }
	fi
	# Tests do not need the data to survive a crash of the machine;
	# MERIDIAN_PG_DURABLE=1 keeps PostgreSQL's defaults (benchmarks).
	fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	if [[ ${MERIDIAN_PG_DURABLE:-} == 1 ]]; then fast=""; fi
	"${as[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir $fast" start >/dev/null ||
		{ cat "$dir/server.log" >&2; exit 1; }
	echo "postgres://meridian@127.0.0.1:$port/postgres?sslmode=disable"
	;;
stop)
	dir=${2:?DIR}
	[[ -f $dir/postmaster.pid ]] || exit 0
	"${as[@]}" "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
	;;
*)
	echo "usage: $0 start DIR PORT | stop DIR" >&2
	exit 2
	;;
esac
