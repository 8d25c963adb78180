import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { NOTIFY_QUEUE_NAME, sessionsEndedChannel, type Logger, type NotifyJobData } from '@parley/protocol';
import { UPSTREAM_KEEP_ALIVE_TIMEOUT_MS, bindScope, createMetricsRegistry, runMain } from '@parley/protocol/node';
import { createRedisConnection } from '@parley/protocol/redis';
import { openStore, type ChatStore } from '@parley/store';
import { createWebApp } from './app.js';
import { RedisPresence } from './presence.js';
import { createRateLimits, rateLimitSettings } from './rate-limits.js';
import { loadConfig } from './config.js';
import { WebMetrics } from './metrics.js';

runMain(async () => {
  const config = loadConfig(process.env);
  const log: Logger = pino({ level: config.logLevel }).child({ role: 'web' });
  if (bindScope(config.host) === 'all-interfaces') {
    // Containers need it; elsewhere only nginx, workers and chatservers should reach this port.
    log.warn({ host: config.host }, 'web port (with /internal/) listens on every interface: keep it off the public network');
  }

  // PostgreSQL when PARLEY_DATABASE_URL is set, else SQLite at PARLEY_DB_PATH.
  let store: ChatStore;
  try {
    store = await openStore({ databaseUrl: config.databaseUrl, sqlitePath: config.dbPath, poolSize: config.databasePoolSize, log });
  } catch (error) {
    // Unreachable database or a schema from a newer release: the supervisor retries with backoff.
    log.error({ err: error }, 'store not opened');
    process.exit(1);
  }
  // No offline queue: while Redis is down `queue.add` must fail at once (the
  // outbox carries the notification) instead of hanging the request path's
  // follow-up work for the whole outage.
  const redis = createRedisConnection(config, 'fail-fast');
  // The connection and the queue report every failed reconnect attempt: log the
  // first error of an outage and its end, not one line per retry.
  let redisDown = false;
  const reportRedisError = (error: Error): void => {
    if (redisDown) return;
    redisDown = true;
    log.warn({ err: error }, 'redis unavailable; writes wait in the outbox');
  };
  redis.on('error', reportRedisError);
  redis.on('ready', () => {
    if (!redisDown) return;
    redisDown = false;
    log.info({}, 'redis connection restored');
  });
  const queue = new Queue<NotifyJobData>(NOTIFY_QUEUE_NAME, { connection: redis, prefix: `${config.redisPrefix}bull` });
  queue.on('error', reportRedisError);

  const presence = new RedisPresence({ redis, prefix: config.redisPrefix, log });
  const rateLimits = createRateLimits({
    redis,
    prefix: config.redisPrefix,
    log,
    limits: rateLimitSettings(config),
  });
  const metrics = new WebMetrics({ registry: createMetricsRegistry(), store, token: config.metricsToken });
  // Chatservers drop what they cached about an ended session (sign-out, revoked bot token) at once.
  const endedChannel = sessionsEndedChannel(config.redisPrefix);
  const onSessionEnded = (tokenHash: string): void => {
    redis.publish(endedChannel, tokenHash).catch((error: unknown) => log.warn({ err: error }, 'session end not announced'));
  };
  const web = createWebApp({ store, queue, log, config, presence, rateLimits, metrics, onSessionEnded });
  const server = web.app.listen(config.port, config.host, () => {
    const address = server.address() as AddressInfo;
    log.info({ host: address.address, port: address.port }, 'listening');
  });
  server.keepAliveTimeout = UPSTREAM_KEEP_ALIVE_TIMEOUT_MS;
  server.on('error', (error: Error) => {
    log.error({ err: error }, 'web server failed');
    process.exit(1);
  });

  return {
    log,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      // Requests are done: their queue adds are in flight or finished.
      await web.close();
      await queue.close().catch((error: unknown) => log.warn({ err: error }, 'queue close failed'));
      await redis.quit().catch(() => redis.disconnect());
      await store.close();
    },
  };
}, { name: 'web' });
