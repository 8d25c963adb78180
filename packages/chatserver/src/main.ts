import { pino } from 'pino';
import { bindScope, createMetricsRegistry, runMain } from '@parley/protocol/node';
import { createRedisConnection } from '@parley/protocol/redis';
import { createChatServer } from './chat-server.js';
import { loadConfig } from './config.js';

// Shutdown answers every parked observe at once and then waits for busy
// connections; past this something is stuck, and exiting beats hanging.
const FORCED_EXIT_MS = 10_000;

runMain(async () => {
  const config = loadConfig(process.env);
  const log = pino({ level: config.logLevel }).child({ role: 'chatserver' });
  if (bindScope(config.internalHost) === 'all-interfaces') {
    // Containers need it; elsewhere only the workers should reach the notify port.
    log.warn({ host: config.internalHost }, 'internal port listens on every interface: keep it off the public network');
  }
  // No offline queue: a heartbeat while Redis is down fails at once and is
  // retried next beat, instead of piling up commands for the whole outage.
  const redis = createRedisConnection(config, 'fail-fast');
  redis.on('error', (error: Error) => log.warn({ err: error }, 'redis connection error'));
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

  return {
    log,
    async stop() {
      await server.close();
      redis.disconnect();
    },
  };
}, { name: 'chatserver', forcedExitMs: FORCED_EXIT_MS });
