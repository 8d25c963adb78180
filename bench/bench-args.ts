/**
 * Command-line options of the web-tier benches: every option has a default
 * and a line of help; `--help` prints them (exit 0), and an unknown option or
 * a bad value prints the problem and the help (exit 2), never a stack trace.
 */
import { parseArgs } from 'node:util';

/** One option: its default and what it means (a short line). */
export interface OptionSpec<T> {
  default: T;
  help: string;
  /** The value's placeholder in the help (`N`, `LIST`). @default 'N' for numbers, 'VALUE' for strings */
  value?: string;
  /** Returns a problem with a given value, or undefined when it is fine (strings only). */
  check?: (value: string) => string | undefined;
}

/** What a bench command accepts. */
export interface BenchCommand<N extends string, S extends string> {
  /** How it is run, e.g. `npm run bench:say --`. */
  usage: string;
  /** What it measures, a few lines. */
  summary: string;
  /** Non-negative numbers. */
  numbers: Record<N, OptionSpec<number>>;
  /** Strings. @default {} */
  strings?: Record<S, OptionSpec<string>>;
}

/** CPU lists for `taskset -c`. */
export interface Pinning {
  server: string;
  generator: string;
}

/** The parsed options. */
export interface BenchOptions<N extends string, S extends string> {
  numbers: Record<N, number>;
  strings: Record<S, string>;
  pinning: Pinning;
  markdownPath: string | undefined;
}

/** A bad command line: the message is for the user, the help follows it. */
export class UsageError extends Error {}

const CPU_LIST = /^[0-9][0-9,-]*$/;

/** The options every web-tier bench has besides its own. */
function commonStrings(): Record<string, OptionSpec<string>> {
  const cpus = (value: string): string | undefined => (CPU_LIST.test(value) ? undefined : 'must be a taskset CPU list like 0 or 0-1');
  return {
    'server-cpus': { default: '0', value: 'LIST', help: 'CPUs of the cluster under test (taskset -c list)', check: cpus },
    'generator-cpus': { default: '1', value: 'LIST', help: 'CPUs of this load generator (taskset -c list)', check: cpus },
    markdown: { default: '', value: 'FILE', help: 'also write the Markdown report to FILE (default: stdout only)' },
  };
}

/** The help text of `command`: usage, summary, every option with its default. */
export function benchHelp<N extends string, S extends string>(command: BenchCommand<N, S>): string {
  const rows: Array<[string, string]> = [];
  for (const [name, spec] of Object.entries<OptionSpec<number>>(command.numbers)) {
    rows.push([`--${name} ${spec.value ?? 'N'}`, `${spec.help} [${spec.default}]`]);
  }
  const strings: Record<string, OptionSpec<string>> = { ...(command.strings ?? {}), ...commonStrings() };
  for (const [name, spec] of Object.entries(strings)) {
    rows.push([`--${name} ${spec.value ?? 'VALUE'}`, spec.default === '' ? spec.help : `${spec.help} [${spec.default}]`]);
  }
  rows.push(['--help', 'print this help and exit']);
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return [
    `usage: ${command.usage} [options]`,
    '',
    command.summary.trim(),
    '',
    'options [default]:',
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`),
    '',
  ].join('\n');
}

/**
 * Parses `argv` against `command`. Returns `'help'` for `--help`; throws
 * `UsageError` for an unknown option, a positional argument or a bad value.
 */
export function parseBenchArgs<N extends string, S extends string>(command: BenchCommand<N, S>, argv: readonly string[]): BenchOptions<N, S> | 'help' {
  const strings: Record<string, OptionSpec<string>> = { ...(command.strings ?? {}), ...commonStrings() };
  const options: Record<string, { type: 'string' } | { type: 'boolean' }> = { help: { type: 'boolean' } };
  for (const name of [...Object.keys(command.numbers), ...Object.keys(strings)]) options[name] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (error) {
    // node:util's messages name the option ("Unknown option '--x'"); drop its hint about "--" for positionals.
    throw new UsageError((error as Error).message.split('. To specify a positional')[0] ?? 'bad arguments');
  }
  if (values.help === true) return 'help';
  const problems: string[] = [];
  const numbers: Record<string, number> = {};
  for (const [name, spec] of Object.entries<OptionSpec<number>>(command.numbers)) {
    const raw = values[name];
    const value = typeof raw === 'string' ? Number(raw) : spec.default;
    if (raw === '' || !Number.isFinite(value) || value < 0) problems.push(`--${name} must be a non-negative number, got ${String(raw)}`);
    numbers[name] = value;
  }
  const parsedStrings: Record<string, string> = {};
  for (const [name, spec] of Object.entries(strings)) {
    const raw = values[name];
    const value = typeof raw === 'string' ? raw : spec.default;
    const problem = typeof raw === 'string' ? spec.check?.(raw) : undefined;
    if (problem !== undefined) problems.push(`--${name} ${problem}, got ${raw as string}`);
    parsedStrings[name] = value;
  }
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return {
    numbers: numbers as Record<N, number>,
    strings: parsedStrings as Record<S, string>,
    pinning: { server: parsedStrings['server-cpus'] ?? '0', generator: parsedStrings['generator-cpus'] ?? '1' },
    markdownPath: parsedStrings.markdown === '' ? undefined : parsedStrings.markdown,
  };
}

/**
 * The options of this process's command line: prints the help and exits 0 on
 * `--help`, prints the problem and the help and exits 2 on a bad command line.
 */
export function benchArgs<N extends string, S extends string = never>(command: BenchCommand<N, S>): BenchOptions<N, S> {
  let parsed: BenchOptions<N, S> | 'help';
  try {
    parsed = parseBenchArgs(command, process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${benchHelp(command)}`);
    process.exit(2);
  }
  if (parsed === 'help') {
    process.stdout.write(benchHelp(command));
    process.exit(0);
  }
  return parsed;
}

/** A `--store` check: a comma list of `sqlite` and `postgres`, each at most once. */
export function checkStoreList(value: string): string | undefined {
  const stores = value.split(',');
  if (stores.some((store) => store !== 'sqlite' && store !== 'postgres') || new Set(stores).size !== stores.length) {
    return 'must be sqlite, postgres or both (sqlite,postgres)';
  }
  return undefined;
}
