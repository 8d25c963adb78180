import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer, type RedisServerHandle } from '@parley/cluster';
import { NOTIFY_QUEUE_NAME, registryKey, silentLogger } from '@parley/protocol';
import { Queue } from 'bullmq';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { startHealthServer, type HealthServer } from '../src/health-server.js';
import { createMetricsRegistry } from '@parley/protocol/node';
import { WorkerMetrics } from '../src/metrics.js';
import { sample } from '../../protocol/test/helpers/metric-sample.js';

const PREFIX = 'metricstest:';

describe('worker metrics', function () {
  this.timeout(20_000);
  let dir: string;
  let redisServer: RedisServerHandle;
  let redis: Redis;
  let metrics: WorkerMetrics;
  let health: HealthServer;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-worker-metrics-'));
    redisServer = await startRedisServer({ dir: join(dir, 'redis'), appendOnly: false });
    // Fail-fast, as main.ts builds it: an outage must not queue the scrape's reads.
    redis = new Redis(redisServer.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    await new Promise((resolve) => redis.once('ready', resolve));
    metrics = new WorkerMetrics({ registry: createMetricsRegistry(), redis, prefix: PREFIX });
    health = await startHealthServer({ port: 0, log: silentLogger, metrics, metricsToken: '' });
  });

  afterEach(async () => {
    await health.close();
    await metrics.close();
    redis.disconnect();
    await redisServer.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function scrape(): Promise<{ status: number; type: string | null; text: string }> {
    const response = await fetch(`http://127.0.0.1:${health.port}/metrics`, { signal: AbortSignal.timeout(5000) });
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  }

  it('reads the queue depth and the live registry at scrape time', async () => {
    const producer = new Redis(redisServer.url);
    const queue = new Queue(NOTIFY_QUEUE_NAME, { connection: producer, prefix: `${PREFIX}bull` });
    try {
      await queue.add('notify', { outboxId: 1, events: [] });
      await queue.add('notify', { outboxId: 2, events: [] }, { delay: 60_000 });
      await producer.zadd(registryKey(PREFIX), Date.now() + 60_000, 'http://127.0.0.1:1', Date.now() - 1, 'http://127.0.0.1:2');
      const answer = await scrape();
      expect(answer.status).to.equal(200);
      expect(answer.type).to.equal('text/plain; version=0.0.4; charset=utf-8');
      expect(sample(answer.text, 'parley_queue_up')).to.equal(1);
      expect(sample(answer.text, 'parley_queue_jobs{state="waiting"}')).to.equal(1);
      expect(sample(answer.text, 'parley_queue_jobs{state="delayed"}')).to.equal(1);
      expect(sample(answer.text, 'parley_queue_jobs{state="active"}')).to.equal(0);
      // The expired entry is not live.
      expect(sample(answer.text, 'parley_registry_chatservers')).to.equal(1);
      expect(sample(answer.text, 'parley_notify_jobs_total{result="completed"}')).to.equal(0);
    } finally {
      await queue.close();
      producer.disconnect();
    }
  });

  it('still answers within the bound while Redis is down, with parley_queue_up 0', async () => {
    await redisServer.stop();
    const startedAt = Date.now();
    const answer = await scrape();
    expect(answer.status).to.equal(200);
    expect(Date.now() - startedAt).to.be.below(3000);
    expect(sample(answer.text, 'parley_queue_up')).to.equal(0);
    expect(sample(answer.text, 'parley_queue_jobs{state="waiting"}')).to.equal(undefined);
    expect(sample(answer.text, 'parley_registry_chatservers')).to.be.NaN;
    expect(sample(answer.text, 'parley_process_resident_memory_bytes')).to.be.greaterThan(0);
  });
});
