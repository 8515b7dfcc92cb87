#!/usr/bin/env bash
# The XMPP servers Meridian is compared with, from Debian's packages.
#
#   scripts/peers.sh install    install prosody, ejabberd (and taskset,
#                               openssl) if missing; print their versions
#   scripts/peers.sh versions   print the versions only
#
# Idempotent: apt-get runs only when something is missing. Debian starts a
# package's service on install; here nothing may keep 5222/5269/5280 (the
# comparison starts its own instances on free ports), so the install runs
# with a policy-rc.d that forbids starting services, and any system
# instance that is running anyway is stopped and disabled.
set -euo pipefail

versions() {
	local p e
	p=$(dpkg-query -W -f='${Version}' prosody 2>/dev/null || echo missing)
	e=$(dpkg-query -W -f='${Version}' ejabberd 2>/dev/null || echo missing)
	echo "prosody $p"
	echo "ejabberd $e"
	if [ -x /usr/bin/erl ]; then
		echo "erlang-otp $(/usr/bin/erl -noshell -eval 'io:format("~s",[erlang:system_info(otp_release)]),halt().' 2>/dev/null || echo '?')"
	fi
	if command -v prosody >/dev/null; then
		echo "prosody-lua $(prosodyctl about 2>/dev/null | sed -n 's/^Lua version: *//p' | tr -d '\t' | head -1)"
	fi
}

# Stop a system service of a package (not instances started by the
# comparison, which use their own pid files and node names).
quiet_service() {
	local svc=$1
	if [ -x "/etc/init.d/$svc" ]; then
		/etc/init.d/"$svc" stop >/dev/null 2>&1 || true
	fi
	if command -v update-rc.d >/dev/null && [ -e "/etc/init.d/$svc" ]; then
		update-rc.d "$svc" disable >/dev/null 2>&1 || true
	fi
	if [ -d /run/systemd/system ]; then
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	fi
}

install() {
	local need=()
	dpkg-query -W -f='${Status}' prosody 2>/dev/null | grep -q 'ok installed' || need+=(prosody)
	dpkg-query -W -f='${Status}' ejabberd 2>/dev/null | grep -q 'ok installed' || need+=(ejabberd)
	command -v taskset >/dev/null || need+=(util-linux)
	command -v openssl >/dev/null || need+=(openssl)
	command -v runuser >/dev/null || need+=(util-linux)
	if ((${#need[@]})); then
		# Forbid service starts during the install; keep a policy-rc.d that
		# was already there (container images ship one).
		own_policy=
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			printf '#!/bin/sh\n# scripts/peers.sh: no service starts during install\nexit 101\n' >/usr/sbin/policy-rc.d
			chmod 755 /usr/sbin/policy-rc.d
			own_policy=1
		fi
		trap '[ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
		if ! apt-get install -y -qq --no-install-recommends --dry-run "${need[@]}" >/dev/null 2>&1; then
			apt-get update -qq
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
		[ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
		trap - EXIT
		quiet_service prosody
		quiet_service ejabberd
	fi
	# A system instance left over from an earlier install (its own pid
	# file, default node name) would hold the standard ports.
	if [ -f /run/prosody/prosody.pid ] && kill -0 "$(cat /run/prosody/prosody.pid)" 2>/dev/null; then
		quiet_service prosody
	fi
	if [ -f /run/ejabberd/ejabberd.pid ] && kill -0 "$(cat /run/ejabberd/ejabberd.pid)" 2>/dev/null; then
		quiet_service ejabberd
	fi
	versions
}

case "${1:-}" in
install) install ;;
versions) versions ;;
*)
	echo "usage: $0 install|versions" >&2
	exit 2
	;;
esac
