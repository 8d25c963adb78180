// CPU per long-poll request answered at once (a client coming back behind the
// head: parse, cursor, access, cached answer, one write), for chatserver
// builds in turns: `node --import tsx bench/observe-requests.ts MAIN.js,MAIN.js… [ROUNDS] [SECONDS]`
// (each a chatserver `main.js` relative to the repository). The chatserver on
// core 0, the closed-loop clients (100 keep-alive connections) on core 1.
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleProcess } from '@parley/loadtest';
import { startChatserver } from './servers.js';

const mains = (process.argv[2] ?? 'packages/chatserver/dist/main.js').split(',');
const rounds = Number(process.argv[3] ?? 3);
const seconds = Number(process.argv[4] ?? 8);
const CONNECTIONS = 100;
const request = Buffer.from('GET /api/observe?rooms=bench-room:0&wait=0 HTTP/1.1\r\nHost: bench\r\n\r\n');

async function measure(main: string): Promise<number> {
  process.env.BENCH_CHATSERVER_MAIN = main;
  const dir = mkdtempSync(join(tmpdir(), 'observe-requests-'));
  const server = await startChatserver(dir, 0, 1);
  try {
    await server.channel('bench-room');
    let answered = 0;
    let stopping = false;
    const sockets = Array.from({ length: CONNECTIONS }, () => {
      const socket = connect(server.port, '127.0.0.1');
      socket.setNoDelay(true);
      socket.on('error', () => {});
      // Answers counted by their status lines (the bench's answers are far smaller than a read): one answer per read is not assumed.
      socket.on('data', (chunk: Buffer) => {
        let ends = 0;
        for (let at = chunk.indexOf('HTTP/1.1 '); at !== -1; at = chunk.indexOf('HTTP/1.1 ', at + 9)) ends++;
        answered += ends;
        for (let index = 0; index < ends && !stopping; index++) socket.write(request);
      });
      socket.on('connect', () => socket.write(request));
      return socket;
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const [cpuBefore, answeredBefore] = [sampleProcess(server.pid)?.cpuSeconds ?? 0, answered];
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const [cpuAfter, answeredAfter] = [sampleProcess(server.pid)?.cpuSeconds ?? 0, answered];
    stopping = true;
    for (const socket of sockets) socket.destroy();
    const perRequestUs = ((cpuAfter - cpuBefore) * 1e6) / (answeredAfter - answeredBefore);
    process.stdout.write(`${main}: ${answeredAfter - answeredBefore} answers, ${(cpuAfter - cpuBefore).toFixed(2)} CPU s, ${perRequestUs.toFixed(1)} us per request\n`);
    return perRequestUs;
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = new Map<string, number[]>(mains.map((main) => [main, []]));
for (let round = 0; round < rounds; round++) {
  for (const main of round % 2 === 0 ? mains : [...mains].reverse()) results.get(main)?.push(await measure(main));
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const first = median(results.get(mains[0] as string) ?? []);
for (const [main, values] of results) {
  process.stdout.write(`${main}: median ${median(values).toFixed(1)} us per request (${values.map((v) => v.toFixed(1)).join(', ')}), ${(median(values) / first).toFixed(3)}x the first\n`);
}
