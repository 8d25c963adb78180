import { environmentHelp, type CommandSpec } from '@parley/protocol/node';
import { clusterConfigSchema } from './config.js';

/** What `npm start -- --help` says. `npm start` takes no options: it is configured by the environment. */
export const START_COMMAND = {
  command: 'npm start --',
  summary:
    'Runs the whole Parley cluster on this machine in the foreground: a private redis-server, web processes,\n' +
    'workers and chatservers on free ports, and nginx in front. It installs what is missing and builds first,\n' +
    'writes .run/cluster.json (every process with its pid and ports), and stops everything on Ctrl-C.',
  options: {},
  environment: environmentHelp(
    clusterConfigSchema,
    {
      publicPort: "nginx's public port",
      webCount: 'web processes, 1–32',
      workerCount: 'worker processes, 0–32',
      chatCount: 'chatservers, 1–32',
      logLevel: "the supervisor's log level; also passed to every child",
      secret: 'HMAC secret of internal requests, at least 32 characters',
    },
    { secret: 'random per run' },
  ),
  notes:
    'Every other PARLEY_* variable is passed to the children (see the configuration table in README.md);\n' +
    'addresses, ports, the Redis URL, the database path and the web URLs are set by the supervisor.',
} as const satisfies CommandSpec;
