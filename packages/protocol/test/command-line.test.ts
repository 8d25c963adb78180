import { expect } from 'chai';
import { parse, type ConfigSchema } from '../src/node/config.js';
import {
  UsageError,
  environmentHelp,
  formatHelp,
  numberValue,
  readCommandLine,
  type CommandIo,
  type CommandSpec,
} from '../src/node/command-line.js';

const spec = {
  command: 'npm run demo --',
  summary: 'Does a demo.',
  options: {
    runs: { type: 'string', placeholder: 'N', default: '3', help: 'how many runs' },
    base: { type: 'string', placeholder: 'URL', required: true, help: 'where to go' },
    sources: { type: 'string', placeholder: 'A', defaultHelp: 'ceil(N/2500)', help: 'source addresses' },
    quick: { type: 'boolean', short: 'q', help: 'one short run' },
  },
  environment: [{ name: 'PORT', default: '8080', help: 'public port' }],
  notes: 'A closing note.',
} as const satisfies CommandSpec;

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Runs `readCommandLine` with captured output; `code` is undefined when it returned. */
function run<T>(argv: string[], convert?: Parameters<typeof readCommandLine<typeof spec.options, T>>[2]) {
  const out = { stdout: '', stderr: '', code: undefined as number | undefined, result: undefined as T | undefined };
  const io: CommandIo = {
    stdout: { write: (text: string) => (out.stdout += text) },
    stderr: { write: (text: string) => (out.stderr += text) },
    exit: (code: number) => {
      throw new Exit(code);
    },
  };
  try {
    out.result = readCommandLine(spec, argv, convert, io);
  } catch (error) {
    if (!(error instanceof Exit)) throw error;
    out.code = error.code;
  }
  return out;
}

describe('command line helper', () => {
  it('prints every option with its default, the environment and the notes for --help, and exits 0', () => {
    const { stdout, stderr, code } = run(['--help']);
    expect(code).to.equal(0);
    expect(stderr).to.equal('');
    expect(stdout).to.equal(
      [
        'usage: npm run demo -- [options]',
        '',
        'Does a demo.',
        '',
        'options:',
        '      --runs N     how many runs (default 3)',
        '      --base URL   where to go (required)',
        '      --sources A  source addresses (default ceil(N/2500))',
        '  -q, --quick      one short run',
        '  -h, --help       print this help and exit',
        '',
        'environment:',
        '  PORT  public port (default 8080)',
        '',
        'A closing note.',
        '',
      ].join('\n'),
    );
  });

  it('answers -h the same, even after other options, and does not convert', () => {
    let converted = false;
    const { stdout, code } = run(['--runs', 'x', '-h'], () => (converted = true));
    expect(code).to.equal(0);
    expect(stdout).to.equal(formatHelp(spec));
    expect(converted).to.equal(false);
  });

  it('prints an unknown option and the help on stderr and exits 2', () => {
    const { stdout, stderr, code } = run(['--runs', '2', '--bogus']);
    expect(code).to.equal(2);
    expect(stdout).to.equal('');
    expect(stderr).to.equal(`Unknown option '--bogus'\n\n${formatHelp(spec)}`);
  });

  it('exits 2 on a missing value and on a positional the command does not take', () => {
    expect(run(['--runs']).code).to.equal(2);
    expect(run(['--runs']).stderr).to.match(/^Option '--runs <value>' argument missing/);
    expect(run(['extra']).code).to.equal(2);
    expect(run(['extra']).stderr).to.match(/^Unexpected argument 'extra'/);
  });

  it('hands on the values with defaults applied and absent options undefined', () => {
    const { result, code } = run(['--base', 'http://127.0.0.1:1', '-q']);
    expect(code).to.equal(undefined);
    expect(result).to.deep.equal({ values: { runs: '3', base: 'http://127.0.0.1:1', quick: true }, positionals: [] });
    expect(run([]).result).to.deep.equal({ values: { runs: '3', quick: false }, positionals: [] });
  });

  it("exits 2 with convert's UsageError message, and lets other errors through", () => {
    const refused = run([], () => {
      throw new UsageError('--base is required');
    });
    expect(refused.code).to.equal(2);
    expect(refused.stderr.split('\n')[0]).to.equal('--base is required');
    expect(() =>
      run([], () => {
        throw new TypeError('a bug');
      }),
    ).to.throw(TypeError, 'a bug');
  });

  it('takes positionals when the spec names them', () => {
    const withScenario = { ...spec, positionals: 'fanout|idle' };
    expect(readCommandLine(withScenario, ['idle', '--runs', '1']).positionals).to.deep.equal(['idle']);
    expect(formatHelp(withScenario).split('\n')[0]).to.equal('usage: npm run demo -- fanout|idle [options]');
  });

  it('numberValue accepts numbers in bounds and names the option otherwise', () => {
    expect(numberValue('runs', '3', { min: 1, integer: true })).to.equal(3);
    expect(numberValue('rate', '0.5', { min: 0 })).to.equal(0.5);
    expect(() => numberValue('rate', '-1', { min: 0 })).to.throw('--rate must be a number of at least 0, got "-1"');
    expect(() => numberValue('rate', 'x')).to.throw('--rate must be a number, got "x"');
    for (const raw of ['', ' ', 'x', '1.5', '0', '101', 'Infinity']) {
      expect(() => numberValue('runs', raw, { min: 1, max: 100, integer: true }), raw)
        .to.throw(UsageError)
        .with.property('message', `--runs must be a whole number from 1 to 100, got ${JSON.stringify(raw)}`);
    }
  });

  it('environmentHelp lists a config schema in order, with its defaults', () => {
    interface Demo {
      port: number;
      secret: string;
    }
    const schema: ConfigSchema<Demo> = {
      port: { env: 'PORT', default: 8080, parse: parse.port },
      secret: { env: 'PARLEY_SECRET', parse: parse.secret },
    };
    expect(environmentHelp(schema, { port: 'public port', secret: 'HMAC secret' })).to.deep.equal([
      { name: 'PORT', default: '8080', help: 'public port' },
      { name: 'PARLEY_SECRET', help: 'HMAC secret' },
    ]);
    expect(environmentHelp(schema, { port: 'p', secret: 's' }, { secret: '(random per run)' })[1]).to.deep.equal({
      name: 'PARLEY_SECRET',
      default: '(random per run)',
      help: 's',
    });
  });
});
