import { isIPv4 } from 'node:net';
import { UsageError, parseCommandLine, type CommandLine, type CommandSpec } from '@parley/protocol/node';
import { defaultSourceCount } from './socket-fleet.js';

/** Everything one load-test run needs; every field is validated by `parseLoadTestArgs`. */
export interface LoadTestOptions {
  /** Origin all traffic goes to: `http://127.x.y.z:port`, nothing else. */
  base: string;
  /** Long-poll observers, spread round-robin over the rooms. */
  observers: number;
  /** Rooms `lt-<runId>-<i>`. */
  rooms: number;
  /** Says per second, open-loop. */
  rate: number;
  /** Seconds of saying. */
  duration: number;
  /** Seconds after the say phase for the last deliveries; then the run stops. @default 5 */
  grace: number;
  /** Seconds between opening the observes and the first say, so they are parked. @default 1 */
  warmup: number;
  /** Sessions that say, each entering at least one room. @default rooms */
  sessions: number;
  /** Bytes of each say's text. @default 200 */
  textBytes: number;
  /** `wait` of every observe, seconds. @default 25 */
  wait: number;
  /** Source addresses 127.0.0.2… the observes are spread over. @default ceil(observers / 2500) */
  sources: number;
  /** Keep-alive connections of the say pool. @default 64 */
  sayConnections: number;
  /**
   * Origins the observes go to instead of `base`, round robin (the
   * chatservers' own observe ports, to measure the path without nginx).
   * Library only; the CLI always observes through `base`.
   */
  observeOrigins?: readonly string[];
  /**
   * Observe with one EventSource stream each (`GET /api/observe/stream`)
   * instead of long-polls. Library only (the bench's `parley-stream` target).
   * @default false
   */
  stream?: boolean;
  /** Write the JSON report here instead of stdout. */
  jsonPath?: string;
  /** Write the Markdown report here instead of stdout. */
  markdownPath?: string;
  /** `cluster.json` whose processes are measured. @default '.run/cluster.json' (skipped when missing) */
  clusterPath: string;
  /** Run id in room names and nicknames. @default random */
  runId?: string;
}

export { UsageError };

/** What `npm run loadtest -- --help` says; the options `parseLoadTestArgs` reads. */
export const LOADTEST_COMMAND = {
  command: 'npm run loadtest --',
  summary:
    'Drives a running cluster (from `npm start`): long-polls spread over rooms, says at a fixed open-loop rate\n' +
    'through nginx, then prints say latency, say->deliver latency, lost / duplicated / reordered counts and\n' +
    'the CPU and RSS of every process of the cluster file. Every request goes to --base only.',
  options: {
    base: { type: 'string', placeholder: 'URL', required: true, help: 'origin of the cluster: http:// on 127.0.0.0/8, an IPv4 literal' },
    observers: { type: 'string', placeholder: 'N', required: true, help: 'long-poll observers, round-robin over the rooms' },
    rooms: { type: 'string', placeholder: 'R', required: true, help: 'rooms (lt-<run id>-<i>)' },
    rate: { type: 'string', placeholder: 'M', required: true, help: 'says per second, open loop' },
    duration: { type: 'string', placeholder: 'S', required: true, help: 'seconds of saying' },
    grace: { type: 'string', placeholder: 'S', default: '5', help: 'seconds after the says for the last deliveries' },
    warmup: { type: 'string', placeholder: 'S', default: '1', help: 'seconds between opening the observes and the first say' },
    sessions: { type: 'string', placeholder: 'K', defaultHelp: 'R', help: 'sessions that say, each in at least one room' },
    'text-bytes': { type: 'string', placeholder: 'B', default: '200', help: 'bytes of each say\'s text' },
    wait: { type: 'string', placeholder: 'S', default: '25', help: '`wait` of every observe in seconds, at most 55' },
    sources: { type: 'string', placeholder: 'A', defaultHelp: 'ceil(N/2500)', help: 'source addresses 127.0.0.2… the observes are spread over' },
    'say-connections': { type: 'string', placeholder: 'C', default: '64', help: 'keep-alive connections of the say pool' },
    'run-id': { type: 'string', placeholder: 'ID', defaultHelp: 'random', help: 'run id in room names and nicknames, 1–16 of [a-z0-9]' },
    json: { type: 'string', placeholder: 'FILE', defaultHelp: 'stdout', help: 'write the JSON report here' },
    markdown: { type: 'string', placeholder: 'FILE', defaultHelp: 'stdout', help: 'write the Markdown report here' },
    cluster: { type: 'string', placeholder: 'FILE', default: '.run/cluster.json', help: 'processes to measure; skipped when missing' },
  },
} as const satisfies CommandSpec;

