import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '@parley/cluster';
import { silentLogger, type ChatEvent } from '@parley/protocol';
import { signRequest } from '@parley/protocol/node';
import { createChatServer, type ChatServer, type ChatServerPorts } from '../../src/chat-server.js';
import { loadConfig } from '../../src/config.js';
import { startWebStandIn, type WebStandIn } from './web-stand-in.js';

/** The shared secret of every test. */
export const SECRET = 'test-secret-'.padEnd(40, 'x');

/** A private redis-server for one test file. */
export interface RedisFixture {
  server: RedisServerHandle;
  dir: string;
  stop(): Promise<void>;
}

/** Starts a private redis-server in a temp dir (never the system one). */
export async function startRedisFixture(): Promise<RedisFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-chatserver-redis-'));
  const server = await startRedisServer({ dir, appendOnly: false });
  return {
    server,
    dir,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One chatserver under test with its web stand-in and Redis connection. */
export interface ChatFixture {
  chat: ChatServer;
  ports: ChatServerPorts;
  web: WebStandIn;
  redis: Redis;
  prefix: string;
  /** `http://127.0.0.1:PUBLIC/api/observe?...` */
  observeUrl(query: string): string;
  /** `http://127.0.0.1:PUBLIC/api/observe/stream?...` */
  streamUrl(query: string): string;
  /** Signed POST /internal/notify; returns the status. */
  notify(events: ChatEvent[]): Promise<number>;
  /** Resolves when `count` observes are parked, or rejects after `timeoutMs`. */
  waitForParked(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

let fixtureCounter = 0;

/** Starts a chatserver on free ports against `redisUrl` and a fresh web stand-in. */
export async function startChatFixture(
  redisUrl: string,
  env: Record<string, string> = {},
): Promise<ChatFixture> {
  const web = await startWebStandIn(SECRET);
  const prefix = `test${process.pid}-${++fixtureCounter}:`;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const config = loadConfig({
    PARLEY_SECRET: SECRET,
    PARLEY_REDIS_URL: redisUrl,
    PARLEY_REDIS_PREFIX: prefix,
    PARLEY_CHAT_PORT: '0',
    PARLEY_CHAT_INTERNAL_PORT: '0',
    PARLEY_WEB_URLS: web.url,
    PARLEY_HEARTBEAT_MS: '200',
    ...env,
  });
  const chat = createChatServer({ redis, log: silentLogger, config, gapGraceMs: 20 });
  const ports = await chat.listen();
  return {
    chat,
    ports,
    web,
    redis,
    prefix,
    observeUrl: (query) => `http://127.0.0.1:${ports.publicPort}/api/observe?${query}`,
    streamUrl: (query) => `http://127.0.0.1:${ports.publicPort}/api/observe/stream?${query}`,
    notify: (events) => postNotify(ports.internalPort, JSON.stringify({ events })),
    waitForParked: (count, timeoutMs = 3000) =>
      waitFor(() => chat.stats().parkedObservers === count, timeoutMs, `${count} parked observes`),
    async close() {
      await chat.close();
      redis.disconnect();
      await web.close();
    },
  };
}

/** POSTs `body` to the notify endpoint, signed unless `headers` replaces the signature. */
export async function postNotify(
  internalPort: number,
  body: string,
  headers: Record<string, string> = signRequest(SECRET, { method: 'POST', path: '/internal/notify', body }),
): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${internalPort}/internal/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(5000),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Polls `condition` every 10 ms until it holds, or rejects after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** An observe answer read in full. */
export interface ObserveResult {
  status: number;
  headers: Headers;
  text: string;
  /** Milliseconds from request to complete answer. */
  elapsedMs: number;
}

/** `Authorization: Bearer <token>`: how a session reaches an observe (a URL may not carry one). */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** GETs `url` with a bound, reading the whole answer. */
export async function get(url: string, timeoutMs = 5000, headers: Record<string, string> = {}): Promise<ObserveResult> {
  const started = Date.now();
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, elapsedMs: Date.now() - started };
}

/** Options of `useChatFixture`. */
export interface ChatSuiteOptions {
  /** Environment of every chatserver the suite starts. @default {} */
  env?: Record<string, string>;
  /** Start a chatserver before each test; false: a test starts its own with `start`. @default true */
  eachTest?: boolean;
}

/** What `useChatFixture` gives a suite. */
export interface ChatSuite {
  /** The suite's private redis-server. */
  readonly redis: RedisFixture;
  /** The running test's chatserver: a stand-in that forwards to it (throws when the test started none). */
  readonly fixture: ChatFixture;
  /** Starts the running test's chatserver with extra environment; it is closed after the test. */
  start(env?: Record<string, string>): Promise<ChatFixture>;
}

/**
 * The one fixture of the chatserver suites, as mocha hooks: a private
 * redis-server for the `describe` it is called in, and a chatserver with a
 * fresh web stand-in for each test, closed after it.
 */
export function useChatFixture(options: ChatSuiteOptions = {}): ChatSuite {
  let redis: RedisFixture | undefined;
  let current: ChatFixture | undefined;
  const redisFixture = (): RedisFixture => {
    if (redis === undefined) throw new Error('the suite has no redis-server (used outside a test?)');
    return redis;
  };
  const running = (): ChatFixture => {
    if (current === undefined) throw new Error('no chatserver started for this test');
    return current;
  };
  async function start(env: Record<string, string> = {}): Promise<ChatFixture> {
    if (current !== undefined) throw new Error('this test already started its chatserver');
    current = await startChatFixture(redisFixture().server.url, { ...options.env, ...env });
    return current;
  }

  before(async () => {
    redis = await startRedisFixture();
  });
  after(async () => {
    await redis?.stop();
    redis = undefined;
  });
  if (options.eachTest ?? true) beforeEach(() => start());
  afterEach(async () => {
    const closing = current;
    current = undefined;
    await closing?.close();
  });

  return {
    get redis() {
      return redisFixture();
    },
    fixture: new Proxy({} as ChatFixture, { get: (_target, key) => Reflect.get(running(), key) }),
    start,
  };
}
