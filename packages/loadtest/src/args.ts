import { isIPv4 } from 'node:net';
import { parseArgs } from 'node:util';
import { defaultSourceCount } from './long-poll-client.js';

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
  /** Write the JSON report here instead of stdout. */
  jsonPath?: string;
  /** Write the Markdown report here instead of stdout. */
  markdownPath?: string;
  /** `cluster.json` whose processes are measured. @default '.run/cluster.json' (skipped when missing) */
  clusterPath: string;
  /** Run id in room names and nicknames. @default random */
  runId?: string;
}

/** A bad command line; `message` says every problem found. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** One line per option, for `--help` and usage errors. */
export const USAGE = `usage: npm run loadtest -- --base URL --observers N --rooms R --rate M --duration S
       [--grace S=5] [--warmup S=1] [--sessions K=R] [--text-bytes B=200] [--wait S=25]
       [--sources A=ceil(N/2500)] [--say-connections C=64] [--run-id ID]
       [--json out.json] [--markdown out.md] [--cluster .run/cluster.json]
URL must be http:// on 127.0.0.0/8 (an IPv4 literal); every request goes there only.`;

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
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        base: { type: 'string' },
        observers: { type: 'string' },
        rooms: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        grace: { type: 'string' },
        warmup: { type: 'string' },
        sessions: { type: 'string' },
        'text-bytes': { type: 'string' },
        wait: { type: 'string' },
        sources: { type: 'string' },
        'say-connections': { type: 'string' },
        'run-id': { type: 'string' },
        json: { type: 'string' },
        markdown: { type: 'string' },
        cluster: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  const problems: string[] = [];
  const number = (name: string, fallback: number | undefined, min: number, max: number, integer: boolean): number => {
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
  const grace = number('grace', 5, 0, 600, false);
  const warmup = number('warmup', 1, 0, 60, false);
  const sessions = number('sessions', rooms, 1, 100_000, true);
  const textBytes = number('text-bytes', 200, 1, 2000, true);
  // The chatserver holds at most 55 s.
  const wait = number('wait', 25, 1, 55, true);
  const sources = number('sources', Math.min(MAX_SOURCES, defaultSourceCount(observers)), 1, MAX_SOURCES, true);
  const sayConnections = number('say-connections', 64, 1, 10_000, true);
  const runId = values['run-id'];
  if (runId !== undefined && (typeof runId !== 'string' || !RUN_ID.test(runId))) problems.push('--run-id must be 1–16 of [a-z0-9]');
  if (problems.length > 0) throw new UsageError(`${problems.join('\n')}\n${USAGE}`);

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
    clusterPath: typeof values.cluster === 'string' ? values.cluster : '.run/cluster.json',
  };
  if (typeof values.json === 'string') options.jsonPath = values.json;
  if (typeof values.markdown === 'string') options.markdownPath = values.markdown;
  if (typeof runId === 'string') options.runId = runId;
  return options;
}
