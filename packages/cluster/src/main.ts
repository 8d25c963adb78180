// `npm start`: the whole Parley cluster on this machine, in the foreground until Ctrl-C.
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import type { Logger } from '@parley/protocol';
import { readCommandLine, runMain } from '@parley/protocol/node';
import { readClusterFile } from './cluster-file.js';
import { loadConfig } from './config.js';
import { START_COMMAND } from './start-command.js';
import { REPO_ROOT, startCluster } from './supervisor.js';

// Children get 5 s to exit after SIGTERM, inside the 10 s bound of the whole shutdown.
const CHILD_STOP_TIMEOUT_MS = 5000;
const FORCED_EXIT_AFTER_MS = 10_000;

runMain(async ({ stopping }) => {
  // `--help` exits 0; any option exits 2: the cluster is configured by the environment.
  readCommandLine(START_COMMAND);
  const config = loadConfig(process.env);
  // The supervisor's lines carry the same kind of prefix as the children's.
  const log = pino({ level: config.logLevel }, { write: (line: string) => process.stdout.write(`cluster | ${line}`) });
  const runDir = join(REPO_ROOT, '.run');

  warnAboutLeftovers(log, join(runDir, 'cluster.json'));

  const cluster = await startCluster({
    runDir,
    store: config.store,
    publicPort: config.publicPort,
    webCount: config.webCount,
    workerCount: config.workerCount,
    chatCount: config.chatCount,
    ...(config.secret === '' ? {} : { secret: config.secret }),
    stopTimeoutMs: CHILD_STOP_TIMEOUT_MS,
    // Ctrl-C reaches only us; we stop the children first, Redis and PostgreSQL last.
    detached: true,
    log,
    output: process.stdout,
  });
  // Ctrl-C during the start: runMain stops it as soon as we return.
  if (!stopping.aborted) {
    const ports = Object.fromEntries(cluster.processes().map((entry) => [entry.name, entry.port]));
    log.info({ url: cluster.publicUrl, store: cluster.store, ports, runDir }, 'listening');
    process.stdout.write(`\nParley is up at ${cluster.publicUrl}  (Ctrl-C stops it; processes in ${join(runDir, 'cluster.json')})\n\n`);
  }
  return { log, stop: () => cluster.stop() };
}, {
  name: 'cluster',
  forcedExitMs: FORCED_EXIT_AFTER_MS,
  // The children run in their own process groups and would outlive us: a bug
  // of the supervisor still stops them before it exits.
  stopOnUncaughtException: true,
});

/**
 * A previous run killed with SIGKILL leaves its children running. They are not
 * ours to kill, but starting next to them fails on ports in odd ways: say so.
 */
function warnAboutLeftovers(log: Logger, clusterFile: string): void {
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
