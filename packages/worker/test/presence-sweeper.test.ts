import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer, type RedisServerHandle } from '@parley/cluster';
import {
  presenceKey,
  presenceRoomsKey,
  presenceSweepLockKey,
  silentLogger,
  type PresenceExpireBody,
} from '@parley/protocol';
import {
  signatureHeaders,
  verifySignedRequest,
} from '@parley/protocol/node';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createPresenceSweeper, type PresenceSweeper, type PresenceSweeperOptions } from '../src/presence-sweeper.js';
import { TEST_SECRET, waitFor } from './stub-chatserver.js';

const TIMEOUT_MS = 2000;

/** A token hash as the web tier names sessions. */
const hashOf = (label: string): string => createHash('sha256').update(label).digest('hex');

/** What a stub web process does with one expire request (after checking its signature). */
type ExpireHandler = (body: PresenceExpireBody) => Promise<number> | number;

/** A real HTTP server standing in for the web tier's signed presence endpoint. */
interface StubWeb {
  url: string;
  /** Bodies of the requests whose signature was valid. */
  received: PresenceExpireBody[];
  /** Requests refused for their signature. */
  refused: number;
  close(): Promise<void>;
}

async function startStubWeb(handle: ExpireHandler = (body) => body.tokenHashes.length): Promise<StubWeb> {
  const stub: StubWeb = { url: '', received: [], refused: 0, close: async () => undefined };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        verifySignedRequest(TEST_SECRET, { method: request.method ?? '', path: request.url ?? '', body }, signatureHeaders(request.headers));
      } catch {
        stub.refused++;
        response.writeHead(403).end();
        return;
      }
      const parsed = JSON.parse(body) as PresenceExpireBody;
      stub.received.push(parsed);
      void (async () => handle(parsed))().then(
        (left) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ left })),
        () => response.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return stub;
}

