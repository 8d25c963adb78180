import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { REPO_ROOT } from '../src/supervisor.js';

function compose(env: NodeJS.ProcessEnv): { status: number | null; output: string; missing: boolean } {
  const result = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
    timeout: 20_000,
  });
  const missing = (result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}`, missing };
}

describe('docker-compose.yml', function () {
  this.timeout(30_000);

  before(function () {
    if (compose(process.env).missing) {
      console.warn('    skipped: docker-compose is not installed (scripts/setup.sh installs it when run as root)');
      this.skip();
    }
  });

  it('passes docker-compose config validation', () => {
    const result = compose({ ...process.env, PARLEY_SECRET: 's'.repeat(64) });
    expect(result.status, result.output).to.equal(0);
  });

  it('refuses to run without PARLEY_SECRET', () => {
    const env = { ...process.env };
    delete env.PARLEY_SECRET;
    const result = compose(env);
    expect(result.status).to.not.equal(0);
    expect(result.output).to.include('PARLEY_SECRET');
  });
});
