import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisSentinel, startRedisServer, type RedisServerHandle } from '@parley/cluster';
import { NOTIFY_QUEUE_NAME, registryKey, silentLogger, type NotifyJobData } from '@parley/protocol';
import { beatRegistry, createRedisConnection, type RedisSettings } from '@parley/protocol/redis';
import { Queue } from 'bullmq';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createWorker, type NotifyWorker } from '../src/worker.js';
import { TEST_SECRET, messageEvent, startStubChatserver, waitFor, type StubChatserver } from './stub-chatserver.js';

const MASTER = 'parley-test';
// The bound on a delivery stall during a Redis fault.
const STALL_LIMIT_MS = 15_000;
// Stands in for the chatservers' catch-up: a job still undelivered this long
// after it was added (Redis may lose acknowledged writes in a failover) is
// added again; its jobId makes a re-add of a job Redis still has a no-op.
const READD_AFTER_MS = 3000;

/**
 * A real Redis primary, one replica and three Sentinels (quorum 2) on loopback;
 * a BullMQ producer and worker built by `createRedisConnection` from
 * `PARLEY_REDIS_SENTINELS`-style settings; a stub chatserver kept in the
 * registry by a heartbeat on Redis's clock. Jobs flow while the primary is
 * failed over (`SENTINEL FAILOVER`) or killed with -9.
 */
