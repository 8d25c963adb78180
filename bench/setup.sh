#!/usr/bin/env bash
# Installs what the benchmarks need beyond `scripts/setup.sh`: nginx with the
# Nchan module (the C long-poll baseline) and taskset/prlimit (util-linux).
# As root it installs the Debian packages that are missing; otherwise it
# prints what to install and fails. It never starts the system nginx: the
# bench runs a private one on a free port.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'bench setup: %s\n' "$*"; }

bash scripts/setup.sh
# shellcheck source=scripts/apt-install.sh
source scripts/apt-install.sh

missing=()
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then missing+=(nginx); fi
if [ ! -e "${NCHAN_MODULE:-/usr/lib/nginx/modules/ngx_nchan_module.so}" ]; then missing+=(libnginx-mod-nchan); fi
if ! command -v taskset >/dev/null 2>&1 || ! command -v prlimit >/dev/null 2>&1; then missing+=(util-linux); fi

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]}"
    status=0
    apt_install "${missing[@]}" || status=$?
    if [ "$status" -ne 0 ]; then
      say "apt-get failed (exit $status)"
      exit "$status"
    fi
  else
    say "missing: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}"
    exit 1
  fi
fi

# The bench runs dist/ of chatserver, loadtest, cluster and protocol: bring it
# up to date every time (about a second when nothing changed), or a checkout
# that pulled new sources would measure the old build.
npx tsc -b
