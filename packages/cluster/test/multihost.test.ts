import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { readClusterFile } from '../src/cluster-file.js';
import { MULTIHOST_REDIS_MASTER, startMultihostCluster, type MultihostHandle, type MultihostOptions } from '../src/multihost.js';
import { multihostUnavailableReason } from '../src/netns.js';
import { sleep } from '../src/wait.js';
import { NO_RATE_LIMITS } from './helpers/cluster-fixture.js';
import { formatReport, Traffic, type TrafficReport } from './helpers/traffic.js';

// `npm test` runs the short form (Redis primary killed, SENTINEL FAILOVER);
// `npm run test:multihost` (PARLEY_MULTIHOST=long) runs every scenario of
// issue 11 and the live scale, about 5 minutes (PostgreSQL's crash recovery
// alone is 10-30 s of it, which keeps that scenario out of `npm test`).
const LONG = process.env.PARLEY_MULTIHOST === 'long';
// Says retried for up to 30 s: PostgreSQL's crash recovery on a loaded 2-core
// machine alone takes 5–10 s on top of the 5 s it is down.
const SHAPE = { observers: 12, rooms: 3, speakers: 3, saysPerSecond: 10, sayRetryMs: 30_000 };
/** Steady traffic before the fault and after it. */
const PHASE_MS = LONG ? 3000 : 1500;
/** The bound on a delivery stall during a Redis fault. */
const REDIS_FAULT_BOUND_MS = 15_000;
/**
 * Observers parked on a host that is cut off wait for their client's own
 * timeout (hold 5 s + 10 s) before re-polling through nginx, which then
 * reaches the other host after its 2 s connect timeout.
 */
const PARTITION_BOUND_MS = 20_000;
/** Catch-up (5 s) plus the outbox relay and a re-poll. */
const PROCESS_FAULT_BOUND_MS = 10_000;
const PARTITION_MS = 20_000;
const POSTGRES_OUTAGE_MS = 5000;
/** Says may fail while PostgreSQL is down and this long after. */
const POSTGRES_GRACE_MS = 2000;

interface ScenarioOptions {
  label: string;
  /** Bound on the longest stall; a function is asked after the fault (a bound that includes an outage's length). */
  boundMs: number | (() => number);
  /** The fault; resolves when the cluster is whole again. */
  fault: (traffic: Traffic) => Promise<void>;
}

/** Steady says and observers through nginx, one fault, then every delivery checked. */
async function runScenario(cluster: MultihostHandle, options: ScenarioOptions): Promise<{ report: TrafficReport; traffic: Traffic }> {
  const traffic = await Traffic.start({ baseUrl: cluster.publicUrl, label: options.label, ...SHAPE });
  try {
    traffic.startSaying();
    await sleep(PHASE_MS);
    const faultStartedAt = Date.now();
    await options.fault(traffic);
    const faultEndedAt = Date.now();
    const faultMs = faultEndedAt - faultStartedAt;
    await sleep(PHASE_MS);
    await traffic.stopSaying();
    const boundMs = typeof options.boundMs === 'number' ? options.boundMs : options.boundMs();
    const drainMs = await traffic.waitDelivered(boundMs);
    const report = await traffic.verify();
    // Why says were retried, and the last retry relative to the fault's end: what a failure needs explained.
    const reasons = new Map<string, number>();
    for (const { reason } of traffic.retries) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    const lastRetry = traffic.retries.at(-1);
    console.log(`      ${formatReport(report, { faultMs, drainMs, boundMs })}`);
    if (lastRetry !== undefined) {
      const summary = [...reasons].map(([reason, count]) => `${count}× ${reason}`).join('; ');
      console.log(`      say retries: ${summary}; last ${lastRetry.at - faultEndedAt} ms after the fault ended`);
    }
    expect(report.acknowledged, 'every say acknowledged').to.equal(report.sent);
    expect(report.failedSays, 'failed says').to.equal(0);
    expect(report.lost, 'lost events').to.equal(0);
    expect(report.duplicated, 'duplicated events').to.equal(0);
    expect(report.reordered, 'reordered events').to.equal(0);
    expect(report.delivered).to.be.above(0);
    expect(report.longestStallMs, 'longest stall').to.be.at.most(boundMs);
    return { report, traffic };
  } finally {
    await traffic.stop();
  }
}

/** Says nginx sent to a second web process after the first failed (its access log lists both upstreams). */
function saysReplayedByNginx(cluster: MultihostHandle): number {
  const accessLog = readFileSync(join(cluster.runDir, 'nginx', 'access.log'), 'utf8');
  return accessLog.split('\n').filter((line) => line.includes('/say ') && /upstream=[^ ]+, /.test(line)).length;
}

