import { execFile } from 'node:child_process';
import { expect } from 'chai';
import { clusterConfigSchema } from '../src/config.js';
import { REPO_ROOT } from '../src/supervisor.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command in the repository and resolves with its exit code and output (bounded at 60 s). */
function run(file: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd: REPO_ROOT, timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

// Each entry point as the npm script runs it, minus the build step the
// bench:* scripts do first (pretest has built everything).
const ENTRY_POINTS: ReadonlyArray<{ script: string; usage: string; file: string; args: string[] }> = [
  { script: 'npm run loadtest', usage: 'usage: npm run loadtest -- [options]', file: 'node', args: ['packages/loadtest/dist/main.js'] },
  { script: 'npm run soak', usage: 'usage: npm run soak -- [options]', file: 'node', args: ['--import', 'tsx', 'bench/soak.ts'] },
  {
    script: 'npm run bench',
    usage: 'usage: npm run bench -- fanout|idle|capacity|fullpath [options]',
    file: 'node',
    args: ['--import', 'tsx', 'bench/main.ts'],
  },
  { script: 'npm run bench:chat-mix', usage: 'usage: npm run bench:chat-mix -- [options]', file: 'node', args: ['--import', 'tsx', 'bench/chat-mix.ts'] },
  { script: 'npm run bench:notify', usage: 'usage: npm run bench:notify -- [options]', file: 'node', args: ['--import', 'tsx', 'bench/notify-path.ts'] },
];

describe('command lines', function () {
  this.timeout(120_000);

  it('`npm start -- --help` lists every variable the supervisor reads, with its default, and exits 0', async () => {
    const result = await run('npm', ['start', '--silent', '--', '--help']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout.startsWith('usage: npm start -- [options]\n'), result.stdout).to.equal(true);
    expect(result.stdout).to.include('-h, --help  print this help and exit');
    for (const field of Object.values(clusterConfigSchema)) {
      const line = result.stdout.split('\n').find((row) => row.trimStart().startsWith(`${field.env} `));
      expect(line, field.env).to.not.equal(undefined);
      if (field.default !== undefined && field.default !== '') expect(line).to.include(`(default ${String(field.default)})`);
    }
  });

  it('`npm start` with an unknown option prints it and the help on stderr and exits 2', async () => {
    // What scripts/start.sh execs after setup and build.
    const result = await run('node', ['packages/cluster/dist/main.js', '--no-such-option']);
    expect(result.code).to.equal(2);
    expect(result.stdout).to.equal('');
    expect(result.stderr.startsWith("Unknown option '--no-such-option'\n\nusage: npm start -- [options]\n"), result.stderr).to.equal(true);
  });

  for (const entry of ENTRY_POINTS) {
    it(`\`${entry.script} -- --help\` prints its options and exits 0; an unknown option exits 2 with the help`, async () => {
      const help = await run(entry.file, [...entry.args, '--help']);
      expect(help.code, help.stderr).to.equal(0);
      expect(help.stdout.split('\n')[0]).to.equal(entry.usage);
      expect(help.stdout).to.include('-h, --help');
      const wrong = await run(entry.file, [...entry.args, '--no-such-option']);
      expect(wrong.code, wrong.stderr).to.equal(2);
      expect(wrong.stderr).to.include("Unknown option '--no-such-option'");
      expect(wrong.stderr).to.include(entry.usage);
    });
  }
});
