import { ConfigError } from '@parley/protocol/node';
import { createRedisConnection } from '@parley/protocol/redis';
import { pino } from 'pino';
import { loadConfig, type WorkerConfig } from './config.js';
import { startHealthServer } from './health-server.js';
import { WorkerMetrics, createMetricsRegistry } from './metrics.js';
import { createPresenceSweeper } from './presence-sweeper.js';
import { createWorker } from './worker.js';

// The supervisor waits 10 s at most; jobs get most of it, the rest is for closing sockets.
const SHUTDOWN_LIMIT_MS = 10_000;
const JOB_DRAIN_LIMIT_MS = 7_000;

let config: Readonly<WorkerConfig>;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

const log = pino({ level: config.logLevel }).child({ role: 'worker' });
// BullMQ's worker connection waits out an outage or a failover; its commands are sent again, not lost.
const connection = createRedisConnection(config, 'blocking');
connection.on('error', (error: Error) => log.warn({ error: error.message }, 'redis connection error'));

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

let shuttingDown = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  log.info({ signal }, 'shutting down');
  setTimeout(() => {
    log.error({ limitMs: SHUTDOWN_LIMIT_MS }, 'shutdown took too long: forcing exit');
    process.exit(1);
  }, SHUTDOWN_LIMIT_MS).unref();
  await Promise.allSettled([worker.close(), sweeper.close(), health.close()]);
  await metrics.close();
  await connection.quit().catch(() => connection.disconnect());
  sweeperRedis.disconnect();
  log.info({}, 'stopped');
  process.exit(0);
}
process.once('SIGINT', (signal) => void shutdown(signal));
process.once('SIGTERM', (signal) => void shutdown(signal));
