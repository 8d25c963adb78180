import { ConfigError } from '@parley/protocol';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig, type WorkerConfig } from './config.js';
import { startHealthServer } from './health-server.js';
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
// BullMQ requires maxRetriesPerRequest: null: its blocking commands must wait out an outage, not fail.
const connection = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
connection.on('error', (error: Error) => log.warn({ error: error.message }, 'redis connection error'));

const worker = createWorker({ connection, log, config, closeTimeoutMs: JOB_DRAIN_LIMIT_MS });
const health = await startHealthServer({ host: config.host, port: config.port, log });
log.info(
  {
    host: config.host,
    port: health.port,
    concurrency: config.concurrency,
    notifyTimeoutMs: config.notifyTimeoutMs,
    notifyAttempts: config.notifyAttempts,
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
  await Promise.allSettled([worker.close(), health.close()]);
  await connection.quit().catch(() => connection.disconnect());
  log.info({}, 'stopped');
  process.exit(0);
}
process.once('SIGINT', (signal) => void shutdown(signal));
process.once('SIGTERM', (signal) => void shutdown(signal));
