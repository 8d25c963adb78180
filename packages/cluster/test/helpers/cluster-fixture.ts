import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logTails, startCluster, type ClusterHandle, type ClusterOptions } from '../../src/supervisor.js';

/** Bound on starting a whole cluster on a busy 2-core machine. */
const START_TIMEOUT_MS = 60_000;

/**
 * Every test request comes from loopback through nginx: one client address
 * for a whole suite, saying faster than a person would. Tests of delivery
 * turn the abuse limits off; tests of the limits set their own.
 */
export const NO_RATE_LIMITS: Readonly<Record<string, string>> = Object.freeze({
  PARLEY_RATE_SAY_PER_SESSION: '0',
  PARLEY_RATE_SAY_PER_IP: '0',
  PARLEY_RATE_SESSION_PER_IP: '0',
  PARLEY_RATE_ENTER_PER_SESSION: '0',
  PARLEY_RATE_SIGNUP_PER_IP: '0',
  PARLEY_RATE_SIGNIN_PER_IP: '0',
});

/** What a cluster test file holds: the running cluster, set in `before`. */
export interface ClusterFixture {
  readonly cluster: ClusterHandle;
}

/**
 * Starts ONE cluster for the calling `describe` (2 web, 1 worker, 2
 * chatservers, nginx on a free port, everything in a temp dir) and stops it
 * afterwards. When a test fails, the tail of every child's log is printed.
 */
export function useCluster(options: Partial<Omit<ClusterOptions, 'runDir'>> = {}): ClusterFixture {
  let running: ClusterHandle | undefined;
  let runDir: string | undefined;

  before(async function () {
    this.timeout(START_TIMEOUT_MS + 10_000);
    runDir = mkdtempSync(join(tmpdir(), 'parley-cluster-'));
    // mkdtemp makes it 700; as root PostgreSQL runs as another user, who must
    // reach its data directory under it (or the data would outlive rmSync).
    chmodSync(runDir, 0o755);
    running = await startCluster({
      runDir,
      publicPort: 0,
      webCount: 2,
      workerCount: 1,
      chatCount: 2,
      startTimeoutMs: START_TIMEOUT_MS,
      stopTimeoutMs: 5000,
      ...options,
      env: {
        // The relay re-queues unacknowledged outbox rows sooner, so a test of a
        // Redis outage does not wait the production 3 s for it.
        PARLEY_OUTBOX_RELAY_MS: '500',
        ...NO_RATE_LIMITS,
        ...options.env,
      },
    });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed' && runDir) {
      console.error(`\n${logTails(runDir, 25)}\n`);
    }
  });

  after(async function () {
    this.timeout(30_000);
    await running?.stop();
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  });

  return {
    get cluster(): ClusterHandle {
      if (!running) throw new Error('the cluster did not start');
      return running;
    },
  };
}
