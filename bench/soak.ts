/**
 * `npm run soak -- --minutes 10`: holds a steady load on a cluster for a long
 * while and shows whether any process leaks memory or file descriptors, and
 * whether anything was lost or duplicated on the way.
 *
 * It starts its own cluster (`startCluster`, built dist: run `npx tsc -b`
 * first) in a temp dir, or attaches to a running one with `--base URL`
 * (processes from `--cluster`, default `.run/cluster.json`). Load comes from
 * the load generator library (packages/loadtest): `--observers` long-polls
 * over `--rooms` rooms and `--rate` says per second, open loop. Every
 * process's RSS (/proc/<pid>/status VmRSS) and open descriptors
 * (/proc/<pid>/fd) are sampled at the start, every minute and at the end.
 *
 * Prints a Markdown report on stdout (progress on stderr) and exits 1 when
 * any acknowledged say was lost or delivered twice, or any say failed (the
 * load was then not the steady load asked for), 2 on a bad command line.
 * A benchmark, not a test: the figures depend on what else loads the machine.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type ClusterHandle } from '@parley/cluster';
import { numberValue, readCommandLine, type CommandLine, type CommandSpec } from '@parley/protocol/node';
import { parseLoadTestArgs, readClusterProcesses, runLoadTest, sampleProcess, type LoadTestReport, type MeasuredProcess } from '@parley/loadtest';

const SOAK_COMMAND = {
  command: 'npm run soak --',
  summary:
    'Holds a steady load on a cluster for a long while and reports whether any process leaks memory or file\n' +
    'descriptors, and whether any say was lost or delivered twice (exit 1 if so). Without --base it starts a\n' +
    'private cluster (2 web, 1 worker, 2 chatservers) in a temp dir; run `npx tsc -b` first.',
  options: {
    minutes: { type: 'string', placeholder: 'M', default: '10', help: 'minutes of load' },
    observers: { type: 'string', placeholder: 'N', default: '400', help: 'long-poll observers' },
    rooms: { type: 'string', placeholder: 'R', default: '20', help: 'rooms the observers and says spread over' },
    rate: { type: 'string', placeholder: 'N', default: '20', help: 'says per second, open loop' },
    base: { type: 'string', placeholder: 'URL', defaultHelp: 'a private cluster', help: 'attach to the running cluster at this origin, http://127.0.0.1:PORT' },
    cluster: { type: 'string', placeholder: 'FILE', default: '.run/cluster.json', help: 'with --base: the processes to sample' },
  },
  notes: `With --base, start that cluster with PARLEY_PRESENCE_TIMEOUT_MS above the soak's length
(the sayers never observe: presence would sweep them out of their rooms and they would
enter again after each sweep, which the soak's figures are not about) and with
PARLEY_RATE_SAY_PER_IP=0 PARLEY_RATE_SAY_PER_SESSION=0 PARLEY_RATE_SESSION_PER_IP=0
PARLEY_RATE_ENTER_PER_SESSION=0 (every say comes from one address).`,
} as const satisfies CommandSpec;

const SAMPLE_INTERVAL_MS = 60_000;

/** RSS and open descriptors of one process at one moment. */
interface SoakSample {
  rssBytes: number;
  fds: number;
}

/** Every process's samples over the run, by name (`web-1`, `nginx/1234`). */
type SampleSeries = Map<string, { role: string; samples: SoakSample[] }>;

interface SoakOptions {
  minutes: number;
  observers: number;
  rooms: number;
  rate: number;
  /** Attach to this origin instead of starting a cluster. */
  base?: string;
  clusterPath: string;
}

function soakOptions({ values }: CommandLine<typeof SOAK_COMMAND.options>): SoakOptions {
  const options: SoakOptions = {
    minutes: numberValue('minutes', values.minutes, { min: 0.1, max: 24 * 60 }),
    observers: numberValue('observers', values.observers, { min: 1, max: 9000, integer: true }),
    rooms: numberValue('rooms', values.rooms, { min: 1, max: 10_000, integer: true }),
    rate: numberValue('rate', values.rate, { min: 0.1, max: 10_000 }),
    clusterPath: values.cluster,
  };
  if (values.base !== undefined) options.base = values.base;
  return options;
}

