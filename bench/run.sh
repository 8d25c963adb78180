#!/usr/bin/env bash
# `npm run bench -- SCENARIO [options]`: checks the bench's dependencies, raises
# the soft open-files limit to the hard one (every parked observe is one socket
# in the generator and one in the server; the servers inherit the limit), and
# runs bench/main.ts. See docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# --help answers at once, before the dependency checks.
for arg in "$@"; do case "$arg" in --help | -h) exec node --import tsx bench/main.ts --help ;; --) break ;; esac; done
bash bench/setup.sh >&2
ulimit -n "$(ulimit -Hn)"
exec node --import tsx bench/main.ts "$@"
