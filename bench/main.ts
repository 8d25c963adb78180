// `npm run bench -- fanout|idle|capacity|fullpath [--quick] [--runs N] [--out DIR]` (`--help` lists every option)
//
// Comet tier against comet tier: the chatserver (driven directly, as the
// worker would: signed notify in, observe out), Nchan (nginx, one worker) and
// the Node floor (bench/floor.mjs), measured in the same run by the same lean
// generator with the same ~200-byte message. Servers run on one core, the
// generator on the other (taskset). Quote the ratios: this machine is shared.
//
// `fullpath` measures the whole Parley cluster instead of the chatserver alone:
// says through nginx to the web tier, SQLite, the worker and the chatservers,
// observers through nginx (`parley`) or straight to the chatservers
// (`parley-direct`), or as EventSource streams through nginx (`parley-stream`),
// against Nchan's publish → deliver in the same run, on
// SQLite or (`--store postgres`) on a private PostgreSQL.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultSourceCount, Histogram, lineChartSvg, runLoadTest, sampleProcess, startObservers, startStreamObservers, type ChartSeries, type HistogramSummary, type Observers } from '@parley/loadtest';
import type { ClusterStore } from '@parley/cluster';
import { UsageError, numberValue, readCommandLine, type CommandSpec } from '@parley/protocol/node';
import { REPO, startChatserver, startFloor, startNchan, type BenchChannel, type BenchServer } from './servers.js';
import { startPinnedCluster } from './web-bench-kit.js';

const SERVER_CORE = 0;
const GENERATOR_CORE = 1;
const TARGETS = ['chatserver', 'chatserver-stream', 'nchan', 'nchan-stream', 'floor', 'parley', 'parley-direct', 'parley-stream'] as const;
type TargetName = (typeof TARGETS)[number];
// Whole clusters, started fresh for every cell (not a BenchServer).
const CLUSTER_TARGETS: readonly TargetName[] = ['parley', 'parley-direct', 'parley-stream'];
// A say text that makes each event ~200 bytes of JSON, like a short chat line.
const TEXT = 'The quick brown fox jumps over the lazy dog while the benchmark keeps counting every delivery; '.repeat(2).slice(0, 110);
// Deliveries still missing this long after the last publish count as lost (reported).
const GRACE_MS = 5000;
const PUBLISH_ATTEMPTS = 3;

interface CellResult {
  target: TargetName;
  observers: number;
  rate: number;
  run: number;
  published: number;
  deliveries: number;
  expected: number;
  serverCpuMs: number;
  cpuMsPer1000: number;
  latencyMs: HistogramSummary;
  generatorCpuMs: number;
  errors: number;
  /** Messages an observer received again (replayed): not counted as deliveries. */
  duplicates: number;
  /** Publishes that failed (e.g. timed out: the server could not keep up). */
  publishErrors: number;
  windowMs: number;
}

interface IdleResult {
  target: TargetName;
  observers: number;
  run: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  bytesPerObserve: number;
}

const BENCH_COMMAND = {
  command: 'npm run bench --',
  positionals: 'fanout|idle|capacity|fullpath',
  summary:
    'Comet tier against comet tier, in the same run: the chatserver, Nchan and the Node floor (fanout, idle,\n' +
    'capacity), or the whole Parley cluster against Nchan (fullpath). Servers on one core, the generator on\n' +
    'the other. Writes Markdown, JSON and SVG charts to --out. See docs/BENCHMARKS.md.',
  options: {
    quick: { type: 'boolean', help: 'one short run with fewer observers (a smoke test)' },
    runs: { type: 'string', placeholder: 'N', defaultHelp: '3; 1 with --quick', help: 'runs of each cell; the report gives medians' },
    out: { type: 'string', placeholder: 'DIR', default: join(REPO, 'bench/results'), help: 'where the reports go' },
    observers: {
      type: 'string',
      placeholder: 'N,N…',
      defaultHelp: 'fanout 1000,5000,9000; idle and fullpath 5000; capacity 18000; fewer with --quick',
      help: 'parked observers of each cell',
    },
    rates: { type: 'string', placeholder: 'R,R…', defaultHelp: 'fanout 4,20; capacity 1; fullpath 4', help: 'messages per second into the room' },
    duration: { type: 'string', placeholder: 'S', defaultHelp: '10; capacity 15; 5 with --quick', help: 'seconds of publishing per cell' },
    targets: {
      type: 'string',
      placeholder: 'T,T…',
      defaultHelp: 'chatserver,nchan,floor; fullpath parley,parley-direct,nchan (streams: chatserver-stream, nchan-stream, parley-stream)',
      help: `what to measure, of ${TARGETS.join(', ')}`,
    },
    warmup: { type: 'string', placeholder: 'S', defaultHelp: '1 + observers/2000', help: 'seconds between parking the observers and the first publish' },
    store: { type: 'string', placeholder: 'sqlite|postgres', default: 'sqlite', help: "fullpath: the cluster's store (postgres: a private PostgreSQL, says spread over both web processes)" },
  },
} as const satisfies CommandSpec;