describe('notify path across a Redis Sentinel failover', function () {
  this.timeout(90_000);
  let dir: string;
  let primary: RedisServerHandle;
  let replica: RedisServerHandle;
  let sentinels: RedisServerHandle[];
  let settings: RedisSettings;
  let testNumber = 0;

  beforeEach(async function () {
    testNumber++;
    dir = await mkdtemp(join(tmpdir(), 'parley-sentinel-test-'));
    primary = await startRedisServer({ dir: join(dir, 'primary') });
    replica = await startRedisServer({ dir: join(dir, 'replica'), replicaOf: { host: '127.0.0.1', port: primary.port } });
    sentinels = [];
    for (const name of ['s1', 's2', 's3']) {
      sentinels.push(await startRedisSentinel({ dir: join(dir, name), master: { name: MASTER, host: '127.0.0.1', port: primary.port } }));
    }
    settings = { redisUrl: 'redis://127.0.0.1:1', redisSentinels: sentinels.map(({ host, port }) => ({ host, port })), redisMaster: MASTER };
    // A failover needs the replica seen and a majority of Sentinels that know each other.
    const sentinel = new Redis(sentinels[0]?.port ?? 0);
    try {
      await waitFor(
        async () => {
          const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', MASTER)) as unknown[];
          const peers = (await sentinel.call('SENTINEL', 'SENTINELS', MASTER)) as unknown[];
          return replicas.length === 1 && peers.length === 2;
        },
        15_000,
        'the Sentinels to find the replica and each other',
      );
    } finally {
      sentinel.disconnect();
    }
  });

  afterEach(async function () {
    for (const server of [...sentinels, replica, primary]) await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** The address the Sentinels name as primary now. */
  async function currentPrimaryPort(): Promise<number> {
    const sentinel = new Redis(sentinels[1]?.port ?? 0);
    try {
      const [, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER)) as [string, string];
      return Number(port);
    } finally {
      sentinel.disconnect();
    }
  }

  interface FlowFigures {
    added: number;
    delivered: number;
    duplicates: number;
    readded: number;
    longestStallMs: number;
  }

  /**
   * Adds one job every 20 ms for `durationMs` (a failed add is retried, as the
   * outbox relay does), runs `fault` after a second, and waits until every job
   * reached the stub chatserver.
   */
  async function runFlow(fault: () => Promise<void>, durationMs: number): Promise<FlowFigures> {
    const prefix = `sentinel${testNumber}:`;
    const producer = createRedisConnection(settings, 'fail-fast');
    const workerConnection = createRedisConnection(settings, 'blocking');
    const heartbeatConnection = createRedisConnection(settings, 'fail-fast');
    const queue = new Queue<NotifyJobData>(NOTIFY_QUEUE_NAME, { connection: producer, prefix: `${prefix}bull` });
    queue.on('error', () => undefined);
    let stub: StubChatserver | undefined;
    let worker: NotifyWorker | undefined;
    let beating = true;
    let heartbeat: Promise<void> = Promise.resolve();
    try {
      stub = await startStubChatserver(TEST_SECRET);
      const stubUrl = stub.url;
      heartbeat = (async () => {
        while (beating) {
          await beatRegistry(heartbeatConnection, registryKey(prefix), stubUrl, 1500, 60_000).catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      })();
      await waitFor(() => heartbeatConnection.status === 'ready', 5000, 'the heartbeat connection');
      worker = createWorker({
        connection: workerConnection,
        log: silentLogger,
        config: { redisPrefix: prefix, secret: TEST_SECRET, concurrency: 20, notifyTimeoutMs: 1000 },
        closeTimeoutMs: 3000,
      });

      const addedAt = new Map<number, number>();
      const pending = new Set<number>();
      let readded = 0;
      const add = async (seq: number): Promise<boolean> => {
        try {
          await queue.add('notify', { outboxId: seq, events: [messageEvent('lobby', seq)] }, {
            jobId: `outbox-${seq}`,
            attempts: 8,
            backoff: { type: 'exponential', delay: 200 },
            removeOnComplete: { age: 3600, count: 10_000 },
          });
          addedAt.set(seq, Date.now());
          return true;
        } catch {
          return false;
        }
      };
      const delivered = (): Set<number> => new Set(stub?.received.flatMap((notify) => notify.events.map((event) => event.seq)));

      const startedAt = Date.now();
      let faultDone: Promise<void> | undefined;
      let seq = 0;
      while (Date.now() - startedAt < durationMs) {
        if (faultDone === undefined && Date.now() - startedAt > 1000) faultDone = fault();
        seq++;
        pending.add(seq);
        await new Promise((resolve) => setTimeout(resolve, 20));
        // Not added yet (Redis unreachable) or added but still undelivered for long: add (again).
        const seen = delivered();
        for (const waiting of pending) {
          if (seen.has(waiting)) {
            pending.delete(waiting);
            continue;
          }
          const at = addedAt.get(waiting);
          if (at !== undefined && Date.now() - at < READD_AFTER_MS) continue;
          if (at !== undefined) readded++;
          await add(waiting);
        }
      }
      await faultDone;
      await waitFor(
        async () => {
          const seen = delivered();
          for (const waiting of pending) {
            if (seen.has(waiting)) pending.delete(waiting);
            else if ((addedAt.get(waiting) ?? 0) < Date.now() - READD_AFTER_MS) {
              if (addedAt.has(waiting)) readded++;
              await add(waiting);
            }
          }
          return pending.size === 0;
        },
        30_000,
        'every job to reach the chatserver',
      );

      const arrivals = stub.received.map((notify) => notify.at).sort((a, b) => a - b);
      let longestStallMs = 0;
      for (let index = 1; index < arrivals.length; index++) {
        longestStallMs = Math.max(longestStallMs, (arrivals[index] ?? 0) - (arrivals[index - 1] ?? 0));
      }
      const deliveredSeqs = stub.received.flatMap((notify) => notify.events.map((event) => event.seq));
      return {
        added: seq,
        delivered: new Set(deliveredSeqs).size,
        duplicates: deliveredSeqs.length - new Set(deliveredSeqs).size,
        readded,
        longestStallMs,
      };
    } finally {
      beating = false;
      await heartbeat;
      await worker?.close();
      await queue.close().catch(() => undefined);
      await stub?.close();
      for (const connection of [producer, workerConnection, heartbeatConnection]) connection.disconnect();
    }
  }

  it('delivers every job across a forced SENTINEL FAILOVER, the worker following the new primary', async function () {
    const before = await currentPrimaryPort();
    expect(before).to.equal(primary.port);
    const figures = await runFlow(async () => {
      const sentinel = new Redis(sentinels[2]?.port ?? 0);
      try {
        await sentinel.call('SENTINEL', 'FAILOVER', MASTER);
      } finally {
        sentinel.disconnect();
      }
      await waitFor(async () => (await currentPrimaryPort()) === replica.port, 15_000, 'the replica to be promoted');
    }, 6000);
    console.log(`      forced failover: ${JSON.stringify(figures)}`);
    expect(await currentPrimaryPort()).to.equal(replica.port);
    expect(figures.delivered).to.equal(figures.added);
    expect(figures.longestStallMs).to.be.below(STALL_LIMIT_MS);
  });

  it('delivers every job when the primary is killed with -9 and a replica is promoted', async function () {
    const figures = await runFlow(async () => {
      await primary.kill();
      await waitFor(async () => (await currentPrimaryPort()) === replica.port, 20_000, 'the replica to be promoted');
    }, 8000);
    console.log(`      primary killed: ${JSON.stringify(figures)}`);
    expect(figures.delivered).to.equal(figures.added);
    expect(figures.longestStallMs).to.be.below(STALL_LIMIT_MS);
  });
});
