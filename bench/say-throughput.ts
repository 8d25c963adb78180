/**
 * Say throughput of the web tier: sustained says/s through nginx to web
 * processes that commit every say to the store (event + outbox row) before
 * answering it and then enqueue it — the full cluster runs (worker,
 * chatservers), so the queue is drained while we measure. `--store
 * sqlite,postgres` measures both stores in the same run and gives
 * PostgreSQL's figures as ratios of SQLite's.
 *
 *   npm run bench:say -- [--store sqlite,postgres] [--runs 3] [--seconds 10]
 *       [--connections 64] [--sessions 500] [--rooms 200] [--rate 1000]
 *       [--text-bytes 200] [--postgres-durable 1] [--server-cpus 0]
 *       [--generator-cpus 1] [--markdown out.md]      (--help lists them all)
 *
 * Each run measures, with the same generator on the same machine:
 *  - ceiling: `GET /healthz` through nginx to 2 web processes (Koa stack, no store);
 * and for each store, on fresh clusters:
 *  - says/s, closed loop, 2 web, group commit off (PARLEY_SAY_BATCH_MAX=1);
 *  - says/s, closed loop, 1 web, group commit on;
 *  - says/s, closed loop, 2 web, group commit on (SQLite: nginx sends says to
 *    one of them; PostgreSQL: to both);
 *  - say latency at an open-loop `--rate` (2 web, group commit on).
 * and prints medians over the runs with the ratios between them.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { ClusterStore } from '@parley/cluster';
import {
  BenchClient,
  benchArgs,
  checkStoreList,
  closedLoop,
  cpuMsPerRequest,
  createSpeakers,
  fmt,
  machineLine,
  markdownTable,
  median,
  messageText,
  openLoop,
  startPinnedCluster,
  withCpuByRole,
  type PhaseResult,
} from './web-bench-kit.js';

const { numbers, strings, pinning, markdownPath } = benchArgs({
  usage: 'npm run bench:say --',
  summary: `Say throughput of the web tier through nginx and a whole cluster: closed-loop
says/s (2 web with group commit off and on, 1 web with it on) and say latency
at an open-loop rate, for each store on fresh clusters in the same run, with
PostgreSQL's figures as ratios of SQLite's. Medians over the runs.`,
  numbers: {
    runs: { default: 3, help: 'runs; medians over them' },
    seconds: { default: 10, help: 'measured seconds of every phase (after 1 s of warm-up)' },
    connections: { default: 64, help: 'keep-alive connections of the closed loops' },
    sessions: { default: 500, help: 'sessions saying' },
    rooms: { default: 200, help: 'rooms the sessions say in' },
    rate: { default: 1000, help: 'says per second of the latency phase, open loop' },
    'text-bytes': { default: 200, help: 'bytes of every message text' },
    'postgres-durable': { default: 1, value: '0|1', help: 'PostgreSQL fsync and synchronous_commit: 1 on, as npm start runs it; 0 off (faster, not crash-safe)' },
  },
  strings: {
    store: { default: 'sqlite,postgres', value: 'LIST', help: 'stores to measure, in this order', check: checkStoreList },
  },
});
const stores = strings.store.split(',') as ClusterStore[];
const postgresDurable = numbers['postgres-durable'] !== 0;

type Phase = 'say2Off' | 'say1On' | 'say2On' | 'latencyAtRate';
const PHASE_TITLES: Record<Phase, string> = {
  say2Off: 'says/s, 2 web, group commit off',
  say1On: 'says/s, 1 web, group commit on',
  say2On: 'says/s, 2 web, group commit on',
  latencyAtRate: `say latency at ${numbers.rate}/s open loop, 2 web, group commit on`,
};
const PHASES = Object.keys(PHASE_TITLES) as Phase[];
const STORE_NAMES: Record<ClusterStore, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

/** One run: the ceiling, and every phase of every store. */
interface RunResult {
  ceiling: PhaseResult;
  stores: Partial<Record<ClusterStore, Record<Phase, PhaseResult>>>;
}

/** Runs a phase and attaches the CPU each role spent in it. */
type Measure = (phase: () => Promise<PhaseResult>) => Promise<PhaseResult>;

