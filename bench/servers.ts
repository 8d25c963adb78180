// The three long-poll servers the fan-out benches compare, each started on
// the server core, with the dialect the lean generator speaks to it and the
// way a message is published to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, Agent, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { findFreePort, startRedisServer, waitForPort, type RedisServerHandle } from '@parley/cluster';
import type { DeliveredMessage, LongPollDialect, RawAnswer, StreamDialect } from '@parley/loadtest';
import type { ChatEvent, RoomAccessAnswer, RoomAccessBody } from '@parley/protocol';
import { signRequest } from '@parley/protocol/node';

export const REPO = resolve(import.meta.dirname, '..');
export const NCHAN_MODULE = process.env.NCHAN_MODULE ?? '/usr/lib/nginx/modules/ngx_nchan_module.so';
/** Longest hold of an observe, seconds, for all three (Nchan's timeout, the chatserver's wait). */
const HOLD_SECONDS = 25;

/** What one bench cell needs from a server. */
export interface BenchServer {
  readonly name: 'chatserver' | 'chatserver-stream' | 'nchan' | 'nchan-stream' | 'floor';
  /** The process whose CPU and RSS are measured (nginx: its one worker). */
  readonly pid: number;
  readonly port: number;
  /** A fresh channel: its dialect, first cursor, and publisher. */
  channel(id: string): Promise<BenchChannel>;
  stop(): Promise<void>;
}

/** One room / channel of a server. */
export interface BenchChannel {
  // The cursor type differs per server; the generator treats it as opaque.
  dialect: LongPollDialect<unknown>;
  initialCursor: unknown;
  /** Set for a streaming target: its observers open one EventSource stream each instead of long-polling. */
  stream?: StreamDialect;
  /**
   * Publishes messages `n` (1, 2, …) with text `text`, each stamped with its
   * `at` (ms, `performance.timeOrigin` clock), in order: the chatserver in one
   * notify (as the worker batches what queued behind an in-flight POST), the
   * others one POST per message (their publishers take one message), up to 4
   * at once, so they may arrive out of order (the generator counts each once).
   */
  publish(messages: ReadonlyArray<{ n: number; at: number }>, text: string): Promise<void>;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });
// A publish is retried after this (see main.ts); every server answers one in milliseconds when well.
const PUBLISH_TIMEOUT_MS = 3000;

function post(port: number, path: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolvePost, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode !== undefined && res.statusCode < 300 ? resolvePost(res.statusCode) : reject(new Error(`POST ${path}: ${res.statusCode}`))));
    });
    req.setTimeout(PUBLISH_TIMEOUT_MS, () => req.destroy(new Error(`POST ${path}: timeout`)));
    req.on('error', reject);
    req.end(body);
  });
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolveGet, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolveGet(res.statusCode) : reject(new Error(`GET ${path}: ${res.statusCode}`))));
    });
    req.setTimeout(PUBLISH_TIMEOUT_MS, () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.on('error', reject);
    req.end();
  });
}

/** The event every server carries: the same ~200 bytes of JSON everywhere. `n` is seq - 1 (seq 1 primes the chatserver's room). */
function eventFor(room: string, n: number, text: string, at: number): ChatEvent {
  return { room, seq: n + 1, at, id: `b${n}`, nickname: 'bench', user: null, type: 'message', text };
}

function messageOf(event: ChatEvent): DeliveredMessage {
  return { n: event.seq - 1, sentAt: event.at };
}

/** Observers of one channel mostly receive identical bytes: parse each distinct body once. */
function parseCache<T>(parse: (body: string) => T): (body: string) => T {
  const cache = new Map<string, T>();
  return (body) => {
    let value = cache.get(body);
    if (value === undefined) {
      value = parse(body);
      if (cache.size > 256) cache.clear();
      cache.set(body, value);
    }
    return value;
  };
}

