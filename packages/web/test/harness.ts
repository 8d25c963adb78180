import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '@parley/cluster';
import { NOTIFY_QUEUE_NAME, silentLogger, type ChatEvent, type Logger, type NotifyJobData } from '@parley/protocol';
import { openStore, type ChatStore } from '@parley/store';
import { startPrivatePostgres, type PrivatePostgres } from '../../store/test/helpers/private-postgres.js';
import { createWebApp, type WebApp } from '../src/app.js';
import type { Asset } from '../src/assets.js';
import { loadConfig, type WebConfig } from '../src/config.js';
import type { OutboxRelayOptions } from '../src/outbox-relay.js';
import { MemoryNotifyQueue, type NotifyQueue } from '../src/notify-queue.js';
import { MemoryPresence, RedisPresence, type Presence } from '../src/presence.js';
import { createRateLimits, rateLimitSettings } from '../src/rate-limits.js';
import { WebMetrics } from '../src/metrics.js';
import { Registry } from 'prom-client';

/** The secret every harness signs internal requests with. */
export const TEST_SECRET = 'test-secret-that-is-at-least-32-characters-long';

/** The stores a route suite can run on: each parametrised suite runs once per entry. */
export const HARNESS_STORES = ['sqlite', 'postgres'] as const;
export type HarnessStore = (typeof HARNESS_STORES)[number];

/** A web app on a real port with its real store; its notify queue and presence are `seams`. */
export interface Harness {
  baseUrl: string;
  config: Readonly<WebConfig>;
  store: ChatStore;
  /** The private PostgreSQL behind `store` (stop it to take the database away), when the harness runs on it. */
  postgres: PrivatePostgres | undefined;
  web: WebApp;
  /** The data of every notify job queued so far (completed or not). */
  notifyJobs(): Promise<NotifyJobData[]>;
  close(): Promise<void>;
}

/** A harness on a private redis-server: the BullMQ queue, Redis presence and limits. */
export interface RedisHarness extends Harness {
  redis: RedisServerHandle;
  connection: Redis;
  queue: Queue<NotifyJobData>;
}

/** A harness without Redis: the notify queue and presence in memory. */
export interface MemoryHarness extends Harness {
  queue: MemoryNotifyQueue;
  presence: MemoryPresence;
}

/** Options of `startHarness`. */
export interface HarnessOptions {
  /** Extra environment for `loadConfig`. @default {} */
  env?: Record<string, string>;
  /** Relay timing. @default { intervalMs: 1000, leaseMs: 10000 } */
  relay?: Pick<OutboxRelayOptions, 'intervalMs' | 'leaseMs' | 'batchSize'>;
  /** Built browser files. @default those of packages/web/dist/public */
  assets?: Map<string, Asset>;
  /** Clock of the app (event times, session expiry). @default Date.now */
  now?: () => number;
  /** Enforce the `PARLEY_RATE_*` limits of the config on the harness's Redis. @default false */
  rateLimits?: boolean;
  /** Record and serve metrics (`GET /metrics`) with a fresh registry. @default false */
  metrics?: boolean;
  /**
   * The store behind the app, chosen through the config as `main.ts` does:
   * `postgres` starts a private PostgreSQL and sets `PARLEY_DATABASE_URL`.
   * @default 'sqlite'
   */
  store?: HarnessStore;
  /**
   * What stands behind the notify queue and presence: a private redis-server
   * with BullMQ (for suites that test them, or Redis outages), or memory (for
   * route suites where Redis is not what they test).
   * @default 'redis'
   */
  seams?: 'redis' | 'memory';
  /** The app's logger. @default silentLogger */
  log?: Logger;
}

/**
 * Starts a store (SQLite in a temp dir, or a private PostgreSQL), the notify
 * queue and presence (on a private redis-server, or in memory) and the web app
 * on port 0.
 */
