/**
 * Chat mix through nginx and the full cluster (2 web, 1 worker, 2
 * chatservers): long-poll observers spread over rooms, says at a fixed
 * open-loop rate from many sessions, with the existing load generator
 * (packages/loadtest). Reports say p99 and say→deliver p99.
 *
 *   npm run bench:chat-mix -- [--runs 3] [--observers 5000] [--rooms 200]
 *       [--rate 200] [--sessions 500] [--seconds 20] [--text-bytes 200]
 *       [--server-cpus 0] [--generator-cpus 1] [--markdown out.md]
 *
 * Baseline in the same run: the same mix with group commit off
 * (PARLEY_SAY_BATCH_MAX=1), so the ratio shows what grouping costs or saves
 * at chat rates (where most groups hold one say).
 */
import { writeFileSync } from 'node:fs';
import { defaultSourceCount, runLoadTest, type LoadTestReport } from '@parley/loadtest';
import { benchArgs, cpuByRole, fmt, machineLine, markdownTable, median, startPinnedCluster } from './web-bench-kit.js';

const { numbers, pinning, markdownPath } = benchArgs({
  usage: 'npm run bench:chat-mix --',
  summary: `Chat mix through nginx and a whole cluster (2 web, 1 worker, 2 chatservers):
long-poll observers over rooms, says at a fixed open-loop rate; say p99 and
say -> deliver p99, with group commit on and off in the same run.`,
  numbers: {
    runs: { default: 3, help: 'runs of each variant; medians over them' },
    observers: { default: 5000, help: 'parked long-poll observers' },
    rooms: { default: 200, help: 'rooms the observers and says spread over' },
    rate: { default: 200, help: 'says per second, open loop' },
    sessions: { default: 500, help: 'sessions saying' },
    seconds: { default: 20, help: 'measured seconds of each run' },
    'text-bytes': { default: 200, help: 'bytes of every message text' },
  },
});

type Variant = 'groupOn' | 'groupOff';
const TITLES: Record<Variant, string> = { groupOn: 'group commit on (default)', groupOff: 'group commit off (baseline)' };

async function measure(variant: Variant, run: number): Promise<LoadTestReport> {
  const bench = await startPinnedCluster({
    webCount: 2,
    pinning,
    env: variant === 'groupOff' ? { PARLEY_SAY_BATCH_MAX: '1' } : {},
  });
  try {
    const report = await runLoadTest({
      base: bench.base,
      observers: numbers.observers,
      rooms: numbers.rooms,
      rate: numbers.rate,
      duration: numbers.seconds,
      grace: 3,
      warmup: 2,
      sessions: numbers.sessions,
      textBytes: numbers['text-bytes'],
      wait: 25,
      sources: defaultSourceCount(numbers.observers),
      sayConnections: 64,
      clusterPath: `${bench.cluster.runDir}/cluster.json`,
      runId: `mix${run}${variant === 'groupOn' ? 'a' : 'b'}`,
    });
    const { says, deliveries } = report;
    const cpuLine = Object.entries(cpuByRole(report.processes)).map(([role, seconds]) => `${role} ${fmt(seconds, 2)}`).join(', ');
    process.stderr.write(
      `run ${run} ${variant}: says ${says.acknowledged}/${says.scheduled} (errors ${says.errors}, shed ${says.shed}) p50 ${says.latencyMs.p50} p99 ${says.latencyMs.p99} ms; deliver p50 ${deliveries.latencyMs.p50} p99 ${deliveries.latencyMs.p99} ms, ${fmt(deliveries.perSecondMean, 0)}/s; server CPU s: ${cpuLine}; generator CPU s ${report.generator.cpuSeconds}, phases ms ${JSON.stringify(report.phasesMs)}\n`,
    );
    return report;
  } finally {
    await bench.stop();
  }
}

const header = machineLine();
const reports: Record<Variant, LoadTestReport[]> = { groupOn: [], groupOff: [] };
for (let run = 1; run <= numbers.runs; run++) {
  reports.groupOn.push(await measure('groupOn', run));
  reports.groupOff.push(await measure('groupOff', run));
}

const med = (variant: Variant, pick: (report: LoadTestReport) => number): number => median(reports[variant].map(pick));
const sayP99 = (report: LoadTestReport): number => report.says.latencyMs.p99;
const deliverP99 = (report: LoadTestReport): number => report.deliveries.latencyMs.p99;
const rows = (Object.keys(TITLES) as Variant[]).map((variant) => [
  TITLES[variant],
  reports[variant].map((report) => `${fmt(sayP99(report), 0)} / ${fmt(deliverP99(report), 0)}`).join(' · '),
  reports[variant].map((report) => `${report.says.acknowledged}/${report.says.scheduled}`).join(' · '),
  fmt(med(variant, (report) => report.says.latencyMs.p50)),
  fmt(med(variant, sayP99)),
  fmt(med(variant, (report) => report.deliveries.latencyMs.p50)),
  fmt(med(variant, deliverP99)),
  fmt(med(variant, (report) => report.deliveries.perSecondMean), 0),
  `${reports[variant].reduce((sum, report) => sum + report.says.errors + report.says.shed, 0)} / ${reports[variant].reduce((sum, report) => sum + report.observes.errors, 0)}`,
]);
const markdown = [
  `chat mix — ${numbers.runs} runs × ${numbers.seconds} s: ${numbers.observers} observers in ${numbers.rooms} rooms, ${numbers.rate} says/s (open loop) from ${numbers.sessions} sessions, ${numbers['text-bytes']}-byte texts, 2 web + 1 worker + 2 chatservers behind nginx; server CPUs ${pinning.server}, generator CPUs ${pinning.generator}`,
  `machine: ${header}`,
  '',
  markdownTable(
    ['variant', 'say p99 / deliver p99 ms per run', 'says answered / scheduled per run', 'say p50 ms', 'say p99 ms', 'deliver p50 ms', 'deliver p99 ms', 'deliveries/s', 'say errors / observe errors'],
    rows,
  ),
  '',
  `- say p99, group commit on ÷ off: ${fmt(med('groupOn', sayP99) / med('groupOff', sayP99), 2)}×`,
  `- say→deliver p99, group commit on ÷ off: ${fmt(med('groupOn', deliverP99) / med('groupOff', deliverP99), 2)}×`,
  '',
].join('\n');
if (markdownPath !== undefined) writeFileSync(markdownPath, markdown);
process.stdout.write(markdown);
