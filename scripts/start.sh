#!/usr/bin/env bash
# `npm start`: install what is missing, build, run the whole cluster in the
# foreground (Ctrl-C stops it). PORT, PARLEY_WEB_COUNT, PARLEY_WORKER_COUNT,
# PARLEY_CHAT_COUNT and PARLEY_LOG_LEVEL are read from the environment;
# `npm start -- --help` lists them. The supervisor reads the command line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
main=packages/cluster/dist/main.js
# --help answers at once from an earlier build rather than after setup and build.
if [ -f "$main" ]; then
  for arg in "$@"; do case "$arg" in --help | -h) exec node "$main" --help ;; --) break ;; esac; done
fi
bash scripts/setup.sh
npm run build --silent
# Every parked observe is a descriptor in nginx (two) and in a chatserver:
# raise the soft open-files limit to the hard one; nginx sizes its
# worker_connections from it (docs/SCALING.md, "Open files").
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# exec: Ctrl-C and SIGTERM go straight to the supervisor, which stops everything.
exec node "$main" "$@"
