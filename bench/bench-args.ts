/**
 * Command-line options of the web-tier benches, on the shared reader
 * (`readCommandLine` of `@parley/protocol/node`): every option has a default
 * and a line of help; `--help` prints them (exit 0), and an unknown option or
 * a bad value prints the problem and the help (exit 2), never a stack trace.
 */
import {
  UsageError,
  formatHelp,
  numberValue,
  parseCommandLine,
  readCommandLine,
  type CommandLine,
  type CommandOption,
  type CommandSpec,
} from '@parley/protocol/node';

export { UsageError };

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

// '' leaves the process unpinned (pinSelf does nothing).
const CPU_LIST = /^[0-9,-]*$/;

/** The options every web-tier bench has besides its own. */
function commonStrings(): Record<string, OptionSpec<string>> {
  const cpus = (value: string): string | undefined => (CPU_LIST.test(value) ? undefined : 'must be a taskset CPU list like 0 or 0-1');
  return {
    'server-cpus': { default: '0', value: 'LIST', help: 'CPUs of the cluster under test (taskset -c list)', check: cpus },
    'generator-cpus': { default: '1', value: 'LIST', help: 'CPUs of this load generator (taskset -c list)', check: cpus },
    markdown: { default: '', value: 'FILE', help: 'also write the Markdown report to FILE (default: stdout only)' },
  };
}

/** `command` as the shared reader's spec. */
function commandSpec<N extends string, S extends string>(command: BenchCommand<N, S>): CommandSpec {
  const options: Record<string, CommandOption> = {};
  for (const [name, spec] of Object.entries<OptionSpec<number>>(command.numbers)) {
    options[name] = { type: 'string', placeholder: spec.value ?? 'N', default: String(spec.default), help: spec.help };
  }
  for (const [name, spec] of Object.entries({ ...(command.strings ?? {}), ...commonStrings() } as Record<string, OptionSpec<string>>)) {
    options[name] = { type: 'string', placeholder: spec.value ?? 'VALUE', help: spec.help, ...(spec.default === '' ? {} : { default: spec.default }) };
  }
  return { command: command.usage, summary: command.summary.trim(), options };
}

/** Checks and converts the values of a parsed command line; throws `UsageError` listing every problem. */
function benchOptions<N extends string, S extends string>(command: BenchCommand<N, S>, { values }: CommandLine<Record<string, CommandOption>>): BenchOptions<N, S> {
  const problems: string[] = [];
  const numbers: Record<string, number> = {};
  for (const name of Object.keys(command.numbers)) {
    try {
      numbers[name] = numberValue(name, String(values[name]), { min: 0 });
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  const strings: Record<string, string> = {};
  for (const [name, spec] of Object.entries({ ...(command.strings ?? {}), ...commonStrings() } as Record<string, OptionSpec<string>>)) {
    const raw = values[name];
    strings[name] = typeof raw === 'string' ? raw : spec.default;
    const problem = typeof raw === 'string' ? spec.check?.(raw) : undefined;
    if (problem !== undefined) problems.push(`--${name} ${problem}, got ${raw as string}`);
  }
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return {
    numbers: numbers as Record<N, number>,
    strings: strings as Record<S, string>,
    pinning: { server: strings['server-cpus'] ?? '0', generator: strings['generator-cpus'] ?? '1' },
    markdownPath: strings.markdown === '' ? undefined : strings.markdown,
  };
}

/** The help text of `command`: usage, summary, every option with its default. */
export function benchHelp<N extends string, S extends string>(command: BenchCommand<N, S>): string {
  return formatHelp(commandSpec(command));
}

/**
 * Parses `argv` against `command`. Returns `'help'` for `--help`; throws
 * `UsageError` for an unknown option, a positional argument or a bad value.
 */
export function parseBenchArgs<N extends string, S extends string>(command: BenchCommand<N, S>, argv: readonly string[]): BenchOptions<N, S> | 'help' {
  if (argv.includes('--help') || argv.includes('-h')) return 'help';
  return benchOptions(command, parseCommandLine(commandSpec(command), argv));
}

/**
 * The options of this process's command line: prints the help and exits 0 on
 * `--help`, prints the problem and the help and exits 2 on a bad command line.
 */
export function benchArgs<N extends string, S extends string = never>(command: BenchCommand<N, S>): BenchOptions<N, S> {
  return readCommandLine(commandSpec(command), process.argv.slice(2), (line) => benchOptions(command, line));
}