describe('presence sweeper', function () {
  let redisDir: string;
  let redisServer: RedisServerHandle;
  let redis: Redis;
  let prefix: string;
  let testNumber = 0;
  let stubs: StubWeb[];
  let sweepers: PresenceSweeper[];

  before(async function () {
    redisDir = await mkdtemp(join(tmpdir(), 'parley-sweeper-test-'));
    redisServer = await startRedisServer({ dir: redisDir, appendOnly: false });
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  });

  after(async function () {
    redis.disconnect();
    await redisServer.stop();
    await rm(redisDir, { recursive: true, force: true });
  });

  beforeEach(function () {
    testNumber++;
    prefix = `sweep${testNumber}:`;
    stubs = [];
    sweepers = [];
  });

  afterEach(async function () {
    await Promise.all(sweepers.map((sweeper) => sweeper.close()));
    await Promise.all(stubs.map((stub) => stub.close()));
  });

  async function stubWeb(handle?: ExpireHandler): Promise<StubWeb> {
    const stub = await startStubWeb(handle);
    stubs.push(stub);
    return stub;
  }

  function sweeper(options: Partial<PresenceSweeperOptions> & { webUrls: string[] }): PresenceSweeper {
    const created = createPresenceSweeper({
      redis,
      prefix,
      secret: TEST_SECRET,
      timeoutMs: TIMEOUT_MS,
      sweepMs: 10_000,
      log: silentLogger,
      requestTimeoutMs: 500,
      ...options,
    });
    sweepers.push(created);
    return created;
  }

  /** Puts `member` in `room`'s presence set, last seen `ageMs` ago, the way chatservers do. */
  async function seen(room: string, member: string, ageMs: number): Promise<void> {
    await redis.zadd(presenceKey(prefix, room), Date.now() - ageMs, member);
    await redis.sadd(presenceRoomsKey(prefix), room);
  }

  const members = (room: string): Promise<string[]> => redis.zrange(presenceKey(prefix, room), 0, -1).then((list) => list.sort());
  const indexedRooms = (): Promise<string[]> => redis.smembers(presenceRoomsKey(prefix)).then((list) => list.sort());

  it('hands only entries older than the timeout to the web tier and removes only those', async () => {
    const web = await stubWeb();
    await seen('lobby', hashOf('gone'), TIMEOUT_MS + 5000);
    await seen('lobby', hashOf('here'), 100);
    await seen('dev', hashOf('also-gone'), TIMEOUT_MS + 1);
    await seen('dev', hashOf('gone'), TIMEOUT_MS + 600);

    const result = await sweeper({ webUrls: [web.url] }).sweep();

    expect(result).to.deep.equal({ swept: true, stale: 3, left: 3 });
    const byRoom = Object.fromEntries(web.received.map((body) => [body.room, [...body.tokenHashes].sort()]));
    expect(byRoom).to.deep.equal({ lobby: [hashOf('gone')], dev: [hashOf('also-gone'), hashOf('gone')].sort() });
    expect(await members('lobby')).to.deep.equal([hashOf('here')]);
    expect(await members('dev')).to.deep.equal([]);
    // A room with nobody left is no longer scanned.
    expect(await indexedRooms()).to.deep.equal(['lobby']);
  });

  it('keeps an entry that was seen again while the web tier was being asked', async () => {
    const room = 'race';
    const web = await stubWeb(async () => {
      // The session observes again right now, before the sweeper removes its entry.
      await redis.zadd(presenceKey(prefix, room), Date.now(), hashOf('back'));
      return 0;
    });
    await seen(room, hashOf('back'), TIMEOUT_MS + 1000);
    await sweeper({ webUrls: [web.url] }).sweep();
    expect(web.received).to.have.length(1);
    expect(await members(room)).to.deep.equal([hashOf('back')]);
    expect(await indexedRooms()).to.deep.equal([room]);
  });

  it('tries the next web process when one is down, and keeps every entry when none answers', async () => {
    const web = await stubWeb();
    const down = await stubWeb();
    await down.close();
    await seen('lobby', hashOf('gone'), TIMEOUT_MS + 1000);

    let failure: unknown;
    await sweeper({ webUrls: [down.url] }).sweep().catch((error: unknown) => (failure = error));
    expect(String(failure)).to.contain('no web process took the expired presence');
    expect(await members('lobby')).to.deep.equal([hashOf('gone')]);

    // The lock is per tick: the next attempt is a new one.
    await redis.del(presenceSweepLockKey(prefix));
    const result = await sweeper({ webUrls: [down.url, web.url] }).sweep();
    expect(result.left).to.equal(1);
    expect(web.received.map((body) => body.tokenHashes)).to.deep.equal([[hashOf('gone')]]);
    expect(await members('lobby')).to.deep.equal([]);
  });

  it('keeps every entry when the web tier answers with an error', async () => {
    const web = await stubWeb(() => {
      throw new Error('store unavailable');
    });
    await seen('lobby', hashOf('gone'), TIMEOUT_MS + 1000);
    let failure: unknown;
    await sweeper({ webUrls: [web.url] }).sweep().catch((error: unknown) => (failure = error));
    expect(String(failure)).to.contain('answered 500');
    expect(await members('lobby')).to.deep.equal([hashOf('gone')]);
  });

  it('lets one sweeper of the cluster work per tick', async () => {
    const web = await stubWeb();
    await seen('lobby', hashOf('gone'), TIMEOUT_MS + 1000);
    const results = await Promise.all([sweeper({ webUrls: [web.url] }).sweep(), sweeper({ webUrls: [web.url] }).sweep()]);
    expect(results.map((result) => result.swept).sort()).to.deep.equal([false, true]);
    expect(web.received).to.have.length(1);
    expect(web.refused).to.equal(0);
  });

  it('hands a crowd of stale entries over in batches until none is left', async () => {
    const web = await stubWeb();
    for (let i = 0; i < 25; i++) await seen('crowd', hashOf(`gone-${i}`), TIMEOUT_MS + 1000 + i);
    const result = await sweeper({ webUrls: [web.url], batchSize: 10 }).sweep();
    expect(result).to.include({ stale: 25, left: 25 });
    expect(web.received.map((body) => body.tokenHashes.length)).to.deep.equal([10, 10, 5]);
    expect(await members('crowd')).to.deep.equal([]);
  });

  it('sweeps on its own timer once started', async () => {
    const web = await stubWeb();
    await seen('lobby', hashOf('gone'), TIMEOUT_MS + 1000);
    sweeper({ webUrls: [web.url], sweepMs: 100 }).start();
    await waitFor(async () => (await members('lobby')).length === 0, 3000, 'the timer to sweep');
    expect(web.received).to.have.length(1);
  });
});
