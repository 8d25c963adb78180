// `npm run bench:unknown-rooms`: what observes of rooms that do not exist cost
// a chatserver. Rounds of 40 concurrent observes, each naming 50 rooms nobody
// created (fresh names every round, as a flood would send), against one real
// chatserver whose web tier is a stand-in that counts its requests and knows
// no room. Prints web requests per observe, rooms held and heap growth per
// room held. See docs/SECURITY.md ("Unknown rooms").
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createChatServer, loadConfig } from '@parley/chatserver';
import { startRedisServer } from '@parley/cluster';
import { silentLogger } from '@parley/protocol';

const OBSERVES_PER_ROUND = 40;
const ROOMS_PER_OBSERVE = 50;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);

const gc = (globalThis as { gc?: () => void }).gc;
function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

const dir = mkdtempSync(join(tmpdir(), 'parley-bench-unknown-'));
const redisServer = await startRedisServer({ dir: join(dir, 'redis') });
let webRequests = 0;
// Knows no room: every head is 0, as the web tier answers for a room that does not exist.
const web = createServer((req, res) => {
  webRequests++;
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.method === 'POST') {
      const { rooms } = JSON.parse(Buffer.concat(chunks).toString()) as { rooms: string[] };
      // Who may read them (`/internal/access`: missing, like any room nobody created), or their heads.
      const answer = req.url === '/internal/access'
        ? { access: Object.fromEntries(rooms.map((room) => [room, 'missing'])), sessionLive: true }
        : { heads: Object.fromEntries(rooms.map((room) => [room, 0])) };
      res.end(JSON.stringify(answer));
    } else {
      res.end(JSON.stringify({ events: [], seq: 0 }));
    }
  });
});
await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
const webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
const config = loadConfig({
  PARLEY_SECRET: randomBytes(24).toString('hex'),
  PARLEY_REDIS_URL: redisServer.url,
  PARLEY_REDIS_PREFIX: 'bench-unknown:',
  PARLEY_CHAT_PORT: '0',
  PARLEY_CHAT_INTERNAL_PORT: '0',
  PARLEY_WEB_URLS: webUrl,
});
const chat = createChatServer({ redis, log: silentLogger, config });
const { publicPort } = await chat.listen();

try {
  const session = randomBytes(32).toString('base64url');
  const heapBefore = heapUsed();
  const startedAt = performance.now();
  let observes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(
      Array.from({ length: OBSERVES_PER_ROUND }, async (_, index) => {
        const rooms = Array.from({ length: ROOMS_PER_OBSERVE }, (_, room) => `ghost-${round}-${index}-${room}`).join(',');
        const response = await fetch(`http://127.0.0.1:${publicPort}/api/observe?rooms=${rooms}&wait=0`, {
          // A token never goes in a URL (400 session_in_url): the header, as Parley's client sends it.
          headers: { authorization: `Bearer ${session}` },
          signal: AbortSignal.timeout(10_000),
        });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`observe answered ${response.status}`);
        observes++;
      }),
    );
  }
  const seconds = (performance.now() - startedAt) / 1000;
  const { rooms } = chat.stats();
  const heapGrowth = heapUsed() - heapBefore;
  console.log(`observes: ${observes} (${OBSERVES_PER_ROUND} at once × ${ROUNDS} rounds, ${ROOMS_PER_OBSERVE} unknown rooms each) in ${seconds.toFixed(2)} s`);
  console.log(`web requests: ${webRequests} (${(webRequests / observes).toFixed(2)} per observe; one per unknown room would be ${ROOMS_PER_OBSERVE})`);
  console.log(`rooms held: ${rooms} (PARLEY_CHAT_MAX_ROOMS ${config.maxRooms}; rooms without events are dropped after 60 s idle)`);
  console.log(`heap growth: ${(heapGrowth / 1024 / 1024).toFixed(1)} MB, ${Math.round(heapGrowth / Math.max(rooms, 1))} bytes per room held${gc === undefined ? ' (run with --expose-gc for a steadier figure)' : ''}`);
} finally {
  await chat.close();
  redis.disconnect();
  await new Promise<void>((resolve) => web.close(() => resolve()));
  await redisServer.stop();
  rmSync(dir, { recursive: true, force: true });
}