export async function startHarness(options?: HarnessOptions & { seams?: 'redis' }): Promise<RedisHarness>;
export async function startHarness(options: HarnessOptions & { seams: 'memory' }): Promise<MemoryHarness>;
export async function startHarness(options: HarnessOptions = {}): Promise<RedisHarness | MemoryHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-web-'));
  const redis = options.seams === 'memory' ? undefined : await startRedisServer({ dir: join(dir, 'redis') });
  const postgres = options.store === 'postgres' ? await startPrivatePostgres() : undefined;
  const prefix = `t${Math.random().toString(36).slice(2, 8)}:`;
  const config = loadConfig({
    PARLEY_SECRET: TEST_SECRET,
    ...(redis === undefined ? {} : { PARLEY_REDIS_URL: redis.url }),
    PARLEY_REDIS_PREFIX: prefix,
    PARLEY_DB_PATH: join(dir, 'parley.db'),
    ...(postgres === undefined ? {} : { PARLEY_DATABASE_URL: postgres.server.url }),
    ...options.env,
  });
  const store = await openStore({ databaseUrl: config.databaseUrl, sqlitePath: config.dbPath, poolSize: config.databasePoolSize });
  const seams = redis === undefined ? memorySeams(options.now) : await redisSeams(config.redisUrl, prefix);
  const { connection, queue, presence } = seams;
  if (connection === undefined && options.rateLimits === true) throw new Error('rate limits need the Redis seams');
  const web = createWebApp({
    store,
    queue,
    log: options.log ?? silentLogger,
    config,
    presence,
    ...(options.relay === undefined ? {} : { relay: options.relay }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.assets === undefined ? {} : { assets: options.assets }),
    ...(options.rateLimits === true && connection !== undefined
      ? {
          rateLimits: createRateLimits({
            redis: connection,
            prefix,
            log: silentLogger,
            limits: rateLimitSettings(config),
          }),
        }
      : {}),
    ...(options.metrics === true ? { metrics: new WebMetrics({ registry: new Registry(), store, token: config.metricsToken }) } : {}),
  });
  const server: Server = await new Promise((resolve) => {
    const listening = web.app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  const harness: Harness = {
    baseUrl: `http://127.0.0.1:${port}`,
    config,
    store,
    postgres,
    web,
    notifyJobs: seams.notifyJobs,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
      await web.close();
      await seams.close();
      await store.close();
      await postgres?.stop();
      await redis?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  if (redis === undefined) return { ...harness, queue: seams.queue as MemoryNotifyQueue, presence: seams.presence as MemoryPresence };
  return { ...harness, redis, connection: connection as Redis, queue: seams.queue as Queue<NotifyJobData> };
}

/** The queue and presence of a harness, and how to read and close them. */
interface Seams {
  connection: Redis | undefined;
  queue: NotifyQueue;
  presence: Presence;
  notifyJobs(): Promise<NotifyJobData[]>;
  close(): Promise<void>;
}

function memorySeams(now: (() => number) | undefined): Seams {
  const queue = new MemoryNotifyQueue();
  return {
    connection: undefined,
    queue,
    presence: new MemoryPresence(now),
    notifyJobs: async () => queue.jobs().map((job) => job.data),
    close: async () => undefined,
  };
}

async function redisSeams(redisUrl: string, prefix: string): Promise<Seams> {
  // Reconnect quickly after a restart so the outage test stays short.
  const connection = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
  });
  connection.on('error', () => undefined);
  const queue = new Queue<NotifyJobData>(NOTIFY_QUEUE_NAME, { connection, prefix: `${prefix}bull` });
  queue.on('error', () => undefined);
  await queue.waitUntilReady();
  return {
    connection,
    queue,
    presence: new RedisPresence({ redis: connection, prefix, log: silentLogger }),
    async notifyJobs() {
      const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized']);
      return jobs.map((job) => job.data);
    },
    async close() {
      await queue.close().catch(() => undefined);
      connection.disconnect();
    },
  };
}

/** An HTTP answer with its body parsed when it is JSON. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test code reads arbitrary nested fields of many answer shapes; chai checks them
  json: any;
}

/** Options of `call`. */
export interface CallOptions {
  /** Sent as JSON with `Content-Type: application/json`. */
  json?: unknown;
  /** Sent as is (set the content type in `headers`). */
  body?: string | Uint8Array;
  /** Bearer token. */
  session?: string;
  headers?: Record<string, string>;
}

/** One request to the harness, over real HTTP. */
export async function call(harness: Harness, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | Uint8Array | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  if (options.session !== undefined) headers.authorization = `Bearer ${options.session}`;
  const response = await fetch(`${harness.baseUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Creates a session and returns its bearer token. */
export async function newSession(harness: Harness, nickname = 'alice'): Promise<string> {
  const answer = await call(harness, 'POST', '/api/session', { json: { nickname } });
  if (answer.status !== 201) throw new Error(`session not created: ${answer.status} ${answer.text}`);
  return answer.json.session as string;
}

let roomCounter = 0;
/** A room name no other test uses. */
export function uniqueRoom(): string {
  roomCounter += 1;
  return `room-${roomCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Polls `probe` until it returns a value other than `undefined`/`false`, or
 * throws after `timeoutMs`. A probe that throws (Redis still reconnecting)
 * counts as "not yet".
 */
export async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : ` (last error: ${String(lastError)})`}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until every outbox row is acknowledged (earlier writes' queue adds finished). */
export async function settle(harness: Harness): Promise<void> {
  await waitFor(async () => (await harness.store.outboxDepth()) === 0, 5000, 'outbox to drain');
}

/** What a refused request must leave unchanged. */
export interface StateSnapshot {
  seq: number | undefined;
  outboxDepth: number;
  jobs: number;
}

/** Room head, outbox depth and number of jobs in the queue, after earlier writes settled. */
export async function snapshot(harness: Harness, room: string): Promise<StateSnapshot> {
  await settle(harness);
  const jobs = (await harness.notifyJobs()).length;
  return { seq: await harness.store.roomSeq(room), outboxDepth: await harness.store.outboxDepth(), jobs };
}

/** The queued job that carries `event`, if any. */
export async function jobOfEvent(harness: Harness, event: ChatEvent): Promise<NotifyJobData | undefined> {
  return (await harness.notifyJobs()).find((data) => data.events.some((candidate) => candidate.id === event.id));
}
