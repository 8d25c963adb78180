import { pino } from 'pino';
import { ConfigError, bindScope } from '@parley/protocol/node';
import { createRedisConnection } from '@parley/protocol/redis';
import { createChatServer } from './chat-server.js';
import { loadConfig } from './config.js';
import { createMetricsRegistry } from './metrics.js';

// Shutdown answers every parked observe at once and then waits for busy
// connections; past this something is stuck, and exiting beats hanging.
const FORCED_EXIT_MS = 10_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const log = pino({ level: config.logLevel }).child({ role: 'chatserver' });
  if (bindScope(config.internalHost) === 'all-interfaces') {
    // Containers need it; elsewhere only the workers should reach the notify port.
    log.warn({ host: config.internalHost }, 'internal port listens on every interface: keep it off the public network');
  }
  // No offline queue: a heartbeat while Redis is down fails at once and is
  // retried next beat, instead of piling up commands for the whole outage.
  const redis = createRedisConnection(config, 'fail-fast');
  redis.on('error', (error: Error) => log.warn({ error: error.message }, 'redis connection error'));
  // Join the registry with a working connection rather than a failed first beat.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 5000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });

  const server = createChatServer({ redis, log, config, metricsRegistry: createMetricsRegistry() });
  const ports = await server.listen();
  log.info({ publicPort: ports.publicPort, internalPort: ports.internalPort }, 'listening');

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error({}, 'shutdown timed out, forcing exit');
      process.exit(1);
    }, FORCED_EXIT_MS).unref();
    server
      .close()
      .then(() => redis.disconnect())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ error: (error as Error).message }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`chatserver failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
