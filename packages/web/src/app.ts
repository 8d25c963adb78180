import Koa from 'koa';
import Router from '@koa/router';
import { loadAssets, registerAssetRoutes, type Asset } from './assets.js';
import { registerBadgeRoutes } from './badge-routes.js';
import type { Logger } from '@parley/protocol';
import { ReplayGuard } from '@parley/protocol/node';
import type { ChatStore } from '@parley/store';
import { createAuthenticator, createIdentifier } from './auth.js';
import { trustedProxies } from './client-address.js';
import type { WebConfig } from './config.js';
import { corsMiddleware } from './cors.js';
import { errorMiddleware } from './errors.js';
import { commonHeadersMiddleware } from './headers.js';
import { registerInternalRoutes } from './internal-routes.js';
import { registerMessageRoutes } from './message-routes.js';
import { jsonpMiddleware } from './jsonp.js';
import { notFoundMiddleware } from './not-found.js';
import { loadOpenApiDocument, registerOpenApiRoute, type OpenApiDocument } from './openapi-route.js';
import { createNotifier } from './notifier.js';
import type { NotifyQueue } from './notify-queue.js';
import { OutboxRelay, type OutboxRelayOptions } from './outbox-relay.js';
import type { Presence } from './presence.js';
import { NO_RATE_LIMITS, type RateLimits } from './rate-limits.js';
import type { WebMetrics } from './metrics.js';
import { registerPresenceRoutes } from './presence-routes.js';
import { registerPageRoutes } from './pages.js';
import { registerPublicRoutes } from './public-routes.js';
import { registerRoomRoutes } from './room-routes.js';
import { publishWrite, type RouteDeps } from './route-deps.js';
import { createSayBatcher } from './say-batcher.js';
import { registerSessionRoutes } from './session-routes.js';
import { registerIdentityRoutes } from './identity-routes.js';
import { prepareDecoyHash } from './passwords.js';
import { SessionPurger } from './session-purge.js';

/** Dependencies and settings of `createWebApp`; the caller builds and closes the store and queue. */
export interface WebAppOptions {
  store: ChatStore;
  /**
   * The notify queue: BullMQ's (`NOTIFY_QUEUE_NAME`, prefix `${redisPrefix}bull`), on a
   * connection with `enableOfflineQueue: false` so `addBulk` fails at once while
   * Redis is down and the outbox relay takes over; or a `MemoryNotifyQueue` in tests.
   */
  queue: NotifyQueue;
  log: Logger;
  config: Readonly<WebConfig>;
  /**
   * Timing of the outbox relay (its age threshold is `config.outboxRelayMs`).
   * @default { intervalMs: 1000, leaseMs: 10000, batchSize: 500 }
   */
  relay?: Pick<OutboxRelayOptions, 'intervalMs' | 'leaseMs' | 'batchSize'>;
  /** Clock of event times. @default Date.now */
  now?: () => number;
  /** Built browser files served under `/assets/`. @default loadAssets() (packages/web/dist/public) */
  assets?: Map<string, Asset>;
  /** The contract served as `GET /api/openapi.json`. @default loadOpenApiDocument() (packages/web/dist/openapi.json) */
  openApiDocument?: OpenApiDocument;
  /**
   * Presence records: enter records the session as seen in the room, leave and
   * the end of a session forget it (the worker's sweeper leaves sessions that
   * stopped observing, through `POST /internal/presence/expire`).
   * @default none: nothing is recorded
   */
  presence?: Presence;
  /**
   * Abuse limits of say, enter and session creation, shared by the web
   * processes through Redis (`createRateLimits`).
   * @default NO_RATE_LIMITS: nothing is limited
   */
  rateLimits?: RateLimits;
  /**
   * How often expired sessions (`config.sessionTtlMs`) are ended.
   * @default 300000 (5 minutes)
   */
  sessionPurgeIntervalMs?: number;
  /**
   * Metrics recorded on every answer and served as `GET /metrics` behind
   * `PARLEY_METRICS_TOKEN` (nginx never routes that path; scrape each web
   * process directly; without a token the path is 404).
   * @default none: no metrics, `/metrics` is 404
   */
  metrics?: WebMetrics;
  /**
   * Told the token hash of every session that ends (sign-out, revoked bot
   * token); `main.ts` publishes it on Redis (`sessionsEndedChannel`) for the chatservers.
   * @default nothing is announced
   */
  onSessionEnded?: (tokenHash: string) => void;
}

