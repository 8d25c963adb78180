import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '@parley/cluster';
import { createRedisConnection } from '../src/redis/connection.js';

const MASTER = 'parley-test';
const SWITCH_CHANNEL = '+switch-master';

function bulk(text: string): string {
  return `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
}

/** Whole RESP commands at the start of `input`, and what is left of it. */
function parseCommands(input: string): { commands: string[][]; rest: string } {
  const commands: string[][] = [];
  let at = 0;
  for (;;) {
    const header = input.indexOf('\r\n', at);
    if (!input.startsWith('*', at) || header < 0) break;
    const count = Number(input.slice(at + 1, header));
    const args: string[] = [];
    let cursor = header + 2;
    while (args.length < count) {
      const lengthEnd = input.indexOf('\r\n', cursor);
      if (lengthEnd < 0) break;
      const length = Number(input.slice(cursor + 1, lengthEnd));
      if (input.length < lengthEnd + 2 + length + 2) break;
      args.push(input.slice(lengthEnd + 2, lengthEnd + 2 + length));
      cursor = lengthEnd + 2 + length + 2;
    }
    if (args.length < count) break;
    commands.push(args);
    at = cursor;
  }
  return { commands, rest: input.slice(at) };
}

/**
 * A Sentinel stand-in whose timing the test controls: it names `primaryPort`
 * (read when it answers, `answerDelayMs` after the question), takes
 * `SUBSCRIBE +switch-master`, and announces a switch when told to.
 */
class ScriptedSentinel {
  primaryPort: number;
  answerDelayMs = 0;
  /** Questions for the primary not answered yet. */
  unanswered = 0;
  readonly #subscribers = new Set<Socket>();
  readonly #sockets = new Set<Socket>();
  readonly #server: Server;

  private constructor(primaryPort: number) {
    this.primaryPort = primaryPort;
    this.#server = createServer((socket) => this.#serve(socket));
  }

  static async start(primaryPort: number): Promise<ScriptedSentinel> {
    const sentinel = new ScriptedSentinel(primaryPort);
    await new Promise<void>((resolve) => sentinel.#server.listen(0, '127.0.0.1', resolve));
    return sentinel;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  announceSwitch(fromPort: number, toPort: number): void {
    const payload = `${MASTER} 127.0.0.1 ${fromPort} 127.0.0.1 ${toPort}`;
    for (const socket of this.#subscribers) socket.write(`*3\r\n${bulk('message')}${bulk(SWITCH_CHANNEL)}${bulk(payload)}`);
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => {
      this.#sockets.delete(socket);
      this.#subscribers.delete(socket);
    });
    socket.on('error', () => undefined);
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      const { commands, rest } = parseCommands(pending + chunk.toString('latin1'));
      pending = rest;
      for (const [name = '', ...args] of commands) this.#answer(socket, name.toLowerCase(), args);
    });
  }

  #answer(socket: Socket, name: string, args: string[]): void {
    if (name === 'sentinel' && args[0]?.toLowerCase() === 'get-master-addr-by-name') {
      this.unanswered++;
      setTimeout(() => {
        this.unanswered--;
        if (!socket.destroyed) socket.write(`*2\r\n${bulk('127.0.0.1')}${bulk(String(this.primaryPort))}`);
      }, this.answerDelayMs);
    } else if (name === 'subscribe') {
      this.#subscribers.add(socket);
      socket.write(`*3\r\n${bulk('subscribe')}${bulk(args[0] ?? '')}:1\r\n`);
    } else {
      socket.write('+OK\r\n');
    }
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('createRedisConnection through Sentinels', function () {
  this.timeout(30_000);
  let dir: string;
  const cleanups: Array<() => Promise<void> | void> = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parley-redis-connection-'));
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  async function redisServer(name: string): Promise<RedisServerHandle> {
    const server = await startRedisServer({ dir: join(dir, name), appendOnly: false });
    cleanups.push(() => server.stop());
    return server;
  }

  it('reaches the new primary when the Sentinels announce it while a reconnect is still asking them', async () => {
    const first = await redisServer('first');
    const second = await redisServer('second');
    const sentinel = await ScriptedSentinel.start(first.port);
    cleanups.push(() => sentinel.close());
    const redis = createRedisConnection(
      { redisUrl: 'redis://127.0.0.1:1', redisSentinels: [{ host: '127.0.0.1', port: sentinel.port }], redisMaster: MASTER },
      'fail-fast',
    );
    redis.on('error', () => undefined);
    cleanups.push(() => redis.disconnect());
    await waitFor(() => redis.status === 'ready' && sentinel.subscribers > 0, 10_000, 'the connection and its failover detector');

    // The primary dies; the reconnect asks the Sentinel, which takes its time.
    sentinel.answerDelayMs = 500;
    await first.stop();
    await waitFor(() => sentinel.unanswered > 0, 10_000, 'the reconnect to ask the Sentinel');
    // The promotion is announced while that question is open.
    sentinel.primaryPort = second.port;
    sentinel.answerDelayMs = 0;
    sentinel.announceSwitch(first.port, second.port);

    await waitFor(() => redis.status === 'ready' || redis.status === 'end', 10_000, 'the connection to settle');
    expect(redis.status, 'connection status (end: given up for good)').to.equal('ready');
    await redis.set('written-after-the-switch', 'yes');
    const onSecond = new Redis(second.port, '127.0.0.1');
    cleanups.push(() => onSecond.disconnect());
    expect(await onSecond.get('written-after-the-switch')).to.equal('yes');
  });
});
