#!/usr/bin/env bash
# `npm run bench -- SCENARIO [options]`: checks the bench's dependencies, raises
# the soft open-files limit to the hard one (every parked observe is one socket
# in the generator and one in the server; the servers inherit the limit), and
# runs bench/main.ts. See docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Help needs nothing installed.
for arg in "$@"; do
  if [ "$arg" = "--help" ] || [ "$arg" = "-h" ]; then exec node --import tsx bench/main.ts --help; fi
done
bash bench/setup.sh >&2
ulimit -n "$(ulimit -Hn)"
exec node --import tsx bench/main.ts "$@"
