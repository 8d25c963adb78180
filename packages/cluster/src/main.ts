// `npm start`: the whole Parley cluster on this machine, in the foreground until Ctrl-C.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { ConfigError, readCommandLine } from '@parley/protocol/node';
import { readClusterFile } from './cluster-file.js';
import { loadConfig } from './config.js';
import { START_COMMAND } from './start-command.js';
import { REPO_ROOT, startCluster, type ClusterHandle } from './supervisor.js';

// Children get 5 s to exit after SIGTERM, inside the 10 s bound of the whole shutdown.
const CHILD_STOP_TIMEOUT_MS = 5000;
const FORCED_EXIT_AFTER_MS = 10_000;

// `--help` exits 0; any option exits 2: the cluster is configured by the environment.
readCommandLine(START_COMMAND);
const config = readConfigOrExit();
// The supervisor's lines carry the same kind of prefix as the children's.
const log = pino({ level: config.logLevel }, { write: (line: string) => process.stdout.write(`cluster | ${line}`) });
const runDir = join(REPO_ROOT, '.run');

warnAboutLeftovers(join(runDir, 'cluster.json'));

let starting: Promise<ClusterHandle> | undefined;
let shuttingDown = false;

async function shutdown(reason: string, exitCode = 0): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  log.info({ reason }, 'shutting down');
  setTimeout(() => {
    log.error({ afterMs: FORCED_EXIT_AFTER_MS }, 'shutdown took too long; exiting');
    process.exit(1);
  }, FORCED_EXIT_AFTER_MS).unref();
  // Ctrl-C while starting: let the start finish (bounded above), then stop it all.
  const cluster = await starting?.catch(() => undefined);
  await cluster?.stop();
  process.exit(exitCode);
}
process.on('SIGINT', (signal) => void shutdown(signal));
process.on('SIGTERM', (signal) => void shutdown(signal));
// The children run in their own process groups and would outlive us: a bug of
// the supervisor still stops them before it exits.
process.on('uncaughtException', (error) => {
  log.error({ err: error.message }, 'supervisor failed');
  void shutdown('uncaught exception', 1);
});

let cluster: ClusterHandle;
try {
  starting = startCluster({
    runDir,
    publicPort: config.publicPort,
    webCount: config.webCount,
    workerCount: config.workerCount,
    chatCount: config.chatCount,
    ...(config.secret === '' ? {} : { secret: config.secret }),
    stopTimeoutMs: CHILD_STOP_TIMEOUT_MS,
    // Ctrl-C reaches only us; we stop the children first and Redis last.
    detached: true,
    log,
    output: process.stdout,
  });
  cluster = await starting;
} catch (error) {
  log.error({ err: (error as Error).message }, 'cluster failed to start');
  process.exit(shuttingDown ? 0 : 1);
}
// Ctrl-C during the start: shutdown() is stopping it now.
if (shuttingDown) await new Promise<never>(() => undefined);

const ports = Object.fromEntries(cluster.processes().map((entry) => [entry.name, entry.port]));
log.info({ url: cluster.publicUrl, ports, runDir }, 'listening');
process.stdout.write(`\nParley is up at ${cluster.publicUrl}  (Ctrl-C stops it; processes in ${join(runDir, 'cluster.json')})\n\n`);

function readConfigOrExit(): ReturnType<typeof loadConfig> {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

/**
 * A previous run killed with SIGKILL leaves its children running. They are not
 * ours to kill, but starting next to them fails on ports in odd ways: say so.
 */
function warnAboutLeftovers(clusterFile: string): void {
  if (!existsSync(clusterFile)) return;
  try {
    for (const entry of readClusterFile(clusterFile)) {
      if (entry.pid !== null && isAlive(entry.pid)) {
        log.warn({ process: entry.name, childPid: entry.pid }, 'a process of an earlier run may still be running');
      }
    }
  } catch {
    // An unreadable file from an earlier run is simply rewritten.
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
