#!/usr/bin/env bash
# `npm start`: install what is missing, build, run the whole cluster in the
# foreground (Ctrl-C stops it). PORT, PARLEY_WEB_COUNT, PARLEY_WORKER_COUNT,
# PARLEY_CHAT_COUNT and PARLEY_LOG_LEVEL are read from the environment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
npm run build --silent
# exec: Ctrl-C and SIGTERM go straight to the supervisor, which stops everything.
exec node packages/cluster/dist/main.js
