#!/usr/bin/env bash
# Idempotent installer for every outside tool the test suite and benchmarks use.
# Debian packages are installed only when their command is missing; Kafka jars are
# fetched from Maven Central by ops/services (cached under ~/.cache/siphon-ts/kafka).
# Usage: ops/install-deps.sh [test|bench|all]   (default: test)
set -euo pipefail
what=${1:-test}

# command -> Debian package
declare -A need=(
  [sipp]=sip-tester
  [baresip]=baresip
  [sipsak]=sipsak
  [svmap]=sipvicious
  [linphonec]=linphone-cli
  [kamailio]=kamailio
  [redis-server]=redis-server
  [clickhouse-server]=clickhouse-server
  [java]=openjdk-17-jre-headless
  [mvn]=maven
  [pg_ctl]=postgresql
  [ss]=iproute2
  [curl]=curl
  [gcc]=gcc
  [g++]=g++
  [make]=make
  [dnsmasq]=dnsmasq-base
  [python3]=python3
  [openssl]=openssl
)
if [ "$what" = bench ] || [ "$what" = all ]; then
  need[etcd]=etcd-server
  need[etcdctl]=etcd-client
fi

have() {
  case "$1" in
    pg_ctl) command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 ;;
    clickhouse-server) command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] ;;
    redis-server) command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] ;;
    dnsmasq) command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for cmd in "${!need[@]}"; do have "$cmd" || missing+=("${need[$cmd]}"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # policy-rc.d-less images may try to start packaged services; we never use them.
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The packaged services must not hold the ports our tests pick (no systemd here; be safe).
for svc in kamailio redis-server clickhouse-server; do
  if command -v service >/dev/null 2>&1 && service "$svc" status >/dev/null 2>&1; then
    service "$svc" stop >/dev/null 2>&1 || true
  fi
done
# sockopt (an optional dependency: DSCP marking, node/transport/dscp.ts) is compiled by node-gyp
# during `npm ci`. On a machine that had no compiler then, npm left it out: build it now that there is one.
cd "$(dirname "$0")/.."
if [ -d node_modules ] && ! node -e "require('sockopt')" >/dev/null 2>&1; then
  echo "install-deps: building the optional sockopt addon" >&2
  npm install --no-save --no-audit --no-fund "sockopt@$(node -p "require('./package.json').optionalDependencies.sockopt")" >/dev/null
fi
exit 0
