#!/usr/bin/env bash
# Makes sure a system tool the project needs is installed, installing it with
# apt-get when that is possible, and otherwise failing with what to install.
#
#   scripts/deps.sh redis     redis-server, for `make run` and the tests
#   scripts/deps.sh toolchain go, java and mvn, which the tests need
#   scripts/deps.sh quant     kcat and a python3 that makes venvs, for the tests
#                             that read the flow topic as outside tools do
#   scripts/deps.sh browser   node, npm and Debian's chromium, for the web app's tests
#   scripts/deps.sh haproxy   Debian's haproxy, the load balancer of the scale-out tests
set -euo pipefail

say() { echo "deps: $*" >&2; }
die() { echo "deps: ERROR: $*" >&2; exit 1; }

apt_install() { # package, why
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    die "$1 is missing and cannot be installed here (needs root and apt-get): install it, then retry; it is needed $2"
  fi
  say "installing $1 with apt-get (needed $2)"
  # A package that starts its own service at install (redis-server does) is
  # kept from doing so: the project starts private instances on free ports.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null \
      || die "apt-get could not install $1; install it by hand, then retry"
  fi
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
}

case "${1:-}" in
redis)
  command -v redis-server >/dev/null || apt_install redis-server "to run Redis locally and in tests"
  ;;
quant)
  command -v kcat >/dev/null || apt_install kcat "to read Kafka topics from the command line in tests"
  command -v python3 >/dev/null || apt_install python3 "to run the Python example against Kafka in tests"
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv "to make a virtualenv for the Python example"
  ;;
toolchain)
  command -v go >/dev/null || die "go is missing: install Go 1.26 or newer"
  command -v java >/dev/null || die "java is missing: install Java 17+ (the real Kafka broker of the tests runs on it)"
  command -v mvn >/dev/null || apt_install maven "to fetch the Apache Kafka jars for the real-broker tests"
  ;;
browser)
  command -v node >/dev/null || die "node is missing: install Node.js 20 or newer (the web app is built and tested with it)"
  command -v npm >/dev/null || die "npm is missing: install npm (it fetches the web app's packages from the npm registry)"
  # The browser tests drive Debian's Chromium; playwright's own browser
  # downloads are never used.
  command -v chromium >/dev/null || apt_install chromium "for the web app's browser tests (playwright-core drives it)"
  ;;
haproxy)
  # The scale-out tests put several edges behind a real load balancer.
  command -v haproxy >/dev/null || apt_install haproxy "for the scale-out tests (edges behind a load balancer)"
  ;;
*)
  die "usage: $0 redis|toolchain|quant|browser|haproxy"
  ;;
esac