/** A web tier instance: the Koa app to listen with, its running outbox relay and session purge, and `close`. */
export interface WebApp {
  app: Koa;
  relay: OutboxRelay;
  purger: SessionPurger;
  /** Stops the relay and waits for queue adds in flight; the store and queue stay open (the caller owns them). */
  close(): Promise<void>;
}

/**
 * Builds the web tier: every public `/api/*` endpoint but observe, the signed
 * internal gap-repair read, `/healthz` and the placeholder page. Starts the
 * outbox relay.
 */
export function createWebApp(options: WebAppOptions): WebApp {
  const { store, queue, log, config } = options;
  const now = options.now ?? Date.now;
  const metrics = options.metrics;
  const notifier = createNotifier({
    store,
    queue,
    log,
    attempts: config.notifyAttempts,
    ...(metrics === undefined ? {} : { onEnqueueFailure: () => metrics.enqueueFailed() }),
  });
  const relay = new OutboxRelay({
    store,
    queue,
    log,
    olderThanMs: config.outboxRelayMs,
    attempts: config.notifyAttempts,
    now,
    ...options.relay,
  });
  const says = createSayBatcher({
    store,
    log,
    maxGroup: config.sayBatchMax,
    maxGroupsInFlight: config.sayGroupsInFlight,
    publish: (write) => publishWrite(deps, write),
  });
  const authenticate = createAuthenticator(store, now, config.sessionTtlMs);
  prepareDecoyHash();
  const deps: RouteDeps = {
    store,
    notifier,
    says,
    authenticate,
    identify: createIdentifier(authenticate),
    sessionEnded: options.onSessionEnded ?? (() => undefined),
    log,
    config,
    now,
    presence: options.presence,
    replayGuard: new ReplayGuard(),
    limits: options.rateLimits ?? NO_RATE_LIMITS,
    trustedProxies: trustedProxies(config.trustedProxies),
  };

  // Exact matching: by default the router ignores case and a trailing slash,
  // which let `/METRICS` and `/metrics/` past nginx's (exact) blocks.
  const router = new Router({ strict: true, sensitive: true });
  registerPublicRoutes(router);
  registerPageRoutes(router);
  const assets = options.assets ?? loadAssets();
  registerAssetRoutes(router, assets);
  registerBadgeRoutes(router, store, assets);
  registerOpenApiRoute(router, options.openApiDocument ?? loadOpenApiDocument());
  registerSessionRoutes(router, deps);
  registerIdentityRoutes(router, deps);
  registerRoomRoutes(router, deps);
  registerMessageRoutes(router, deps);
  registerInternalRoutes(router, deps);
  registerPresenceRoutes(router, deps);
  metrics?.registerRoute(router);

  const app = new Koa();
  // Errors are answered by errorMiddleware; what reaches here failed after the answer started.
  app.on('error', (error: unknown) => log.warn({ err: error }, 'response failed'));
  if (metrics !== undefined) app.use(metrics.middleware());
  app.use(errorMiddleware(log));
  app.use(commonHeadersMiddleware(deps.trustedProxies));
  app.use(corsMiddleware());
  app.use(jsonpMiddleware(log));
  app.use(router.routes());
  app.use(notFoundMiddleware());

  const purger = new SessionPurger({
    store,
    log,
    sessionTtlMs: config.sessionTtlMs,
    publish: (write) => publishWrite(deps, write),
    now,
    ...(options.sessionPurgeIntervalMs === undefined ? {} : { intervalMs: options.sessionPurgeIntervalMs }),
  });

  relay.start();
  purger.start();
  return {
    app,
    relay,
    purger,
    async close() {
      await purger.stop();
      await relay.stop();
      await notifier.drain();
    },
  };
}
