// `npm run test:attack`: the floods of issue 12 against a fresh local cluster
// (2 web, 1 worker, 2 chatservers, nginx), with the figures docs/SECURITY.md
// quotes. Each phase measures a person using the site meanwhile: a say every
// 250 ms to a room they observe, timed from the say to its 201 and to its
// delivery through a parked observe.
//   1. slowloris: `slowhttptest -H`, 5,000 connections from one address
//   2. slow read: `slowhttptest -X`, 1,000 connections reading 32 bytes a second
//   3. capacity: 9,000 observers parked on one room through nginx (wait=55,
//      which nginx carries in 6 s hops), one say 8 s later (past a hop),
//      every observer must receive it
// Options (environment): ATTACK_SECONDS (each flood, default 20),
// ATTACK_OBSERVERS (phase 3, default 9000), ATTACK_SLOW_CONNECTIONS (default 5000).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type ClusterHandle } from '@parley/cluster';
import type { ChatEvent, ObserveAnswer } from '@parley/protocol';

const SECONDS = Number(process.env.ATTACK_SECONDS ?? 20);
const OBSERVERS = Number(process.env.ATTACK_OBSERVERS ?? 9000);
const SLOW_CONNECTIONS = Number(process.env.ATTACK_SLOW_CONNECTIONS ?? 5000);
/** Phase 3 waits this long after parking before its say: past one 6 s hop of nginx. */
const HOP_WAIT_MS = 8000;

function percentile(values: number[], share: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] ?? Number.NaN;
}

