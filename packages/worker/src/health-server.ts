import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChatError, type Logger } from '@parley/protocol';
import { METRICS_PATH, isMetricsScrapeAllowed, sendErrorAnswer, sendJsonAnswer } from '@parley/protocol/node';
import type { WorkerMetrics } from './metrics.js';

/** Options of `startHealthServer`. */
export interface HealthServerOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 3900 */
  port?: number;
  log: Logger;
  /** Served as `GET /metrics`. @default none: `/metrics` is 404 */
  metrics?: WorkerMetrics;
  /** `PARLEY_METRICS_TOKEN`: bearer token `/metrics` needs; empty: none. @default '' */
  metricsToken?: string;
}

/** A listening health server. */
export interface HealthServer {
  /** The port actually bound. */
  readonly port: number;
  close(): Promise<void>;
}

const HEALTHY = JSON.stringify({ ok: true, role: 'worker' });

/**
 * Serves `GET /healthz` → `{"ok":true,"role":"worker"}` for supervisors and
 * load checks, and `GET /metrics` when given metrics; the worker has no other
 * HTTP surface.
 */
export function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const metrics = options.metrics;
    if (path === METRICS_PATH && metrics !== undefined && request.method === 'GET') {
      if (!isMetricsScrapeAllowed(request.headers.authorization, options.metricsToken ?? '')) {
        sendErrorAnswer(response, new ChatError('unauthorized', 'metrics need the bearer token'));
        return;
      }
      metrics.answer(response).catch((error: unknown) => {
        options.log.warn({ err: error }, 'metrics scrape failed');
        sendErrorAnswer(response, new ChatError('internal', 'internal error'));
      });
      return;
    }
    if (path !== '/healthz') {
      sendErrorAnswer(response, new ChatError('not_found', 'no such endpoint'));
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sendErrorAnswer(response, new ChatError('method_not_allowed', 'use GET'), { allow: 'GET, HEAD' });
      return;
    }
    sendJsonAnswer(response, 200, HEALTHY);
  });
  // Health checks are short; do not let idle keep-alive sockets delay shutdown.
  server.keepAliveTimeout = 1000;

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3900, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      server.on('error', (error) => options.log.error({ err: error }, 'health server error'));
      const { port } = server.address() as AddressInfo;
      resolve({
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