const { values, scenario, store } = readCommandLine(BENCH_COMMAND, process.argv.slice(2), (line) => {
  const [scenario, ...extra] = line.positionals;
  if (scenario !== 'fanout' && scenario !== 'idle' && scenario !== 'capacity' && scenario !== 'fullpath') {
    throw new UsageError(scenario === undefined ? 'which scenario? fanout, idle, capacity or fullpath' : `unknown scenario ${JSON.stringify(scenario)}`);
  }
  if (extra.length > 0) throw new UsageError(`one scenario at a time, got ${line.positionals.join(' ')}`);
  for (const target of line.values.targets?.split(',') ?? []) {
    if (!(TARGETS as readonly string[]).includes(target)) throw new UsageError(`--targets: unknown target ${JSON.stringify(target)}`);
  }
  if (line.values.runs !== undefined) numberValue('runs', line.values.runs, { min: 1, integer: true });
  const store = line.values.store;
  if (store !== 'sqlite' && store !== 'postgres') throw new UsageError(`--store must be sqlite or postgres, got ${JSON.stringify(store)}`);
  if (store !== 'sqlite' && scenario !== 'fullpath') throw new UsageError('--store applies to fullpath only (the other scenarios run no store)');
  return { values: line.values, scenario, store: store as ClusterStore };
});
const quick = values.quick === true;
const runs = Number(values.runs ?? (quick ? 1 : 3));
const list = (text: string | undefined, fallback: number[]): number[] => (text === undefined ? fallback : text.split(',').map(Number));
const targets = (values.targets?.split(',') ?? (scenario === 'fullpath' ? ['parley', 'parley-direct', 'nchan'] : ['chatserver', 'nchan', 'floor'])) as TargetName[];

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function nofileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((row) => row.startsWith('Max open files'));
  return Number(line?.split(/\s+/)[3] ?? 0);
}

/** Starts every target into `servers` (so a failure still stops those already started). */
async function startServers(dir: string, servers: Map<TargetName, BenchServer>): Promise<void> {
  for (const target of targets) {
    if (CLUSTER_TARGETS.includes(target)) continue;
    const server =
      target === 'chatserver' || target === 'chatserver-stream'
        ? await startChatserver(join(dir, target), SERVER_CORE, GENERATOR_CORE, target)
        : target === 'nchan' || target === 'nchan-stream'
          ? await startNchan(join(dir, target), SERVER_CORE, target)
          : await startFloor(join(dir, 'floor'), SERVER_CORE);
    servers.set(target, server);
  }
}

let channelCount = 0;

/** `count` observers of `channel`: one stream each for a streaming target, else long-polls. */
function observe(server: BenchServer, channel: BenchChannel, count: number, maxMessages: number, onDelivery: Parameters<typeof startObservers>[0]['onDelivery']): Observers {
  if (channel.stream !== undefined) return startStreamObservers({ port: server.port, count, dialect: channel.stream, maxMessages, onDelivery });
  return startObservers({ maxMessages, port: server.port, count, dialect: channel.dialect, initialCursor: channel.initialCursor, onDelivery });
}