/** Waits (bounded) until the Sentinels name a primary other than `previous`. */
async function awaitNewPrimary(cluster: MultihostHandle, previous: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await cluster.primaryHost();
    if (now !== undefined && now !== previous) return now;
    if (Date.now() > deadline) throw new Error(`the Sentinels still name ${previous} as primary after ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function currentPrimary(cluster: MultihostHandle): Promise<string> {
  const host = await cluster.primaryHost();
  if (host === undefined) throw new Error('no Sentinel answered');
  return host;
}

/** Starts a multihost cluster for one `describe`, stopped (namespaces removed) after it. */
function useMultihostCluster(options: Partial<MultihostOptions> = {}): { readonly cluster: MultihostHandle } {
  let cluster: MultihostHandle | undefined;
  let runDir: string | undefined;
  let failed = false;
  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });
  before(async function () {
    const reason = await multihostUnavailableReason();
    if (reason !== undefined) {
      console.log(`    skipped: the multihost cluster ${reason}`);
      this.skip();
    }
    runDir = mkdtempSync(join(tmpdir(), 'parley-multihost-'));
    cluster = await startMultihostCluster({ runDir, env: NO_RATE_LIMITS, ...options });
  });
  after(async function () {
    await cluster?.stop();
    // A failure keeps the logs of every process for whoever reads the report.
    if (failed && runDir !== undefined) console.log(`    logs kept in ${runDir}/logs`);
    else if (runDir !== undefined) rmSync(runDir, { recursive: true, force: true });
  });
  return {
    get cluster() {
      if (cluster === undefined) throw new Error('the multihost cluster did not start');
      return cluster;
    },
  };
}

describe('multihost: three hosts in network namespaces, Redis Sentinel, PostgreSQL', function () {
  this.timeout(LONG ? 900_000 : 180_000);
  const fixture = useMultihostCluster();

  it('writes cluster.json with every process on its host and "primary": true on the Redis primary', async () => {
    const { cluster } = fixture;
    const entries = readClusterFile(join(cluster.runDir, 'cluster.json'));
    const where = entries.map((entry) => `${entry.name}@${entry.host}`);
    for (const host of ['a', 'b']) {
      for (const role of ['web', 'worker', 'chatserver', 'redis', 'sentinel']) expect(where).to.include(`${role}-${host}@${host}`);
    }
    expect(where).to.include.members(['postgres-c@c', 'redis-c@c', 'sentinel-c@c', 'nginx@root']);
    expect(entries.filter((entry) => entry.primary === true).map((entry) => entry.host)).to.deep.equal([await currentPrimary(cluster)]);
    expect(entries.every((entry) => entry.pid !== null && entry.pid > 0)).to.equal(true);
  });

  it('Redis primary killed with -9: a Sentinel promotes a replica, nothing lost, stall ≤ 15 s', async () => {
    const { cluster } = fixture;
    const before = await currentPrimary(cluster);
    let after = before;
    await runScenario(cluster, {
      label: 'mh-primary-kill',
      boundMs: REDIS_FAULT_BOUND_MS,
      fault: async () => {
        const primary = cluster.redis.get(before);
        if (primary === undefined) throw new Error(`no redis-server on host ${before}`);
        // Kept down until a replica is promoted: the supervisor would restart it
        // within 250 ms, before the Sentinels (down after 2 s) ever saw it gone.
        await primary.kill();
        await primary.stop();
        after = await awaitNewPrimary(cluster, before);
        // Back, it is the old primary with old data: the Sentinels make it a replica of the new one.
        await primary.start();
      },
    });
    expect(after).to.not.equal(before);
  });

  it('SENTINEL FAILOVER forced: nothing lost, stall ≤ 15 s', async () => {
    const { cluster } = fixture;
    const before = await currentPrimary(cluster);
    await runScenario(cluster, {
      label: 'mh-sentinel-failover',
      boundMs: REDIS_FAULT_BOUND_MS,
      fault: async () => {
        const sentinel = cluster.sentinels.get('c');
        const client = new Redis({ host: sentinel?.host ?? '', port: sentinel?.port ?? 0, maxRetriesPerRequest: 1 });
        try {
          // Right after a kill the old primary may still be coming back as a replica: retry until accepted.
          const deadline = Date.now() + 20_000;
          for (;;) {
            try {
              await client.call('SENTINEL', 'FAILOVER', MULTIHOST_REDIS_MASTER);
              break;
            } catch (error) {
              if (Date.now() > deadline) throw error;
              await sleep(500);
            }
          }
        } finally {
          client.disconnect();
        }
        await awaitNewPrimary(cluster, before);
      },
    });
  });

  if (LONG) {
    it('PostgreSQL stopped with -m immediate and started again: says fail only during the outage (+ ≤ 2 s), nothing lost', async () => {
      const { cluster } = fixture;
      let stoppedAt = 0;
      let startedAt = 0;
      const { traffic } = await runScenario(cluster, {
        label: 'mh-postgres-immediate',
        // An event acknowledged just before the stop may need the web tier (gap
        // repair, catch-up), which waits for PostgreSQL: the outage plus the usual bound.
        boundMs: () => startedAt - stoppedAt + PROCESS_FAULT_BOUND_MS,
        fault: async () => {
          stoppedAt = Date.now();
          await cluster.postgres.stopImmediate();
          await sleep(POSTGRES_OUTAGE_MS);
          await cluster.postgres.start();
          startedAt = Date.now();
        },
      });
      const outside = traffic.retries
        .filter(({ at }) => at < stoppedAt || at > startedAt + POSTGRES_GRACE_MS)
        .map(({ at, reason }) => `${at - startedAt} ms after the restart: ${reason}`);
      const lastRetryAfterStartMs = Math.max(0, ...traffic.retries.map(({ at }) => at - startedAt));
      console.log(
        `      say retries ${traffic.retries.length}, outside the outage + ${POSTGRES_GRACE_MS} ms: ${outside.length}; ` +
          `outage ${startedAt - stoppedAt} ms; last retry ${lastRetryAfterStartMs} ms after PostgreSQL was ready`,
      );
      expect(outside, 'say failures outside the PostgreSQL outage').to.deep.equal([]);
    });

    it('web killed between commit and enqueue: the outbox relays what it committed, nothing lost', async () => {
      const { cluster } = fixture;
      const replayedBefore = saysReplayedByNginx(cluster);
      const { report } = await runScenario(cluster, {
        label: 'mh-web-kill',
        boundMs: PROCESS_FAULT_BOUND_MS,
        fault: async () => {
          // Frozen with says in flight (committed or not), then killed: what it
          // committed but never queued is relayed from the outbox by the other web.
          cluster.kill('web-a', 'SIGSTOP');
          await sleep(1000);
          cluster.kill('web-a', 'SIGKILL');
          await sleep(200);
          await cluster.waitUntilReady(30_000);
        },
      });
      // In flight on web-a when it died: nginx replays them on web-b (the say's
      // clientId makes that safe), or answers 502 and the client retries.
      const replayed = saysReplayedByNginx(cluster) - replayedBefore;
      console.log(`      says nginx replayed on the other web process: ${replayed}`);
      expect(report.sayRetries + replayed, 'says the crash made nginx or the clients send again').to.be.above(0);
    });

    it('host a partitioned for 20 s and healed: its observers continue through host b from their cursors', async () => {
      const { cluster } = fixture;
      await runScenario(cluster, {
        label: 'mh-partition-a',
        boundMs: PARTITION_BOUND_MS,
        fault: async () => {
          await cluster.network.partition('a');
          try {
            await sleep(PARTITION_MS);
          } finally {
            await cluster.network.heal('a');
          }
          await cluster.waitUntilReady(60_000);
        },
      });
    });

    it('live scale: a fourth host joins with web + chatserver and leaves with SIGTERM; only nginx is reloaded', async () => {
      const { cluster } = fixture;
      const pidsBefore = new Map(cluster.processes().map((entry) => [entry.name, entry.pid]));
      await runScenario(cluster, {
        label: 'mh-live-scale',
        boundMs: PROCESS_FAULT_BOUND_MS,
        fault: async () => {
          await cluster.addHost('d');
          const joined = cluster.processes().filter((entry) => entry.host === 'd').map((entry) => entry.name);
          expect(joined.sort()).to.deep.equal(['chatserver-d', 'web-d']);
          await sleep(PHASE_MS);
          await cluster.removeHost('d');
        },
      });
      // Nobody else restarted or was reconfigured: same pids, nginx included (reloaded in place).
      const pidsAfter = new Map(cluster.processes().map((entry) => [entry.name, entry.pid]));
      expect(pidsAfter).to.deep.equal(pidsBefore);
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).to.not.include(`${cluster.network.tag}-d`);
    });
  }

  it('Ctrl-C equivalent: stop() removes every process and every namespace', async function () {
    const { cluster } = fixture;
    const pids = cluster.processes().map((entry) => entry.pid).filter((pid): pid is number => pid !== null);
    await cluster.stop();
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).to.deep.equal([]);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).to.not.include(cluster.network.tag);
  });
});

if (LONG) {
  describe('multihost: host b\'s clock runs 30 s ahead (faketime)', function () {
    this.timeout(300_000);
    let hasFaketime = true;
    try {
      execFileSync('faketime', ['-f', '+30s', 'true']);
    } catch {
      hasFaketime = false;
    }
    if (!hasFaketime) {
      it('is skipped: faketime is not installed (scripts/setup.sh installs it as root)');
      return;
    }
    const fixture = useMultihostCluster({ hostCommandPrefix: { b: ['faketime', '-f', '+30s'] } });

    it('delivers every say, the registry judged by Redis\'s clock', async () => {
      // The skew is real: host b's web answers with a Date header 30 s ahead of ours.
      const answer = await fetch(`http://${fixture.cluster.network.host('b').address}:3000/healthz`);
      const aheadMs = Date.parse(answer.headers.get('date') ?? '') - Date.now();
      console.log(`      host b's clock is ${aheadMs} ms ahead`);
      expect(aheadMs).to.be.within(28_000, 32_000);
      await runScenario(fixture.cluster, {
        label: 'mh-clock-ahead',
        boundMs: REDIS_FAULT_BOUND_MS,
        fault: async () => {
          await sleep(10_000);
        },
      });
    });
  });
}
