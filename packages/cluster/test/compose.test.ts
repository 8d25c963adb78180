import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { REPO_ROOT } from '../src/supervisor.js';

const SECRET = 's'.repeat(64);
const PASSWORD = 'a1b2c3d4e5f6';

/** The parts of `docker-compose config` this test reads. */
interface ResolvedCompose {
  services: Record<string, { environment?: Record<string, string>; volumes?: unknown[]; healthcheck?: { test: string[] }; depends_on?: Record<string, unknown> }>;
  volumes: Record<string, unknown>;
}

function compose(env: NodeJS.ProcessEnv, quiet = true): { status: number | null; output: string; stdout: string; missing: boolean } {
  const result = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', ...(quiet ? ['-q'] : [])], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
    timeout: 20_000,
  });
  const missing = (result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}`, stdout: result.stdout ?? '', missing };
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
    const result = compose({ ...process.env, PARLEY_SECRET: SECRET, PARLEY_POSTGRES_PASSWORD: PASSWORD });
    expect(result.status, result.output).to.equal(0);
  });

  for (const variable of ['PARLEY_SECRET', 'PARLEY_POSTGRES_PASSWORD']) {
    it(`refuses to run without ${variable}`, () => {
      const env: NodeJS.ProcessEnv = { ...process.env, PARLEY_SECRET: SECRET, PARLEY_POSTGRES_PASSWORD: PASSWORD };
      delete env[variable];
      const result = compose(env);
      expect(result.status).to.not.equal(0);
      expect(result.output).to.include(variable);
    });
  }

  it('runs the web replicas on PostgreSQL from the variables, with no volume of their own', () => {
    const result = compose({ ...process.env, PARLEY_SECRET: SECRET, PARLEY_POSTGRES_PASSWORD: PASSWORD }, false);
    expect(result.status, result.output).to.equal(0);
    const resolved = parse(result.stdout) as ResolvedCompose;
    for (const name of ['web-1', 'web-2']) {
      const web = resolved.services[name];
      expect(web?.environment?.PARLEY_DATABASE_URL, name).to.equal(`postgres://parley:${PASSWORD}@postgres:5432/parley`);
      expect(web?.environment, name).to.not.have.property('PARLEY_DB_PATH');
      expect(web?.volumes, name).to.equal(undefined);
      expect(web?.depends_on, name).to.have.property('postgres');
    }
    const postgres = resolved.services.postgres;
    expect(postgres?.environment?.POSTGRES_PASSWORD).to.equal(PASSWORD);
    expect(postgres?.healthcheck?.test).to.include('pg_isready');
    expect(postgres?.volumes).to.have.length(1);
    expect(Object.keys(resolved.volumes).sort()).to.deep.equal(['postgres-data', 'redis-data']);
  });

  it('holds no password itself', () => {
    const text = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    expect(text).to.not.match(/PASSWORD:\s+[^$\s]/);
    expect(text).to.not.match(/postgres:\/\/parley:[^$]/);
  });
});
