import { parseArgs } from 'node:util';
import type { ConfigSchema } from './config.js';

/**
 * Command lines people can guess: every entry point (`npm start`, the load
 * test, the soak, the benches, migration tools) describes its options once in
 * a `CommandSpec`, and `readCommandLine` answers `--help` from it (stdout,
 * exit 0) and any mistake — an unknown option, a missing value, a value the
 * program refuses — with the problem and the same help (stderr, exit 2).
 */

/** One `--name` option. */
export interface CommandOption {
  /** `'string'` takes a value (`--runs 3`); `'boolean'` is a flag (`--quick`). */
  type: 'string' | 'boolean';
  /** What it does, one line. */
  help: string;
  /** A one-letter alias (`-h` is taken by `--help`). */
  short?: string;
  /** The value's placeholder in the help (`--runs N`). @default 'VALUE' */
  placeholder?: string;
  /**
   * Used when the option is absent, and shown as `(default …)`. A flag
   * defaults to false without saying so.
   */
  default?: string;
  /**
   * Shown as `(default …)` when the program computes the default itself
   * (`ceil(N/2500)`); not applied.
   */
  defaultHelp?: string;
  /** Shown as `(required)`; the program checks it (it may depend on other options). */
  required?: boolean;
}

/** An environment variable an entry point reads, for its help. */
export interface CommandEnvironmentVariable {
  name: string;
  /** As shown: `8080`, `(random per run)`. Omit for none. */
  default?: string;
  help: string;
}

/** Everything `--help` says about one entry point. */
export interface CommandSpec<O extends Record<string, CommandOption> = Record<string, CommandOption>> {
  /** How it is run, without options: `npm run soak --`. */
  command: string;
  /** Positionals as shown after the command: `fanout|idle|capacity|fullpath`. @default none allowed */
  positionals?: string;
  /** What it does, a sentence or two. */
  summary: string;
  /** Its options (`--help` is added). */
  options: O;
  /** Environment variables it reads. */
  environment?: readonly CommandEnvironmentVariable[];
  /** Lines printed after everything else. */
  notes?: string;
}

/** The values of a parsed command line: a string option is `undefined` when absent and without a default. */
export type CommandValues<O extends Record<string, CommandOption>> = {
  [K in keyof O]: O[K]['type'] extends 'boolean' ? boolean : O[K] extends { default: string } ? string : string | undefined;
};

/** What `readCommandLine` hands on. */
export interface CommandLine<O extends Record<string, CommandOption>> {
  values: CommandValues<O>;
  positionals: string[];
}

/**
 * A command line the program refuses. Thrown from `readCommandLine`'s
 * `convert` (or anywhere before the work starts): the message is printed
 * with the help and the process exits 2.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Where `readCommandLine` writes and how it exits (tests pass their own). */
export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  exit(code: number): never;
}

const processIo: CommandIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  exit: (code) => process.exit(code),
};

const HELP_OPTION: CommandOption = { type: 'boolean', short: 'h', help: 'print this help and exit' };

/** The `--help` text of `spec`. */
export function formatHelp(spec: CommandSpec): string {
  const rows: Array<[string, string]> = [];
  for (const [name, option] of Object.entries({ ...spec.options, help: HELP_OPTION })) {
    const flag = `${option.short === undefined ? '    ' : `-${option.short}, `}--${name}`;
    const left = option.type === 'string' ? `${flag} ${option.placeholder ?? 'VALUE'}` : flag;
    const shown = option.default ?? option.defaultHelp;
    const suffix = option.required === true ? ' (required)' : shown === undefined ? '' : ` (default ${shown})`;
    rows.push([left, `${option.help}${suffix}`]);
  }
  const width = Math.max(...rows.map(([left]) => left.length));
  const lines = [
    `usage: ${spec.command}${spec.positionals === undefined ? '' : ` ${spec.positionals}`} [options]`,
    '',
    spec.summary,
    '',
    'options:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
  ];
  if (spec.environment !== undefined && spec.environment.length > 0) {
    const nameWidth = Math.max(...spec.environment.map((variable) => variable.name.length));
    lines.push('', 'environment:');
    for (const variable of spec.environment) {
      const suffix = variable.default === undefined ? '' : ` (default ${variable.default})`;
      lines.push(`  ${variable.name.padEnd(nameWidth)}  ${variable.help}${suffix}`);
    }
  }
  if (spec.notes !== undefined) lines.push('', spec.notes);
  return `${lines.join('\n')}\n`;
}