async function withCluster<T>(store: ClusterStore, webCount: number, batchMax: number, body: (client: BenchClient, measure: Measure) => Promise<T>): Promise<T> {
  const bench = await startPinnedCluster({ store, postgresDurable, webCount, pinning, env: { PARLEY_SAY_BATCH_MAX: String(batchMax) } });
  const client = new BenchClient(bench.base, Math.max(numbers.connections, 8));
  const measure: Measure = async (phase) => {
    const { result, cpu } = await withCpuByRole(bench, phase);
    return { ...result, cpu };
  };
  try {
    return await body(client, measure);
  } finally {
    await client.close();
    await bench.stop();
  }
}

function sayOperation(client: BenchClient, speakers: { token: string; room: string }[], tag: string) {
  const text = messageText(numbers['text-bytes'], tag);
  return (index: number) => {
    const speaker = speakers[index % speakers.length];
    if (speaker === undefined) throw new Error('no speakers');
    return client.request('POST', `/api/rooms/${speaker.room}/say`, {
      token: speaker.token,
      body: { text, clientId: `${tag}-${index}` },
      expect: 201,
    });
  };
}

async function sayPhase(client: BenchClient, measure: Measure, tag: string): Promise<PhaseResult> {
  const speakers = await createSpeakers(client, { sessions: numbers.sessions, rooms: numbers.rooms, prefix: tag });
  return measure(() => closedLoop(sayOperation(client, speakers, tag), { concurrency: numbers.connections, seconds: numbers.seconds }));
}

function cpuText(result: PhaseResult | undefined): string {
  return Object.entries(result?.cpu ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([role, seconds]) => `${role} ${fmt(seconds, 2)}`)
    .join(', ');
}

function logPhase(run: number, label: string, result: PhaseResult): void {
  process.stderr.write(`run ${run} ${label}: ${fmt(result.perSecond, 0)}/s p50 ${fmt(result.p50)} ms p99 ${fmt(result.p99)} ms failed ${result.failed}${result.firstError ? ` (${result.firstError})` : ''} cpu ${cpuText(result)} = ${fmt(cpuMsPerRequest(result), 3)} ms/req\n`);
}

async function storeRun(run: number, store: ClusterStore, onCeiling?: (result: PhaseResult) => void): Promise<Record<Phase, PhaseResult>> {
  const tag = (name: string): string => `s${run}${store.slice(0, 2)}${name}${randomBytes(3).toString('hex')}`;
  const results: Partial<Record<Phase, PhaseResult>> = {};
  await withCluster(store, 2, 1, async (client, measure) => {
    if (onCeiling) onCeiling(await measure(() => closedLoop(() => client.request('GET', '/healthz'), { concurrency: numbers.connections, seconds: numbers.seconds })));
    results.say2Off = await sayPhase(client, measure, tag('off'));
  });
  await withCluster(store, 1, 256, async (client, measure) => {
    results.say1On = await sayPhase(client, measure, tag('one'));
  });
  await withCluster(store, 2, 256, async (client, measure) => {
    const name = tag('two');
    results.say2On = await sayPhase(client, measure, name);
    const speakers = await createSpeakers(client, { sessions: numbers.sessions, rooms: numbers.rooms, prefix: `${name}r` });
    results.latencyAtRate = await measure(() => openLoop(sayOperation(client, speakers, `${name}r`), { rate: numbers.rate, seconds: numbers.seconds }));
  });
  for (const phase of PHASES) logPhase(run, `${store} ${phase}`, results[phase] as PhaseResult);
  return results as Record<Phase, PhaseResult>;
}

async function oneRun(run: number): Promise<RunResult> {
  let ceiling: PhaseResult | undefined;
  const byStore: RunResult['stores'] = {};
  for (const store of stores) {
    // The ceiling has no store: measured once, in the first store's first cluster.
    byStore[store] = await storeRun(run, store, ceiling === undefined ? (result) => (ceiling = result) : undefined);
  }
  if (ceiling === undefined) throw new Error('no ceiling measured');
  logPhase(run, 'ceiling', ceiling);
  return { ceiling, stores: byStore };
}

const header = machineLine();
const runs: RunResult[] = [];
for (let run = 1; run <= numbers.runs; run++) runs.push(await oneRun(run));