/** The messages of a Nchan answer: one message, or a multipart/mixed body of several. */
function parseNchanBody(body: string): DeliveredMessage[] {
  if (!body.startsWith('--')) return [messageOf(JSON.parse(body) as ChatEvent)];
  const messages: DeliveredMessage[] = [];
  // Each part: boundary line, part headers, blank line, the message, CRLF before the next boundary.
  for (let headEnd = body.indexOf('\r\n\r\n'); headEnd >= 0; ) {
    const end = body.indexOf('\r\n--', headEnd + 4);
    if (end < 0) break;
    messages.push(messageOf(JSON.parse(body.slice(headEnd + 4, end)) as ChatEvent));
    headEnd = body.indexOf('\r\n\r\n', end);
  }
  return messages;
}

/** The message of one event-stream `data:` payload (the event JSON, both servers); none for the chatserver's ready event. */
const streamMessage = parseCache((data: string): DeliveredMessage | undefined => {
  const event = JSON.parse(data) as Partial<ChatEvent>;
  return event.seq === undefined ? undefined : messageOf(event as ChatEvent);
});

function header(answer: RawAnswer, name: string): string | undefined {
  return new RegExp(`^${name}: *([^\\r\\n]*)`, 'im').exec(answer.head)?.[1];
}

function pinned(core: number, command: string, args: string[], logPath: string, env?: NodeJS.ProcessEnv): ChildProcess {
  const log = openSync(logPath, 'a');
  try {
    // taskset execs the command: the child's pid is the server's.
    return spawn('taskset', ['-c', String(core), command, ...args], { stdio: ['ignore', log, log], env: env ?? process.env });
  } finally {
    closeSync(log);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** The chatserver from the built dist, with a private Redis for its heartbeat. Driven directly: observe port and signed notify port. */
export async function startChatserver(dir: string, core: number, otherCore: number, name: 'chatserver' | 'chatserver-stream' = 'chatserver'): Promise<BenchServer> {
  mkdirSync(dir, { recursive: true });
  const redis: RedisServerHandle = await startRedisServer({ dir: join(dir, 'redis'), appendOnly: false });
  if (redis.pid !== undefined) spawn('taskset', ['-a', '-cp', String(otherCore), String(redis.pid)], { stdio: 'ignore' });
  const [port, internalPort] = [await findFreePort(), await findFreePort()];
  const secret = randomBytes(24).toString('hex');
  const web = await startPublicRoomsWebTier();
  // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the chatserver under the bench.
  const nodeArgs = (process.env.BENCH_CHATSERVER_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
  // e.g. a copy of an earlier build, for an A/B of two builds in turns (relative to the repository).
  const main = process.env.BENCH_CHATSERVER_MAIN ?? 'packages/chatserver/dist/main.js';
  const child = pinned(core, process.execPath, [...nodeArgs, join(REPO, main)], join(dir, 'chatserver.log'), {
    ...process.env,
    PARLEY_SECRET: secret,
    PARLEY_REDIS_URL: redis.url,
    PARLEY_REDIS_PREFIX: 'bench:',
    PARLEY_CHAT_PORT: String(port),
    PARLEY_CHAT_INTERNAL_PORT: String(internalPort),
    // Asked only who may read a room (once per room, then cached): every bench room is
    // primed by a notify before it is observed, so no history is ever asked for.
    PARLEY_WEB_URLS: web.url,
    PARLEY_CHAT_MAX_OBSERVERS: '100000',
    PARLEY_LOG_LEVEL: 'warn',
  });
  try {
    await waitForPort(port, 30_000);
    await waitForPort(internalPort, 30_000);
  } catch (error) {
    await stopChild(child);
    await redis.stop();
    web.server.close();
    throw error;
  }
  const notify = (events: ChatEvent[]): Promise<number> => {
    const body = JSON.stringify({ events });
    return post(internalPort, '/internal/notify', { 'content-type': 'application/json', ...signRequest(secret, { method: 'POST', path: '/internal/notify', body }) }, body);
  };
  return {
    name,
    pid: child.pid as number,
    port,
    async channel(room) {
      // Retried: on a busy machine one POST may time out, and the bench must not stop for it.
      for (let attempt = 1; ; attempt++) {
        try {
          await notify([eventFor(room, 0, 'primer', performance.timeOrigin + performance.now())]);
          break;
        } catch (error) {
          if (attempt >= 3) throw error;
        }
      }
      // One observe first: the chatserver learns the room is public (it asks the
      // web tier once per room), as it has long before thousands observe a room.
      // Else every observe of the ramp asks at once, and many are refused 503.
      await get(port, `/api/observe?rooms=${room}:1&wait=0`);
      const parse = parseCache((body) => {
        const answer = JSON.parse(body) as { events: ChatEvent[]; cursor: string };
        return { messages: answer.events.map(messageOf), next: Number(answer.cursor.slice(answer.cursor.indexOf(':') + 1)) };
      });
      const dialect: LongPollDialect<number> = {
        request: (seq) => `GET /api/observe?rooms=${room}:${seq}&wait=${HOLD_SECONDS} HTTP/1.1\r\nHost: bench\r\n\r\n`,
        answer: (answer) => parse(answer.body),
      };
      return {
        dialect: dialect as LongPollDialect<unknown>,
        initialCursor: 1,
        ...(name === 'chatserver-stream' ? { stream: { request: `GET /api/observe/stream?rooms=${room}:1 HTTP/1.1\r\nHost: bench\r\n\r\n`, message: streamMessage } } : {}),
        publish: async (messages, text) => {
          await notify(messages.map(({ n, at }) => eventFor(room, n, text, at)));
        },
      };
    },
    async stop() {
      await stopChild(child);
      await redis.stop();
      web.server.close();
    },
  };
}

/**
 * The one web-tier call a bench chatserver makes, `POST /internal/access`
 * (who may read a room), answered "public" for every room: the fan-out
 * measures the comet tier alone, and every room of the bench is public.
 */
async function startPublicRoomsWebTier(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/internal/access') {
        res.writeHead(404).end();
        return;
      }
      const { rooms } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RoomAccessBody;
      const answer: RoomAccessAnswer = { access: Object.fromEntries(rooms.map((room) => [room, 'public'])) };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  const port = await findFreePort();
  await new Promise<void>((resolveListen) => server.listen(port, '127.0.0.1', resolveListen));
  return { server, url: `http://127.0.0.1:${port}` };
}

function nchanConfig(dir: string, port: number): string {
  return `load_module ${NCHAN_MODULE};
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 20000; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp;
  proxy_temp_path ${dir}/tmp;
  fastcgi_temp_path ${dir}/tmp;
  uwsgi_temp_path ${dir}/tmp;
  scgi_temp_path ${dir}/tmp;
  keepalive_timeout 65s;
  keepalive_requests 1000000;
  nchan_shared_memory_size 128m;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location ~ ^/pub/(\\w+)$ {
      nchan_publisher;
      nchan_channel_id $1;
      nchan_message_buffer_length 1000;
      nchan_message_timeout 10m;
    }
    location ~ ^/es/(\\w+)$ {
      nchan_subscriber eventsource;
      nchan_channel_id $1;
    }
    location ~ ^/sub/(\\w+)$ {
      nchan_subscriber longpoll;
      nchan_channel_id $1;
      nchan_subscriber_timeout ${HOLD_SECONDS}s;
      # Every message after the cursor in one answer, as the chatserver and the
      # floor do. Nchan's default (one message per answer) fell behind at 20
      # messages/s: 45 % delivered at 5,000 observers, its publisher timed out at 9,000.
      nchan_longpoll_multipart_response on;
    }
  }
}
`;
}

/** A private nginx with Nchan, one worker, a publisher and a long-poll subscriber location. */
export async function startNchan(dir: string, core: number, name: 'nchan' | 'nchan-stream' = 'nchan'): Promise<BenchServer> {
  const runDir = resolve(dir);
  mkdirSync(join(runDir, 'tmp'), { recursive: true });
  const port = await findFreePort();
  writeFileSync(join(runDir, 'nginx.conf'), nchanConfig(runDir, port));
  const nginx = process.env.NGINX ?? '/usr/sbin/nginx';
  const child = pinned(core, nginx, ['-p', `${runDir}/`, '-c', join(runDir, 'nginx.conf'), '-e', join(runDir, 'error.log'), '-g', 'daemon off;'], join(runDir, 'nginx.out'));
  await waitForPort(port, 30_000).catch(async (error: unknown) => {
    await stopChild(child);
    throw error;
  });
  const master = child.pid as number;
  // The master may accept before its worker is forked: look for it a while.
  let worker = 0;
  for (let tries = 0; tries < 100 && !(worker > 0); tries++) {
    worker = Number(readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(' ')[0]);
    if (!(worker > 0)) await new Promise((done) => setTimeout(done, 50));
  }
  if (!(worker > 0)) {
    await stopChild(child);
    throw new Error('nginx has no worker process');
  }
  return {
    name,
    pid: worker,
    port,
    async channel(id) {
      interface NchanCursor { modified: string; etag: string }
      const parse = parseCache(parseNchanBody);
      const dialect: LongPollDialect<NchanCursor | undefined> = {
        request: (cursor) =>
          cursor === undefined
            ? `GET /sub/${id} HTTP/1.1\r\nHost: bench\r\n\r\n`
            : `GET /sub/${id} HTTP/1.1\r\nHost: bench\r\nIf-Modified-Since: ${cursor.modified}\r\nIf-None-Match: ${cursor.etag}\r\n\r\n`,
        answer: (answer, cursor) => {
          const modified = header(answer, 'last-modified');
          const etag = header(answer, 'etag');
          return { messages: parse(answer.body), next: modified !== undefined && etag !== undefined ? { modified, etag } : cursor };
        },
      };
      return {
        dialect: dialect as LongPollDialect<unknown>,
        initialCursor: undefined,
        ...(name === 'nchan-stream' ? { stream: { request: `GET /es/${id} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n`, message: streamMessage } } : {}),
        publish: async (messages, text) => {
          // Up to the agent's 4 sockets at once: one POST at a time could not keep up with 20/s on this busy machine.
          await Promise.all(messages.map(({ n, at }) => post(port, `/pub/${id}`, { 'content-type': 'application/json' }, JSON.stringify(eventFor(id, n, text, at)))));
        },
      };
    },
    async stop() {
      await stopChild(child);
    },
  };
}

/** `bench/floor.mjs`: the least a node:http long-poll server does. */
export async function startFloor(dir: string, core: number): Promise<BenchServer> {
  mkdirSync(dir, { recursive: true });
  const port = await findFreePort();
  const child = pinned(core, process.execPath, [join(REPO, 'bench/floor.mjs'), String(port)], join(dir, 'floor.log'));
  await waitForPort(port, 30_000).catch(async (error: unknown) => {
    await stopChild(child);
    throw error;
  });
  return {
    name: 'floor',
    pid: child.pid as number,
    port,
    async channel(id) {
      // The floor has one channel: a new one starts after every message it holds
      // (asked, not counted here: a timed-out publish may still have landed).
      const start = Number(await (await fetch(`http://127.0.0.1:${port}/count`)).text());
      const parse = parseCache((body) => (JSON.parse(body) as ChatEvent[]).map(messageOf));
      const dialect: LongPollDialect<number> = {
        request: (after) => `GET /sub?after=${after} HTTP/1.1\r\nHost: bench\r\n\r\n`,
        answer: (answer, after) => {
          const messages = parse(answer.body);
          return { messages, next: after + messages.length };
        },
      };
      return {
        dialect: dialect as LongPollDialect<unknown>,
        initialCursor: start,
        publish: async (messages, text) => {
          await Promise.all(messages.map(({ n, at }) => post(port, '/pub', { 'content-type': 'application/json' }, JSON.stringify(eventFor(id, n, text, at)))));
        },
      };
    },
    async stop() {
      await stopChild(child);
    },
  };
}