async function api<T>(base: string, method: string, path: string, session?: string, body?: unknown, timeoutMs = 10_000): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(session === undefined ? {} : { authorization: `Bearer ${session}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

async function expectStatus<T>(status: number, answer: Promise<{ status: number; body: T }>): Promise<T> {
  const { status: got, body } = await answer;
  if (got !== status) throw new Error(`expected ${status}, got ${got}: ${JSON.stringify(body)}`);
  return body;
}

/** A person saying every 250 ms in a room they observe, until `stop`. */
async function person(base: string, label: string): Promise<() => Promise<string>> {
  const session = (await expectStatus(201, api<{ session: string }>(base, 'POST', '/api/session', undefined, { nickname: `person-${label.replace(/\W/g, '')}` }))).session;
  const room = `attack-${label.replace(/\W/g, '')}-${Date.now().toString(36)}`;
  let cursor = (await expectStatus(200, api<{ room: { seq: number } }>(base, 'POST', `/api/rooms/${room}/enter`, session))).room.seq;
  const sayMs: number[] = [];
  const deliverMs: number[] = [];
  let failed = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const startedAt = Date.now();
      try {
        const observing = api<ObserveAnswer>(base, 'GET', `/api/observe?rooms=${room}:${cursor}&wait=10`, undefined, undefined, 20_000);
        const said = await api<{ event: ChatEvent }>(base, 'POST', `/api/rooms/${room}/say`, session, { text: 'still here' });
        if (said.status !== 201) throw new Error(`say ${said.status}`);
        sayMs.push(Date.now() - startedAt);
        const answer = await observing;
        if (!answer.body.events.some((event) => event.seq === said.body.event.seq)) throw new Error('not delivered');
        deliverMs.push(Date.now() - startedAt);
        cursor = said.body.event.seq;
      } catch {
        failed++;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return `person: ${sayMs.length} says, ${failed} failed; say p50 ${percentile(sayMs, 0.5)} ms p99 ${percentile(sayMs, 0.99)} ms max ${Math.max(...sayMs)} ms; deliver p99 ${percentile(deliverMs, 0.99)} ms`;
  };
}

/** Runs slowhttptest and returns its last status block. */
async function slowhttptest(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('slowhttptest', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (SECONDS + 60) * 1000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      // slowhttptest redraws its status; keep the last one and the verdict.
      const clean = output.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
      const blocks = clean.split(/slow HTTP test status on/);
      const last = blocks.at(-1) ?? clean;
      resolve(last.split('\n').filter((line) => /connections|service available|Exit status|closed|pending|connected|error/i.test(line)).map((line) => `    ${line.trim()}`).join('\n'));
    });
  });
}

async function flood(cluster: ClusterHandle, label: string, args: string[]): Promise<void> {
  const stopPerson = await person(cluster.publicUrl, label);
  const status = await slowhttptest([...args, '-l', String(SECONDS), '-u', `${cluster.publicUrl}/`]);
  console.log(`${label} (slowhttptest ${args.join(' ')} -l ${SECONDS}):\n${status}\n  ${await stopPerson()}`);
}

/** Parks `count` observers of one room through nginx, says once, and times every delivery. */
async function capacity(cluster: ClusterHandle, count: number): Promise<void> {
  const base = cluster.publicUrl;
  const url = new URL(base);
  const session = (await api<{ session: string }>(base, 'POST', '/api/session', undefined, { nickname: 'speaker' })).body.session;
  const room = `capacity-${Date.now().toString(36)}`;
  const head = (await api<{ room: { seq: number } }>(base, 'POST', `/api/rooms/${room}/enter`, session)).body.room.seq;
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  let delivered = 0;
  let failed = 0;
  const failures = new Map<string, number>();
  const fail = (reason: string): void => {
    failed++;
    failures.set(reason, (failures.get(reason) ?? 0) + 1);
  };
  const receivedAt: number[] = [];
  const observes: Array<Promise<void>> = [];
  const openedAt = Date.now();
  for (let index = 0; index < count; index++) {
    observes.push(new Promise<void>((resolve) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: `/api/observe?rooms=${room}:${head}&wait=55`, agent }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => {
          if (res.statusCode === 200 && (JSON.parse(text) as ObserveAnswer).events.length > 0) {
            delivered++;
            receivedAt.push(Date.now());
          } else fail(`${res.statusCode} ${text.slice(0, 80)}`);
          resolve();
        });
      });
      req.setTimeout(70_000, () => req.destroy());
      req.on('error', (error: NodeJS.ErrnoException) => {
        fail(error.code ?? error.message);
        resolve();
      });
      req.end();
    }));
    // nginx's accept backlog is 511: open in steps.
    if (index % 500 === 499) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const parkedNow = async (): Promise<number> => {
    let sum = 0;
    for (const entry of cluster.processes().filter((candidate) => candidate.role === 'chatserver')) {
      const text = await (await fetch(`http://127.0.0.1:${entry.internalPort}/metrics`)).text();
      sum += Number(text.split('\n').find((line) => line.startsWith('parley_parked_observes '))?.split(' ')[1] ?? 0);
    }
    return sum;
  };
  // Parked once every chatserver's gauge adds up to `count` (bounded).
  const deadline = Date.now() + 60_000;
  let parked = 0;
  while (Date.now() < deadline) {
    parked = await parkedNow();
    if (parked + failed >= count) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const parkedAfterMs = Date.now() - openedAt;
  // nginx carries a 55 s hold in 6 s hops: let every observer hop at least once before the say.
  await new Promise((resolve) => setTimeout(resolve, HOP_WAIT_MS));
  const parkedAfterHop = await parkedNow();
  const saidAt = Date.now();
  const said = await api<unknown>(base, 'POST', `/api/rooms/${room}/say`, session, { text: 'to everybody' });
  if (said.status !== 201) console.log(`capacity: the say answered ${said.status} ${JSON.stringify(said.body)}`);
  await Promise.all(observes);
  const latencies = receivedAt.map((at) => at - saidAt);
  console.log(`capacity: ${count} observers through nginx, ${parked} parked after ${parkedAfterMs} ms, ${parkedAfterHop} ${HOP_WAIT_MS / 1000} s later (after a hop); one say delivered to ${delivered} (${failed} failed); deliver p50 ${percentile(latencies, 0.5)} ms p99 ${percentile(latencies, 0.99)} ms max ${Math.max(...latencies)} ms${failed > 0 ? `; failures: ${JSON.stringify(Object.fromEntries(failures))}` : ''}`);
  agent.destroy();
}

if (spawnSync('slowhttptest', ['-h']).error !== undefined) {
  console.error('slowhttptest is missing: run `bash scripts/setup.sh` as root (or apt-get install slowhttptest)');
  process.exit(1);
}
const runDir = mkdtempSync(join(tmpdir(), 'parley-attack-'));
chmodSync(runDir, 0o755);
const cluster = await startCluster({ runDir, publicPort: 0, webCount: 2, workerCount: 1, chatCount: 2, startTimeoutMs: 60_000, stopTimeoutMs: 5000 });
try {
  console.log(`cluster at ${cluster.publicUrl}; open files: ${spawnSync('sh', ['-c', 'ulimit -n']).stdout.toString().trim()}`);
  const phases = (process.env.ATTACK_PHASES ?? 'slowloris,slowread,capacity').split(',');
  if (phases.includes('slowloris')) await flood(cluster, 'slowloris', ['-H', '-c', String(SLOW_CONNECTIONS), '-r', '1000', '-i', '2', '-x', '24', '-p', '3']);
  if (phases.includes('slowread')) await flood(cluster, 'slow read', ['-X', '-c', '1000', '-r', '500', '-w', '512', '-y', '1024', '-n', '1', '-z', '32', '-k', '3', '-p', '3']);
  if (phases.includes('capacity')) await capacity(cluster, OBSERVERS);
} finally {
  await cluster.stop();
  rmSync(runDir, { recursive: true, force: true });
}
