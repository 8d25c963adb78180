/**
 * Shared pieces of the web-tier benchmarks (say-throughput, chat-mix,
 * notify-path): a pinned cluster, a keep-alive HTTP client, closed- and
 * open-loop generators, percentiles and a Markdown table.
 *
 * Pinning: the bench process pins itself to the server CPUs, starts the
 * cluster (children inherit the affinity), then moves itself — every thread —
 * to the generator CPUs. So the generator never steals the server's core.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startCluster, type ClusterHandle, type ClusterStore } from '@parley/cluster';
import { readClusterProcesses, sampleAll, usageBetween, type ProcessUsage } from '@parley/loadtest';
import type { Pinning } from './bench-args.js';

export { benchArgs, checkStoreList, type Pinning } from './bench-args.js';

/** Pins every thread of this process to `cpus` (a `taskset -c` list); a no-op when cpus is ''. */
export function pinSelf(cpus: string): void {
  if (cpus === '') return;
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

/** A running cluster for one measurement, stopped by `stop`. */
export interface BenchCluster {
  cluster: ClusterHandle;
  base: string;
  stop(): Promise<void>;
}

/**
 * Starts a whole cluster (Redis, nginx, web × webCount, 1 worker, 2
 * chatservers; PostgreSQL too for store `postgres`) from the built dist,
 * pinned to `pinning.server`, with rate limits off and logs at warn. The
 * caller is left on `pinning.generator`.
 */
export async function startPinnedCluster(options: {
  webCount: number;
  pinning: Pinning;
  env?: Record<string, string>;
  chatCount?: number;
  workerCount?: number;
  /** @default 'sqlite' */
  store?: ClusterStore;
  /** PostgreSQL's fsync and synchronous_commit (store `postgres`). @default true */
  postgresDurable?: boolean;
}): Promise<BenchCluster> {
  pinSelf(options.pinning.server);
  let cluster: ClusterHandle | undefined;
  let runDir = '';
  try {
    // The cluster picks free ports then binds them; on a machine where other
    // test runs bind ports too, one may be taken in between (EADDRINUSE): retry.
    for (let attempt = 1; cluster === undefined; attempt++) {
      runDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
      // As root PostgreSQL runs as another user, who must reach its data dir under this one.
      chmodSync(runDir, 0o755);
      try {
        cluster = await startCluster({
          runDir,
          store: options.store ?? 'sqlite',
          postgresDurable: options.postgresDurable ?? true,
          publicPort: 0,
          webCount: options.webCount,
          workerCount: options.workerCount ?? 1,
          chatCount: options.chatCount ?? 2,
          startTimeoutMs: 60_000,
          stopTimeoutMs: 5000,
          // Benchmarks need no crash-proof queue; AOF fsync would measure the disk.
          redisAppendOnly: false,
          // Every parked observe holds two nginx connections (client and upstream).
          nginxWorkerConnections: 16_384,
          env: {
            PARLEY_LOG_LEVEL: 'warn',
            // Rate limits off (0 disables each): the bench measures the say path, not 429s.
            PARLEY_RATE_SAY_PER_SESSION: '0',
            PARLEY_RATE_SAY_PER_IP: '0',
            PARLEY_RATE_SESSION_PER_IP: '0',
            PARLEY_RATE_ENTER_PER_SESSION: '0',
            ...options.env,
          },
        });
      } catch (error) {
        rmSync(runDir, { recursive: true, force: true });
        if (attempt >= 3) throw error;
        process.stderr.write(`cluster start failed (attempt ${attempt}), retrying: ${String(error).split('\n')[0]}\n`);
      }
    }
  } finally {
    pinSelf(options.pinning.generator);
  }
  return {
    cluster,
    base: cluster.publicUrl,
    async stop() {
      await cluster.stop();
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/** CPU seconds per role (web, worker, chatserver, redis, nginx) of per-process usages, to 0.01 s. */
export function cpuByRole(usages: readonly ProcessUsage[]): Record<string, number> {
  const cpu: Record<string, number> = {};
  for (const usage of usages) cpu[usage.role] = Math.round(((cpu[usage.role] ?? 0) + usage.cpuSeconds) * 100) / 100;
  return cpu;
}

/** CPU seconds per role spent while `body` ran, with its result. */
export async function withCpuByRole<T>(bench: BenchCluster, body: () => Promise<T>): Promise<{ result: T; cpu: Record<string, number> }> {
  const processes = readClusterProcesses(join(bench.cluster.runDir, 'cluster.json'));
  const before = sampleAll(processes);
  const result = await body();
  return { result, cpu: cpuByRole(usageBetween(processes, before, sampleAll(processes))) };
}

/** A keep-alive client of one origin. */
export class BenchClient {
  readonly pool: Pool;
  constructor(base: string, connections: number) {
    this.pool = new Pool(base, { connections, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 });
  }

  /** Sends a request and reads the whole answer; throws on an unexpected status. */
  async request(method: 'GET' | 'POST', path: string, options: { token?: string; body?: unknown; expect?: number } = {}): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    const answer = await this.pool.request({ method, path, headers, ...(body === undefined ? {} : { body }) });
    const text = await answer.body.text();
    const expected = options.expect ?? 200;
    if (answer.statusCode !== expected) throw new Error(`${method} ${path}: ${answer.statusCode} ${text.slice(0, 200)}`);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

/** A session that has entered its room. */
export interface Speaker {
  token: string;
  room: string;
}

/** Creates `sessions` sessions, each entering room `<prefix>-<i % rooms>`, `parallel` at a time. */
export async function createSpeakers(client: BenchClient, options: { sessions: number; rooms: number; prefix: string; parallel?: number }): Promise<Speaker[]> {
  const speakers: Speaker[] = new Array<Speaker>(options.sessions);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < options.sessions) {
      const index = next++;
      const created = (await client.request('POST', '/api/session', { body: { nickname: `b${index}` }, expect: 201 })) as { session: string };
      const room = `${options.prefix}-${index % options.rooms}`;
      await client.request('POST', `/api/rooms/${room}/enter`, { token: created.session });
      speakers[index] = { token: created.session, room };
    }
  };
  // 8 at a time: at 32, one web process pinned to one core left a tail of session
  // creations waiting 0.3-3 s (the bulk took 0.1-0.2 s) and nginx's 3 s bound on
  // writes answered 503 (docs/BENCHMARKS.md, "PostgreSQL say path"). Setup is not measured.
  await Promise.all(Array.from({ length: options.parallel ?? 8 }, lane));
  return speakers;
}

/** A text of exactly `bytes` ASCII bytes. */
export function messageText(bytes: number, tag: string): string {
  const filler = 'lorem ipsum dolor sit amet '.repeat(Math.ceil(bytes / 27) + 1);
  return `${tag} ${filler}`.slice(0, bytes);
}

/** Latencies (ms) and counts of one phase. */
export interface PhaseResult {
  /** Requests answered inside the measured window. */
  completed: number;
  /** Requests answered in the whole phase, warm-up included (what the CPU figures cover). */
  answered: number;
  failed: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  firstError?: string;
  /** CPU seconds per role during the phase, when measured. */
  cpu?: Record<string, number>;
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

function summarize(latencies: number[], answered: number, failed: number, seconds: number, firstError: string | undefined): PhaseResult {
  latencies.sort((a, b) => a - b);
  const result: PhaseResult = {
    completed: latencies.length,
    answered,
    failed,
    seconds,
    perSecond: latencies.length / seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies[latencies.length - 1] ?? Number.NaN,
  };
  if (firstError !== undefined) result.firstError = firstError;
  return result;
}

/** One operation of a generator: the i-th request. Resolves when answered as expected. */
export type Operation = (index: number) => Promise<unknown>;

/**
 * Closed loop: `concurrency` lanes, each sending its next request when the
 * previous one is answered, for `seconds` (after `warmupSeconds` not counted).
 */
export async function closedLoop(operation: Operation, options: { concurrency: number; seconds: number; warmupSeconds?: number }): Promise<PhaseResult> {
  const warmupEnd = performance.now() + (options.warmupSeconds ?? 1) * 1000;
  const end = warmupEnd + options.seconds * 1000;
  const latencies: number[] = [];
  let failed = 0;
  let firstError: string | undefined;
  let index = 0;
  let answered = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      const start = performance.now();
      if (start >= end) return;
      try {
        await operation(index++);
        answered++;
        const done = performance.now();
        if (start >= warmupEnd && done <= end) latencies.push(done - start);
      } catch (error) {
        failed++;
        firstError ??= String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  return summarize(latencies, answered, failed, options.seconds, firstError);
}

/**
 * Open loop: starts requests at `rate` per second whatever the answers do,
 * for `seconds`; latency counts from each request's scheduled time, so a
 * stall is charged to every request it delayed (no coordinated omission).
 */
export async function openLoop(operation: Operation, options: { rate: number; seconds: number }): Promise<PhaseResult> {
  const start = performance.now();
  const total = Math.round(options.rate * options.seconds);
  const latencies: number[] = [];
  let failed = 0;
  let firstError: string | undefined;
  const pending: Promise<void>[] = [];
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * options.rate) + 1);
    for (; sent < due; sent++) {
      const scheduled = start + (sent / options.rate) * 1000;
      pending.push(
        operation(sent).then(
          () => {
            latencies.push(performance.now() - scheduled);
          },
          (error: unknown) => {
            failed++;
            firstError ??= String(error);
          },
        ),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  return summarize(latencies, latencies.length, failed, options.seconds, firstError);
}

/** Server CPU milliseconds (all roles) per answered request of a phase; NaN when not measured. */
export function cpuMsPerRequest(result: PhaseResult): number {
  if (result.cpu === undefined || result.answered === 0) return Number.NaN;
  const seconds = Object.values(result.cpu).reduce((sum, value) => sum + value, 0);
  return (seconds * 1000) / result.answered;
}

/** Median of numbers (NaN when empty). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? Number.NaN) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** A Markdown table. */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Rounds for a table cell. */
export function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** The machine's load, for the report header. */
export function machineLine(): string {
  const uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
  return `${new Date().toISOString()} · node ${process.version} · ${uptime}`;
}