/** RSS (read as the load test reads it) and descriptor count of `pid`, or undefined when it is gone. */
function sampleRssAndFds(pid: number): SoakSample | undefined {
  const usage = sampleProcess(pid);
  if (usage === undefined) return undefined;
  try {
    return { rssBytes: usage.rssBytes, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

/** Samples every process of the cluster file now (re-read, so a restarted process shows under its name). */
function sampleAll(clusterPath: string, series: SampleSeries): void {
  const processes: MeasuredProcess[] = readClusterProcesses(clusterPath);
  for (const process of processes) {
    const sample = sampleRssAndFds(process.pid);
    if (sample === undefined) continue;
    const entry = series.get(process.name) ?? { role: process.role, samples: [] };
    entry.samples.push(sample);
    series.set(process.name, entry);
  }
}

const mebibytes = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
const milliseconds = (value: number): string => `${value.toFixed(1)} ms`;
const signed = (value: number, digits = 0): string => `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;

function formatReport(options: SoakOptions, series: SampleSeries, report: LoadTestReport, elapsedMinutes: number): string {
  const lines = [
    `## Soak: ${elapsedMinutes.toFixed(1)} min, ${options.observers} observers, ${options.rooms} rooms, ${options.rate} says/s`,
    '',
    'RSS in MiB. "start" is before the load begins and "end" after it stopped (both idle), so a leaked',
    'socket shows in Δ fds; "1 min" is the first sample under load, and RSS growth from there to the',
    'end (Δ since 1 min) is the leak signal, not the warm-up from the idle start.',
    '',
    '| process | RSS start | RSS 1 min | RSS end | Δ RSS | Δ since 1 min | fds start | fds max | fds end | Δ fds | samples |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, { samples }] of series) {
    const first = samples[0];
    const last = samples[samples.length - 1];
    if (first === undefined || last === undefined) continue;
    // Samples between the first and the last were taken under load.
    const underLoad = samples.length > 2 ? samples[1] : undefined;
    const fdsMax = Math.max(...samples.map((sample) => sample.fds));
    lines.push(
      `| ${name} | ${mebibytes(first.rssBytes)} | ${underLoad === undefined ? '–' : mebibytes(underLoad.rssBytes)} | ${mebibytes(last.rssBytes)} | ` +
        `${signed((last.rssBytes - first.rssBytes) / 1024 / 1024, 1)} | ` +
        `${underLoad === undefined ? '–' : signed((last.rssBytes - underLoad.rssBytes) / 1024 / 1024, 1)} | ` +
        `${first.fds} | ${fdsMax} | ${last.fds} | ${signed(last.fds - first.fds)} | ${samples.length} |`,
    );
  }
  const { says, deliveries } = report;
  lines.push(
    '',
    '| says sent | acknowledged | say errors | events delivered | expected | lost | duplicated | say→deliver p50 | p99 | max |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${says.sent} | ${says.acknowledged} | ${says.errors} | ${deliveries.deliveries} | ${deliveries.expectedDeliveries} | ` +
      `${deliveries.lost} | ${deliveries.duplicated} | ${milliseconds(deliveries.latencyMs.p50)} | ${milliseconds(deliveries.latencyMs.p99)} | ${milliseconds(deliveries.latencyMs.max)} |`,
    '',
  );
  return lines.join('\n');
}

async function main(): Promise<number> {
  // --help exits 0, a bad command line exits 2 (with the help on stderr).
  const options = readCommandLine(SOAK_COMMAND, process.argv.slice(2), soakOptions);

  let cluster: ClusterHandle | undefined;
  let runDir: string | undefined;
  let base = options.base;
  let clusterPath = options.clusterPath;
  if (base === undefined) {
    runDir = mkdtempSync(join(tmpdir(), 'parley-soak-'));
    process.stderr.write(`starting a cluster in ${runDir}\n`);
    cluster = await startCluster({
      runDir,
      startTimeoutMs: 60_000,
      env: {
        PARLEY_LOG_LEVEL: 'warn',
        // The load generator's sayers enter their rooms but never observe them, so
        // presence would sweep them out after the timeout (2 min) and they would
        // enter again after a 409 not_in_room: hold presence for a day, so the
        // soak measures steady says rather than presence churn.
        PARLEY_PRESENCE_TIMEOUT_MS: '86400000',
        // Every say comes from one address: the abuse limits would turn the
        // steady load into 429s (0 = no limit).
        PARLEY_RATE_SAY_PER_IP: '0',
        PARLEY_RATE_SAY_PER_SESSION: '0',
        PARLEY_RATE_SESSION_PER_IP: '0',
        PARLEY_RATE_ENTER_PER_SESSION: '0',
      },
    });
    base = cluster.publicUrl;
    clusterPath = join(runDir, 'cluster.json');
  }

  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const series: SampleSeries = new Map();
  const startedAt = Date.now();
  try {
    const loadOptions = parseLoadTestArgs([
      '--base', base,
      '--observers', String(options.observers),
      '--rooms', String(options.rooms),
      '--rate', String(options.rate),
      '--duration', String(options.minutes * 60),
      '--grace', '30',
      '--cluster', clusterPath,
    ]);
    sampleAll(clusterPath, series);
    const sampler = setInterval(() => {
      sampleAll(clusterPath, series);
      const minutes = ((Date.now() - startedAt) / 60_000).toFixed(1);
      const summary = [...series].map(([name, { samples }]) => {
        const last = samples[samples.length - 1];
        return last === undefined ? name : `${name} ${mebibytes(last.rssBytes)}M/${last.fds}fd`;
      });
      process.stderr.write(`[${minutes} min] ${summary.join(', ')}\n`);
    }, SAMPLE_INTERVAL_MS);
    let report: LoadTestReport;
    try {
      report = await runLoadTest(loadOptions, { signal: interrupt.signal });
    } finally {
      clearInterval(sampler);
    }
    sampleAll(clusterPath, series);
    process.stdout.write(formatReport(options, series, report, (Date.now() - startedAt) / 60_000));
    if (interrupt.signal.aborted) {
      // The drain was cut short: says still in flight count as lost, so no verdict.
      process.stderr.write('interrupted: the counts above are incomplete, not a loss verdict\n');
      return 130;
    }
    const { lost, duplicated } = report.deliveries;
    // Failed says mean the load was not the steady load asked for: not a valid soak either.
    const sayErrors = report.says.errors;
    if (lost > 0 || duplicated > 0 || sayErrors > 0) {
      process.stderr.write(`FAILED: ${lost} lost, ${duplicated} duplicated, ${sayErrors} says failed\n`);
      return 1;
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cluster?.stop();
    if (runDir !== undefined) rmSync(runDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`soak failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