/** One fan-out cell: N observers parked on a fresh channel, `rate` messages/s for `durationS`. */
async function fanoutCell(server: BenchServer, observers: number, rate: number, durationS: number, run: number): Promise<CellResult> {
  const channel = await server.channel(`b${process.pid}x${channelCount++}`);
  const latency = new Histogram();
  let deliveries = 0;
  let counting = false;
  const published = Math.round(rate * durationS);
  const set = observe(server, channel, observers, published, (message, receivedAt) => {
    if (!counting) return;
    deliveries++;
    latency.record((receivedAt - message.sentAt) * 1000);
  });
  // Parked: every socket connected and its request sent, plus time for the server to read them.
  const rampDeadline = Date.now() + 30_000;
  while (set.started < observers && Date.now() < rampDeadline) await sleep(50);
  // Parked for sure: on a busy shared machine the server may still be reading the first requests.
  await sleep(values.warmup === undefined ? 1000 + observers / 2 : Number(values.warmup) * 1000);
  const cpuBefore = sampleProcess(server.pid)?.cpuSeconds ?? 0;
  const generatorBefore = process.cpuUsage();
  const start = performance.now();
  counting = true;
  // One publish in flight at a time, in order, like the worker: what is due
  // while a publish is in flight goes out together next (see BenchChannel).
  // A reordered or lost notify would be a gap the chatserver holds events
  // behind, so a failed publish is retried; every server's cursor drops the
  // duplicates. Each message is stamped with its due time, so a slow publish
  // counts in the latency (open loop).
  let publishErrors = 0;
  const due: Array<{ n: number; at: number }> = [];
  let publishing: Promise<void> | undefined;
  const publishDue = async (): Promise<void> => {
    while (due.length > 0) {
      const batch = due.splice(0, due.length);
      for (let attempt = 1; attempt <= PUBLISH_ATTEMPTS; attempt++) {
        try {
          await channel.publish(batch, TEXT);
          break;
        } catch {
          publishErrors++;
        }
      }
    }
    publishing = undefined;
  };
  for (let n = 1; n <= published; n++) {
    // Open loop: message n is due at (n - 1) / rate whatever the server does.
    const dueAt = start + ((n - 1) * 1000) / rate;
    const pause = dueAt - performance.now();
    if (pause > 0) await sleep(pause);
    due.push({ n, at: performance.timeOrigin + dueAt });
    publishing ??= publishDue();
  }
  while (publishing !== undefined) await publishing;
  const drainDeadline = performance.now() + GRACE_MS;
  while (set.fewestReceived() < published && performance.now() < drainDeadline) await sleep(10);
  const windowMs = performance.now() - start;
  const cpuAfter = sampleProcess(server.pid)?.cpuSeconds ?? 0;
  const generator = process.cpuUsage(generatorBefore);
  counting = false;
  set.close();
  const serverCpuMs = (cpuAfter - cpuBefore) * 1000;
  // Let the server notice the closed sockets before the next cell.
  await sleep(500 + observers / 10);
  return {
    target: server.name,
    observers,
    rate,
    run,
    published,
    deliveries,
    expected: published * observers,
    serverCpuMs: round(serverCpuMs),
    cpuMsPer1000: round((serverCpuMs / Math.max(1, deliveries)) * 1000, 3),
    latencyMs: latency.summary(1000),
    generatorCpuMs: round((generator.user + generator.system) / 1000),
    errors: set.errors,
    duplicates: set.duplicates,
    publishErrors,
    windowMs: round(windowMs),
  };
}

/** The chatservers' own observe origins, for observers that bypass nginx. */
function chatserverOrigins(processes: ReadonlyArray<{ role: string; port: number }>): string[] {
  return processes.filter((info) => info.role === 'chatserver').map((info) => `http://127.0.0.1:${info.port}`);
}

/**
 * One full-path cell: a fresh cluster (2 web, 1 worker, 2 chatservers, Redis,
 * nginx) on the server core, `observers` long-polls of one room, says at
 * `rate`/s through nginx from 4 sessions, for `durationS`. CPU is every
 * cluster process's; latency runs from the event's `at` (stamped when the
 * say commits) to receipt, so the say's way in is reported beside it.
 */
