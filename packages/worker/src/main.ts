import { createMetricsRegistry, runMain } from '@parley/protocol/node';
import { createRedisConnection } from '@parley/protocol/redis';
import { pino } from 'pino';
import { loadConfig } from './config.js';
import { startHealthServer } from './health-server.js';
import { WorkerMetrics } from './metrics.js';
import { createPresenceSweeper } from './presence-sweeper.js';
import { createWorker } from './worker.js';

// The supervisor waits 10 s at most; jobs get most of it, the rest is for closing sockets.
const SHUTDOWN_LIMIT_MS = 10_000;
const JOB_DRAIN_LIMIT_MS = 7_000;

runMain(async () => {
  const config = loadConfig(process.env);
  const log = pino({ level: config.logLevel }).child({ role: 'worker' });
  // BullMQ's worker connection waits out an outage or a failover; its commands are sent again, not lost.
  const connection = createRedisConnection(config, 'blocking');
  connection.on('error', (error: Error) => log.warn({ err: error }, 'redis connection error'));

  // Its own connection, failing fast: BullMQ's waits out an outage, a sweep just
  // tries again next tick, a metrics scrape reports Redis as down.
  const sweeperRedis = createRedisConnection(config, 'fail-fast');
  sweeperRedis.on('error', () => undefined); // the sweeper logs its failures, once per outage
  const metrics = new WorkerMetrics({ registry: createMetricsRegistry(), redis: sweeperRedis, prefix: config.redisPrefix });
  const worker = createWorker({ connection, log, config, closeTimeoutMs: JOB_DRAIN_LIMIT_MS, metrics });
  const sweeper = createPresenceSweeper({
    redis: sweeperRedis,
    prefix: config.redisPrefix,
    secret: config.secret,
    webUrls: config.webUrls,
    timeoutMs: config.presenceTimeoutMs,
    sweepMs: config.presenceSweepMs,
    log,
  });
  sweeper.start();
  const health = await startHealthServer({ host: config.host, port: config.port, log, metrics, metricsToken: config.metricsToken });
  log.info(
    {
      host: config.host,
      port: health.port,
      concurrency: config.concurrency,
      notifyTimeoutMs: config.notifyTimeoutMs,
      notifyAttempts: config.notifyAttempts,
      presenceTimeoutMs: config.presenceTimeoutMs,
      presenceSweepMs: config.presenceSweepMs,
    },
    'listening',
  );

  return {
    log,
    async stop() {
      await Promise.allSettled([worker.close(), sweeper.close(), health.close()]);
      await metrics.close();
      await connection.quit().catch(() => connection.disconnect());
      sweeperRedis.disconnect();
    },
  };
}, { name: 'worker', forcedExitMs: SHUTDOWN_LIMIT_MS });
