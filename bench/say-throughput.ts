/**
 * Say throughput of the web tier: sustained says/s through nginx to web
 * processes that commit every say to SQLite (event + outbox row) before
 * answering it and then enqueue it — the full cluster runs (worker,
 * chatservers), so the queue is drained while we measure.
 *
 *   npm run bench:say -- [--runs 3] [--seconds 10] [--connections 64]
 *       [--sessions 500] [--rooms 200] [--rate 1000] [--text-bytes 200]
 *       [--server-cpus 0] [--generator-cpus 1] [--markdown out.md]
 *
 * Each run measures, with the same generator on the same machine:
 *  - ceiling: `GET /healthz` through nginx to 2 web processes (Koa stack, no store);
 *  - says/s, closed loop, 2 web, group commit off (PARLEY_SAY_BATCH_MAX=1);
 *  - says/s, closed loop, 1 web, group commit on;
 *  - says/s, closed loop, 2 web, group commit on;
 *  - say latency at an open-loop `--rate` (2 web, group commit on).
 * and prints medians over the runs with the ratios between them.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import {
  BenchClient,
  benchArgs,
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
  type Pinning,
} from './web-bench-kit.js';

const { numbers, pinning, markdownPath } = benchArgs({
  runs: 3,
  seconds: 10,
  connections: 64,
  sessions: 500,
  rooms: 200,
  rate: 1000,
  'text-bytes': 200,
});

type Phase = 'ceiling' | 'say2Off' | 'say1On' | 'say2On' | 'latencyAtRate';
const PHASE_TITLES: Record<Phase, string> = {
  ceiling: 'ceiling: GET /healthz, 2 web (no store)',
  say2Off: 'says/s, 2 web, group commit off',
  say1On: 'says/s, 1 web, group commit on',
  say2On: 'says/s, 2 web, group commit on',
  latencyAtRate: `say latency at ${numbers.rate}/s open loop, 2 web, group commit on`,
};

/** Runs a phase and attaches the CPU each role spent in it. */
type Measure = (phase: () => Promise<PhaseResult>) => Promise<PhaseResult>;

async function withCluster<T>(webCount: number, batchMax: number, pin: Pinning, body: (client: BenchClient, measure: Measure) => Promise<T>): Promise<T> {
  const bench = await startPinnedCluster({ webCount, pinning: pin, env: { PARLEY_SAY_BATCH_MAX: String(batchMax) } });
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

function cpuText(result: PhaseResult): string {
  return Object.entries(result.cpu ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([role, seconds]) => `${role} ${fmt(seconds, 2)}`)
    .join(', ');
}

async function oneRun(run: number): Promise<Record<Phase, PhaseResult>> {
  const tag = (name: string): string => `s${run}${name}${randomBytes(3).toString('hex')}`;
  const results: Partial<Record<Phase, PhaseResult>> = {};
  await withCluster(2, 1, pinning, async (client, measure) => {
    results.ceiling = await measure(() => closedLoop(() => client.request('GET', '/healthz'), { concurrency: numbers.connections, seconds: numbers.seconds }));
    results.say2Off = await sayPhase(client, measure, tag('off'));
  });
  await withCluster(1, 256, pinning, async (client, measure) => {
    results.say1On = await sayPhase(client, measure, tag('one'));
  });
  await withCluster(2, 256, pinning, async (client, measure) => {
    const name = tag('two');
    results.say2On = await sayPhase(client, measure, name);
    const speakers = await createSpeakers(client, { sessions: numbers.sessions, rooms: numbers.rooms, prefix: `${name}r` });
    results.latencyAtRate = await measure(() => openLoop(sayOperation(client, speakers, `${name}r`), { rate: numbers.rate, seconds: numbers.seconds }));
  });
  for (const [phase, result] of Object.entries(results)) {
    process.stderr.write(`run ${run} ${phase}: ${fmt(result.perSecond, 0)}/s p50 ${fmt(result.p50)} ms p99 ${fmt(result.p99)} ms failed ${result.failed}${result.firstError ? ` (${result.firstError})` : ''} cpu ${cpuText(result)} = ${fmt(cpuMsPerRequest(result), 3)} ms/req\n`);
  }
  return results as Record<Phase, PhaseResult>;
}

const header = machineLine();
const runs: Record<Phase, PhaseResult>[] = [];
for (let run = 1; run <= numbers.runs; run++) runs.push(await oneRun(run));

const phases = Object.keys(PHASE_TITLES) as Phase[];
const med = (phase: Phase, key: 'perSecond' | 'p50' | 'p99'): number => median(runs.map((run) => run[phase][key]));
const rows = phases.map((phase) => [
  PHASE_TITLES[phase],
  runs.map((run) => fmt(run[phase].perSecond, 0)).join(' / '),
  fmt(med(phase, 'perSecond'), 0),
  fmt(med(phase, 'p50')),
  fmt(med(phase, 'p99')),
  fmt(median(runs.map((run) => cpuMsPerRequest(run[phase]))), 3),
  String(runs.reduce((sum, run) => sum + run[phase].failed, 0)),
  cpuText(runs[runs.length - 1]?.[phase] ?? { completed: 0, answered: 0, failed: 0, seconds: 0, perSecond: 0, p50: 0, p99: 0, max: 0 }),
]);
const ratio = (a: Phase, b: Phase): string => fmt(med(a, 'perSecond') / med(b, 'perSecond'), 2);
const markdown = [
  `say throughput — ${numbers.runs} runs × ${numbers.seconds} s, ${numbers.connections} keep-alive connections (closed loop), ${numbers.sessions} sessions in ${numbers.rooms} rooms, ${numbers['text-bytes']}-byte texts, server CPUs ${pinning.server}, generator CPUs ${pinning.generator}`,
  `machine: ${header}`,
  '',
  markdownTable(['phase', 'req/s per run', 'median req/s', 'median p50 ms', 'median p99 ms', 'server CPU ms per request', 'failed', `CPU s by role (last run, ${numbers.seconds} s)`], rows),
  '',
  `- group commit on ÷ off (2 web): ${ratio('say2On', 'say2Off')}×`,
  `- 2 web ÷ 1 web (group commit on): ${ratio('say2On', 'say1On')}×`,
  `- says/s ÷ ceiling (GET /healthz): ${ratio('say2On', 'ceiling')}`,
  `- server CPU per say, group commit on ÷ off (2 web): ${fmt(median(runs.map((run) => cpuMsPerRequest(run.say2On))) / median(runs.map((run) => cpuMsPerRequest(run.say2Off))), 2)}× (less sensitive to other load on the machine than says/s)`,
  `- p99 say latency at ${numbers.rate}/s: ${fmt(med('latencyAtRate', 'p99'))} ms (target ≤ 50 ms)`,
  '',
].join('\n');
if (markdownPath !== undefined) writeFileSync(markdownPath, markdown);
process.stdout.write(markdown);