async function fullPathCell(target: TargetName, observers: number, rate: number, durationS: number, run: number): Promise<CellResult> {
  const bench = await startPinnedCluster({ store, webCount: 2, pinning: { server: String(SERVER_CORE), generator: String(GENERATOR_CORE) } });
  try {
    const generatorBefore = process.cpuUsage();
    const report = await runLoadTest({
      base: bench.base,
      observers,
      rooms: 1,
      rate,
      duration: durationS,
      grace: GRACE_MS / 1000,
      warmup: values.warmup === undefined ? 1 + observers / 2000 : Number(values.warmup),
      sessions: 4,
      // The fan-out message is an event of ~200 bytes; so is this one.
      textBytes: TEXT.length,
      wait: 25,
      sources: defaultSourceCount(observers),
      sayConnections: 8,
      clusterPath: join(bench.cluster.runDir, 'cluster.json'),
      runId: `fp${run}${target === 'parley-direct' ? 'd' : target === 'parley-stream' ? 's' : 'n'}`,
      ...(target === 'parley-direct' ? { observeOrigins: chatserverOrigins(bench.cluster.processes()) } : {}),
      // EventSource streams through nginx: one request carries every event.
      ...(target === 'parley-stream' ? { stream: true } : {}),
    });
    const generator = process.cpuUsage(generatorBefore);
    const serverCpuMs = report.processes.reduce((sum, usage) => sum + usage.cpuSeconds, 0) * 1000;
    // The generator's CPU is counted over the whole run (setup and ramp too), so is its window.
    const windowMs = report.phasesMs.setup + report.phasesMs.warmup + report.phasesMs.saying + report.phasesMs.draining;
    const { deliveries } = report;
    log(
      `  ${target}: say p50 ${round(report.says.latencyMs.p50, 1)} p99 ${round(report.says.latencyMs.p99, 1)} ms; CPU s by process ${report.processes.map((usage) => `${usage.name} ${usage.cpuSeconds}`).join(', ')}; lost ${deliveries.lost}, duplicated ${deliveries.duplicated}, reordered ${deliveries.reordered}`,
    );
    return {
      target,
      observers,
      rate,
      run,
      published: report.says.acknowledged,
      deliveries: deliveries.acknowledgedDeliveries,
      expected: deliveries.expectedDeliveries,
      serverCpuMs: round(serverCpuMs),
      cpuMsPer1000: round((serverCpuMs / Math.max(1, deliveries.acknowledgedDeliveries)) * 1000, 3),
      latencyMs: deliveries.latencyMs,
      generatorCpuMs: round((generator.user + generator.system) / 1000),
      errors: report.observes.errors + report.says.errors,
      duplicates: deliveries.duplicated,
      publishErrors: report.says.scheduled - report.says.acknowledged,
      windowMs: round(windowMs),
    };
  } finally {
    await bench.stop();
  }
}

async function idleCell(server: BenchServer, observers: number, run: number): Promise<IdleResult> {
  const channel = await server.channel(`i${process.pid}x${channelCount++}`);
  await sleep(500);
  const before = sampleProcess(server.pid)?.rssBytes ?? 0;
  const set = observe(server, channel, observers, 0, () => undefined);
  const rampDeadline = Date.now() + 30_000;
  while (set.started < observers && Date.now() < rampDeadline) await sleep(50);
  await sleep(2000 + observers / 5);
  const after = sampleProcess(server.pid)?.rssBytes ?? 0;
  set.close();
  await sleep(1000 + observers / 10);
  return { target: server.name, observers, run, rssBeforeBytes: before, rssAfterBytes: after, bytesPerObserve: Math.round((after - before) / observers) };
}

/** The Nchan target a target is compared with: a stream with Nchan's stream (when measured), the rest with Nchan's long-poll. */
function baselineOf(target: TargetName, measured: { has(target: TargetName): boolean }): TargetName {
  return target.endsWith('-stream') && measured.has('nchan-stream') ? 'nchan-stream' : 'nchan';
}