/**
 * The help lines of the variables of a `ConfigSchema`, in its order: the
 * names and defaults come from the schema, the meanings from `help` (one per
 * field, so a new setting cannot be left out of `--help`).
 */
export function environmentHelp<C>(
  schema: ConfigSchema<C>,
  help: { readonly [K in keyof C]: string },
  shownDefaults: { readonly [K in keyof C]?: string } = {},
): CommandEnvironmentVariable[] {
  return (Object.keys(schema) as Array<keyof C>).map((key) => {
    const field = schema[key];
    const fallback = field.default;
    const shown = shownDefaults[key] ?? (fallback === undefined ? undefined : Array.isArray(fallback) ? fallback.join(',') : String(fallback));
    return { name: field.env, help: help[key], ...(shown === undefined ? {} : { default: shown }) };
  });
}

/**
 * Reads the command line against `spec`. `--help` or `-h` anywhere prints the
 * help on stdout and exits 0. An unknown option, a missing value, a positional
 * the spec has no room for, or a `UsageError` thrown by `convert` prints the
 * problem and the help on stderr and exits 2. Otherwise returns what `convert`
 * makes of the values (by default the values and positionals themselves).
 */
export function readCommandLine<const O extends Record<string, CommandOption>, T = CommandLine<O>>(
  spec: CommandSpec<O>,
  argv: readonly string[] = process.argv.slice(2),
  convert?: (line: CommandLine<O>) => T,
  io: CommandIo = processIo,
): T {
  const beforeTerminator = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (beforeTerminator.includes('--help') || beforeTerminator.includes('-h')) {
    io.stdout.write(formatHelp(spec));
    return io.exit(0);
  }
  try {
    const line = parseCommandLine(spec, argv);
    return convert === undefined ? (line as T) : convert(line);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`${error.message}\n\n${formatHelp(spec)}`);
    return io.exit(2);
  }
}

/** Parses `argv` against `spec`; throws `UsageError` for anything it does not describe. */
export function parseCommandLine<O extends Record<string, CommandOption>>(spec: CommandSpec<O>, argv: readonly string[]): CommandLine<O> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean }> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    options[name] = {
      type: option.type,
      ...(option.short === undefined ? {} : { short: option.short }),
      ...(option.type === 'boolean' ? { default: false } : option.default === undefined ? {} : { default: option.default }),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: spec.positionals !== undefined });
  } catch (error) {
    // node:util's messages name the option and say what is wrong; the hint
    // they add ("To specify a positional argument…") is about its own API.
    throw new UsageError((error as Error).message.split('. To specify')[0] ?? 'bad command line');
  }
  return { values: parsed.values as CommandValues<O>, positionals: parsed.positionals };
}

/**
 * A numeric option's value, or a `UsageError` naming the option:
 * `numberValue('runs', '3', { min: 1, integer: true })`.
 */
export function numberValue(name: string, raw: string, bounds: { min?: number; max?: number; integer?: boolean } = {}): number {
  const { min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, integer = false } = bounds;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    const kind = integer ? 'a whole number' : 'a number';
    const range = Number.isFinite(min)
      ? Number.isFinite(max)
        ? `${kind} from ${min} to ${max}`
        : `${kind} of at least ${min}`
      : Number.isFinite(max)
        ? `${kind} of at most ${max}`
        : kind;
    throw new UsageError(`--${name} must be ${range}, got ${JSON.stringify(raw)}`);
  }
  return value;
}