// Observers are spread over 127.0.0.2…127.0.0.(1+sources): at most 250 addresses.
const MAX_SOURCES = 250;
const RUN_ID = /^[a-z0-9]{1,16}$/;

/**
 * Refuses any origin but `http://127.x.y.z[:port]` (so the generator can never
 * load anything but this machine), and returns it without a trailing slash.
 */
export function parseLoopbackBase(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--base: not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:') throw new UsageError(`--base: only http:// is supported, got ${url.protocol}`);
  if (!isIPv4(url.hostname) || !url.hostname.startsWith('127.')) {
    throw new UsageError(`--base: refusing ${url.hostname}: the load test only targets 127.0.0.0/8 (an IPv4 literal)`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || (url.pathname !== '/' && url.pathname !== '')) {
    throw new UsageError('--base: give an origin only (http://127.0.0.1:PORT), no path, query or credentials');
  }
  return url.origin;
}

/** Parses and validates the command line (without `node` and the script); throws `UsageError` listing every problem. */
export function parseLoadTestArgs(argv: readonly string[]): LoadTestOptions {
  return loadTestOptions(parseCommandLine(LOADTEST_COMMAND, argv));
}

/** Validates a parsed command line; throws `UsageError` listing every problem. */
export function loadTestOptions({ values }: CommandLine<typeof LOADTEST_COMMAND.options>): LoadTestOptions {
  const problems: string[] = [];
  const number = (name: keyof typeof values, fallback: number | undefined, min: number, max: number, integer: boolean): number => {
    const raw = values[name];
    if (raw === undefined) {
      if (fallback === undefined) problems.push(`--${name} is required`);
      return fallback ?? min;
    }
    const parsed = Number(raw);
    if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(parsed) || (integer && !Number.isInteger(parsed)) || parsed < min || parsed > max) {
      problems.push(`--${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(raw)}`);
      return fallback ?? min;
    }
    return parsed;
  };

  let base = '';
  if (typeof values.base !== 'string') problems.push('--base is required');
  else {
    try {
      base = parseLoopbackBase(values.base);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  const observers = number('observers', undefined, 1, 100_000, true);
  const rooms = number('rooms', undefined, 1, 10_000, true);
  const rate = number('rate', undefined, 0, 100_000, false);
  const duration = number('duration', undefined, 0.1, 3600, false);
  // Options with a default in LOADTEST_COMMAND always have a value here.
  const grace = number('grace', undefined, 0, 600, false);
  const warmup = number('warmup', undefined, 0, 60, false);
  const sessions = number('sessions', rooms, 1, 100_000, true);
  const textBytes = number('text-bytes', undefined, 1, 2000, true);
  // The chatserver holds at most 55 s.
  const wait = number('wait', undefined, 1, 55, true);
  const sources = number('sources', Math.min(MAX_SOURCES, defaultSourceCount(observers)), 1, MAX_SOURCES, true);
  const sayConnections = number('say-connections', undefined, 1, 10_000, true);
  const runId = values['run-id'];
  if (runId !== undefined && (typeof runId !== 'string' || !RUN_ID.test(runId))) problems.push('--run-id must be 1–16 of [a-z0-9]');
  if (problems.length > 0) throw new UsageError(problems.join('\n'));

  const options: LoadTestOptions = {
    base,
    observers,
    rooms,
    rate,
    duration,
    grace,
    warmup,
    sessions,
    textBytes,
    wait,
    sources,
    sayConnections,
    clusterPath: values.cluster,
  };
  if (typeof values.json === 'string') options.jsonPath = values.json;
  if (typeof values.markdown === 'string') options.markdownPath = values.markdown;
  if (typeof runId === 'string') options.runId = runId;
  return options;
}