function fanoutMarkdown(results: CellResult[], title: string): { markdown: string; medians: Array<Record<string, number | string>> } {
  const cells = new Map<string, CellResult[]>();
  for (const result of results) {
    const key = `${result.observers}/${result.rate}`;
    cells.set(key, [...(cells.get(key) ?? []), result]);
  }
  const rows: string[] = [
    `### ${title}`,
    '',
    '| observers | msg/s | server | CPU-ms / 1,000 deliveries | ×Nchan | p50 ms | p99 ms | p99 ×Nchan | deliveries / expected | errors | generator CPU % |',
    '|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const medians: Array<Record<string, number | string>> = [];
  for (const [key, cell] of cells) {
    const [observers, rate] = key.split('/').map(Number) as [number, number];
    const byTarget = new Map<TargetName, Record<string, number>>();
    for (const target of TARGETS) {
      const mine = cell.filter((result) => result.target === target);
      if (mine.length === 0) continue;
      byTarget.set(target, {
        cpu: median(mine.map((r) => r.cpuMsPer1000)),
        p50: median(mine.map((r) => r.latencyMs.p50)),
        p99: median(mine.map((r) => r.latencyMs.p99)),
        delivered: median(mine.map((r) => r.deliveries / Math.max(1, r.expected))),
        generator: median(mine.map((r) => r.generatorCpuMs / r.windowMs)),
        errors: median(mine.map((r) => r.errors)),
      });
    }
    for (const [target, m] of byTarget) {
      const nchan = byTarget.get(baselineOf(target, byTarget));
      const cpuRatio = nchan ? round((m.cpu as number) / (nchan.cpu as number)) : NaN;
      const p99Ratio = nchan ? round((m.p99 as number) / (nchan.p99 as number)) : NaN;
      medians.push({ target, observers, rate, ...m, cpuRatio, p99Ratio });
      // No Nchan of the same transport in this run (e.g. fullpath without `nchan`): no ratio.
      const times = (ratio: number): string => (Number.isNaN(ratio) ? '—' : `${ratio}×`);
      rows.push(
        `| ${observers.toLocaleString('en-US')} | ${rate} | ${target} | ${round(m.cpu as number, 3)} | ${times(cpuRatio)} | ${round(m.p50 as number, 1)} | ${round(m.p99 as number, 1)} | ${times(p99Ratio)} | ${round((m.delivered as number) * 100, 1)} % | ${m.errors as number} | ${round((m.generator as number) * 100, 0)} % |`,
      );
    }
  }
  return { markdown: rows.join('\n'), medians };
}

function charts(medians: Array<Record<string, number | string>>, outDir: string, prefix: string): string[] {
  const written: string[] = [];
  const rates = [...new Set(medians.map((m) => m.rate as number))];
  for (const rate of rates) {
    const latency: ChartSeries[] = [];
    const cpu: ChartSeries[] = [];
    for (const target of TARGETS) {
      const mine = medians.filter((m) => m.target === target && m.rate === rate);
      if (mine.length === 0) continue;
      latency.push({ name: `${target} p99`, points: mine.map((m) => ({ x: m.observers as number, y: m.p99 as number })) });
      latency.push({ name: `${target} p50`, dashed: true, points: mine.map((m) => ({ x: m.observers as number, y: m.p50 as number })) });
      cpu.push({ name: target, points: mine.map((m) => ({ x: m.observers as number, y: m.cpu as number })) });
    }
    const latencyFile = join(outDir, `${prefix}-latency-${rate}.svg`);
    writeFileSync(latencyFile, lineChartSvg({ title: `publish → deliver latency, one room, ${rate} messages/s (medians of runs)`, xLabel: 'parked observers', yLabel: 'ms', series: latency }));
    const cpuFile = join(outDir, `${prefix}-cpu-${rate}.svg`);
    writeFileSync(cpuFile, lineChartSvg({ title: `server CPU per 1,000 deliveries, ${rate} messages/s`, xLabel: 'parked observers', yLabel: 'CPU-ms', series: cpu }));
    written.push(latencyFile, cpuFile);
  }
  return written;
}

async function main(): Promise<void> {
  // Generator on its own core, every thread of it (libuv's pool too).
  spawnSync('taskset', ['-a', '-cp', String(GENERATOR_CORE), String(process.pid)], { stdio: 'ignore' });
  const limit = nofileLimit();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const outDir = values.out as string;
  mkdirSync(outDir, { recursive: true });
  const runDir = join(REPO, '.run', `bench-${process.pid}`);
  const uptime = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
  log(`${scenario}: ${runs} run(s), open files limit ${limit}, load: ${uptime}`);
  const servers = new Map<TargetName, BenchServer>();
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled([...servers.values()].map((server) => server.stop()));
    rmSync(runDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    await startServers(runDir, servers);
    const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, loadBefore: uptime, nofile: limit };
    if (scenario === 'idle') {
      const observers = list(values.observers, [quick ? 1000 : 5000])[0] as number;
      const results: IdleResult[] = [];
      for (let run = 1; run <= runs; run++) {
        // Fresh processes each run: memory a server once grew to is not given back.
        if (run > 1) {
          await Promise.all([...servers.values()].map((server) => server.stop()));
          servers.clear();
          await startServers(join(runDir, `run${run}`), servers);
        }
        for (const server of servers.values()) {
          const result = await idleCell(server, observers, run);
          log(`idle run ${run} ${server.name}: ${result.bytesPerObserve} B per parked observe`);
          results.push(result);
        }
      }
      const medianOf = (target: TargetName): number => median(results.filter((r) => r.target === target).map((r) => r.bytesPerObserve));
      const lines = ['### Idle: RSS per parked observe', '', `${observers.toLocaleString('en-US')} parked observes (or open streams), median of ${runs} run(s); a stream is compared with Nchan's stream.`, '', '| server | KB per observe | ×Nchan |', '|---|---:|---:|'];
      for (const target of servers.keys()) {
        const baseline = baselineOf(target, servers);
        const nchan = servers.has(baseline) ? medianOf(baseline) : NaN;
        lines.push(`| ${target} | ${round(medianOf(target) / 1024, 1)} | ${round(medianOf(target) / nchan)}× |`);
      }
      const markdown = lines.join('\n');
      const loadAfter = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
      writeFileSync(join(outDir, `idle-${stamp}.json`), JSON.stringify({ scenario, machine, loadAfter, results }, null, 2));
      writeFileSync(join(outDir, `idle-${stamp}.md`), `${markdown}\n\nLoad before: ${uptime}\nLoad after: ${loadAfter}\n`);
      process.stdout.write(`${markdown}\n`);
      return;
    }
    const observerCounts = list(values.observers, scenario === 'capacity' ? [quick ? 9000 : 18_000] : scenario === 'fullpath' ? [quick ? 1000 : 5000] : quick ? [1000] : [1000, 5000, 9000]);
    const rates = list(values.rates, scenario === 'capacity' ? [1] : scenario === 'fullpath' ? [4] : quick ? [4] : [4, 20]);
    const durationS = Number(values.duration ?? (quick ? 5 : scenario === 'capacity' ? 15 : 10));
    const need = Math.max(...observerCounts) + 200;
    if (limit < need) throw new Error(`open files limit ${limit} < ${need}: run through \`npm run bench\` (bench/run.sh raises it)`);
    const results: CellResult[] = [];
    for (let run = 1; run <= runs; run++) {
      for (const observers of observerCounts) {
        for (const rate of rates) {
          // Targets interleaved per cell, so slow drifts of the machine's load hit all three alike.
          for (const target of targets) {
            const server = servers.get(target);
            const result = server === undefined ? await fullPathCell(target, observers, rate, durationS, run) : await fanoutCell(server, observers, rate, durationS, run);
            results.push(result);
            // Written as it goes, so a failure late in a long run keeps what was measured.
            writeFileSync(join(outDir, `${scenario}-${stamp}.partial.json`), JSON.stringify({ scenario, store, machine, durationS, results }, null, 2));
            log(
              `run ${run} N=${observers} ${rate}/s ${target}: ${result.cpuMsPer1000} CPU-ms/1000, p50 ${round(result.latencyMs.p50, 1)} ms, p99 ${round(result.latencyMs.p99, 1)} ms, ${result.deliveries}/${result.expected} delivered, ${result.duplicates} duplicates, errors ${result.errors}/${result.publishErrors}, generator ${round(result.generatorCpuMs / result.windowMs * 100, 0)} %`,
            );
          }
        }
      }
    }
    const loadAfter = spawnSync('uptime', { encoding: 'utf8' }).stdout.trim();
    const title =
      scenario === 'capacity'
        ? 'Capacity: many parked observes, one room'
        : scenario === 'fullpath'
          ? `Full path: say → deliver through the whole cluster on ${store === 'postgres' ? 'PostgreSQL' : 'SQLite'}, one room`
          : 'Fan-out: one room';
    const { markdown, medians } = fanoutMarkdown(results, `${title} (median of ${runs} run(s), ${durationS} s each)`);
    const svgs = scenario === 'fanout' ? charts(medians, outDir, `fanout-${stamp}`) : [];
    writeFileSync(join(outDir, `${scenario}-${stamp}.json`), JSON.stringify({ scenario, store, machine, loadAfter, durationS, medians, results }, null, 2));
    writeFileSync(join(outDir, `${scenario}-${stamp}.md`), `${markdown}\n\nLoad before: ${uptime}\nLoad after: ${loadAfter}\n`);
    process.stdout.write(`${markdown}\n\nLoad before: ${uptime}\nLoad after: ${loadAfter}\n${svgs.map((file) => `chart: ${file}`).join('\n')}\n`);
  } finally {
    await stopAll();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
