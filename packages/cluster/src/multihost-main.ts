// `npm run start:multihost`: three hosts in network namespaces on this machine, in the foreground until Ctrl-C.
import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigError, environmentHelp, readCommandLine, readConfig, type CommandSpec, type ConfigSchema } from '@parley/protocol/node';
import { clusterConfigSchema, type ClusterConfig } from './config.js';
import { startMultihostCluster, type MultihostHandle } from './multihost.js';
import { multihostUnavailableReason, removeLeftoverNetworks } from './netns.js';
import { REPO_ROOT } from './supervisor.js';

// Everything (PostgreSQL's checkpoint included) gets this long after Ctrl-C.
const FORCED_EXIT_AFTER_MS = 30_000;
const CHILD_STOP_TIMEOUT_MS = 5000;

type MultihostConfig = Pick<ClusterConfig, 'publicPort' | 'logLevel' | 'secret'>;
const multihostConfigSchema: ConfigSchema<MultihostConfig> = {
  publicPort: clusterConfigSchema.publicPort,
  logLevel: clusterConfigSchema.logLevel,
  secret: clusterConfigSchema.secret,
};

const MULTIHOST_COMMAND = {
  command: 'npm run start:multihost --',
  summary:
    'Runs Parley over three hosts, each a network namespace of this machine on one bridge (needs root):\n' +
    'hosts a and b run web, worker, chatserver, a Redis replica and a Sentinel; host c runs PostgreSQL,\n' +
    'the Redis primary and a Sentinel; nginx on 127.0.0.1:PORT routes to a and b. Every process is\n' +
    'restarted when it dies; .run-multihost/cluster.json lists them ("primary": true on the current\n' +
    'Redis primary). Ctrl-C stops every process and removes the namespaces.',
  options: {},
  environment: environmentHelp(
    multihostConfigSchema,
    { publicPort: "nginx's port on 127.0.0.1", logLevel: "the supervisor's log level", secret: 'HMAC secret of internal requests, at least 32 characters' },
    { secret: 'random per run' },
  ),
  notes: 'Every other PARLEY_* variable is passed to the web, worker and chatserver processes.',
} as const satisfies CommandSpec;

readCommandLine(MULTIHOST_COMMAND);
let config: Readonly<MultihostConfig>;
try {
  config = readConfig(multihostConfigSchema, process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
const log = pino({ level: config.logLevel }, { write: (line: string) => process.stdout.write(`cluster | ${line}`) });
const unavailable = await multihostUnavailableReason();
if (unavailable !== undefined) {
  process.stderr.write(`start:multihost ${unavailable}\n`);
  process.exit(1);
}
const runDir = join(REPO_ROOT, '.run-multihost');

let starting: Promise<MultihostHandle> | undefined;
let shuttingDown = false;
async function shutdown(reason: string, exitCode = 0): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  log.info({ reason }, 'shutting down');
  setTimeout(() => {
    log.error({ afterMs: FORCED_EXIT_AFTER_MS }, 'shutdown took too long; removing the namespaces and exiting');
    void removeLeftoverNetworks().finally(() => process.exit(1));
  }, FORCED_EXIT_AFTER_MS).unref();
  const cluster = await starting?.catch(() => undefined);
  await cluster?.stop();
  process.exit(exitCode);
}
process.on('SIGINT', (signal) => void shutdown(signal));
process.on('SIGTERM', (signal) => void shutdown(signal));
process.on('uncaughtException', (error) => {
  log.error({ err: error.message }, 'supervisor failed');
  void shutdown('uncaught exception', 1);
});

// A run killed with SIGKILL left namespaces (and the processes in them): remove them by name.
const leftovers = await removeLeftoverNetworks();
if (leftovers.length > 0) log.warn({ removed: leftovers }, 'removed the namespaces of an earlier run');

let cluster: MultihostHandle;
try {
  starting = startMultihostCluster({
    runDir,
    publicPort: config.publicPort,
    ...(config.secret === '' ? {} : { secret: config.secret }),
    stopTimeoutMs: CHILD_STOP_TIMEOUT_MS,
    detached: true,
    log,
    output: process.stdout,
  });
  cluster = await starting;
} catch (error) {
  log.error({ err: (error as Error).message }, 'multihost cluster failed to start');
  process.exit(shuttingDown ? 0 : 1);
}
if (shuttingDown) await new Promise<never>(() => undefined);
const hosts = Object.fromEntries(cluster.network.hosts().map((host) => [host.name, host.address]));
log.info({ url: cluster.publicUrl, hosts, runDir }, 'listening');
process.stdout.write(`\nParley (3 hosts) is up at ${cluster.publicUrl}  (Ctrl-C stops it; processes in ${join(runDir, 'cluster.json')})\n\n`);
