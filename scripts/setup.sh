#!/usr/bin/env bash
# Installs what Parley needs and is missing; does nothing when all is there.
#   system: node >= 20.19, redis-server, nginx, postgresql (its server programs,
#           for the PostgreSQL store's tests and PARLEY_STORE=postgres), chromium (browser tests),
#           docker-compose (only to validate docker-compose.yml; optional),
#           fonts-noto-color-emoji (emoji in Chromium's screenshots; optional),
#           faketime (the multihost clock-skew scenario; optional),
#           slowhttptest (slowloris and slow-read floods of `npm run test:attack`; optional)
#   npm:    node_modules, reinstalled with `npm ci` when it no longer matches
#           package-lock.json (compared by content: scripts/modules-match-lock.mjs)
# As root it installs system packages with apt-get; otherwise it prints what
# to install and fails. It never starts or enables the system redis, nginx or
# PostgreSQL: Parley runs private instances of them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'setup: %s\n' "$*"; }
# shellcheck source=scripts/apt-install.sh
source scripts/apt-install.sh

if ! command -v node >/dev/null 2>&1; then
  say "node is missing: install Node.js 20.19 or newer (https://nodejs.org or your distribution's nodejs package)"
  exit 1
fi
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)'; then
  say "node $(node --version) is too old: Parley needs 20.19 or newer"
  exit 1
fi

# command -> Debian package
declare -A packages=([redis-server]=redis-server [nginx]=nginx [chromium]=chromium)
missing=()
for command in "${!packages[@]}"; do
  # nginx lives in /usr/sbin, which is not on every user's PATH.
  if ! command -v "$command" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$command" ]; then
    missing+=("${packages[$command]}")
  fi
done
# Debian keeps PostgreSQL's server programs off PATH, under /usr/lib/postgresql/<major>/bin.
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && ! command -v postgres >/dev/null 2>&1; then
  missing+=(postgresql)
fi
optional=()
if ! command -v docker-compose >/dev/null 2>&1; then optional+=(docker-compose); fi
# A colour emoji font, so emoji in the README's screenshots are not empty boxes
# (the page's font stack names it; nothing fails without it).
if [ ! -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then optional+=(fonts-noto-color-emoji); fi
# faketime: the multihost test runs one host's clock 30 s ahead with it.
if ! command -v faketime >/dev/null 2>&1; then optional+=(faketime); fi
if ! command -v slowhttptest >/dev/null 2>&1; then optional+=(slowhttptest); fi

if [ "${#missing[@]}" -gt 0 ] || { [ "${#optional[@]}" -gt 0 ] && [ "$(id -u)" -eq 0 ]; }; then
  wanted=("${missing[@]}" "${optional[@]}")
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${wanted[*]}"
    status=0
    apt_install "${wanted[@]}" || status=$?
    if [ "$status" -ne 0 ]; then
      # docker-compose and slowhttptest are optional: their tests skip without them.
      if [ "${#missing[@]}" -gt 0 ]; then
        say "apt-get failed (exit $status)"
        exit "$status"
      fi
      say "could not install ${optional[*]} (optional: docker-compose's test is skipped, emoji show as boxes)"
    fi
  elif [ "${#missing[@]}" -gt 0 ]; then
    say "missing: ${missing[*]}"
    say "install them, e.g.: sudo apt-get install -y ${missing[*]}${optional:+ ${optional[*]}}"
    exit 1
  fi
fi

if ! node scripts/modules-match-lock.mjs; then
  say "installing node modules (npm ci)"
  npm ci --no-audit --no-fund
fi