type Key = 'perSecond' | 'p50' | 'p99';
const resultsOf = (store: ClusterStore, phase: Phase): PhaseResult[] => runs.map((run) => run.stores[store]?.[phase] as PhaseResult);
const med = (store: ClusterStore, phase: Phase, key: Key): number => median(resultsOf(store, phase).map((result) => result[key]));
const cpuPerSay = (store: ClusterStore, phase: Phase): number => median(resultsOf(store, phase).map(cpuMsPerRequest));
const ceilingPerSecond = median(runs.map((run) => run.ceiling.perSecond));

function row(title: string, results: PhaseResult[]): string[] {
  return [
    title,
    results.map((result) => fmt(result.perSecond, 0)).join(' / '),
    fmt(median(results.map((result) => result.perSecond)), 0),
    fmt(median(results.map((result) => result.p50))),
    fmt(median(results.map((result) => result.p99))),
    fmt(median(results.map(cpuMsPerRequest)), 3),
    String(results.reduce((sum, result) => sum + result.failed, 0)),
    cpuText(results[results.length - 1]),
  ];
}
const rows = [
  row('ceiling: GET /healthz, 2 web (no store)', runs.map((run) => run.ceiling)),
  ...stores.flatMap((store) => PHASES.map((phase) => row(`${STORE_NAMES[store]}: ${PHASE_TITLES[phase]}`, resultsOf(store, phase)))),
];

const lines: string[] = [];
for (const store of stores) {
  const ratio = (a: Phase, b: Phase): string => fmt(med(store, a, 'perSecond') / med(store, b, 'perSecond'), 2);
  lines.push(
    `- ${STORE_NAMES[store]}: group commit on ÷ off (2 web): ${ratio('say2On', 'say2Off')}×; 2 web ÷ 1 web (group commit on): ${ratio('say2On', 'say1On')}×; says/s ÷ ceiling: ${fmt(med(store, 'say2On', 'perSecond') / ceilingPerSecond, 2)}; server CPU per say, group commit on ÷ off: ${fmt(cpuPerSay(store, 'say2On') / cpuPerSay(store, 'say2Off'), 2)}×`,
    `- ${STORE_NAMES[store]}: p99 say latency at ${numbers.rate}/s: ${fmt(med(store, 'latencyAtRate', 'p99'))} ms (target ≤ 50 ms)`,
  );
}
if (stores.includes('sqlite') && stores.includes('postgres')) {
  lines.push('', '**PostgreSQL ÷ SQLite, same run** (says/s: higher is better; p99 and CPU per say: lower is better):', '');
  const vs = (phase: Phase, key: Key): string => fmt(med('postgres', phase, key) / med('sqlite', phase, key), 2);
  lines.push(
    markdownTable(
      ['phase', 'says/s', 'p99', 'server CPU per say'],
      PHASES.map((phase) => [PHASE_TITLES[phase], `${vs(phase, 'perSecond')}×`, `${vs(phase, 'p99')}×`, `${fmt(cpuPerSay('postgres', phase) / cpuPerSay('sqlite', phase), 2)}×`]),
    ),
    '',
    `- target: PostgreSQL ≥ 0.8× SQLite's says/s (2 web, group commit on): ${vs('say2On', 'perSecond')}×`,
  );
}

const markdown = [
  `say throughput — ${numbers.runs} runs × ${numbers.seconds} s per phase, ${numbers.connections} keep-alive connections (closed loop), ${numbers.sessions} sessions in ${numbers.rooms} rooms, ${numbers['text-bytes']}-byte texts, server CPUs ${pinning.server}, generator CPUs ${pinning.generator}; stores: ${stores.map((store) => STORE_NAMES[store]).join(', ')}${stores.includes('postgres') ? ` (PostgreSQL ${postgresDurable ? 'fsync and synchronous_commit on' : 'fsync and synchronous_commit off'}; SQLite WAL, synchronous=NORMAL)` : ''}`,
  `machine: ${header}`,
  '',
  markdownTable(['phase', 'req/s per run', 'median req/s', 'median p50 ms', 'median p99 ms', 'server CPU ms per request', 'failed', `CPU s by role (last run, ${numbers.seconds} s)`], rows),
  '',
  ...lines,
  '',
].join('\n');
if (markdownPath !== undefined) writeFileSync(markdownPath, markdown);
process.stdout.write(markdown);
