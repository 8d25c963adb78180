import { silentLogger } from '@parley/protocol';
import { expect } from 'chai';
import { startHealthServer, type HealthServer } from '../src/health-server.js';

describe('worker health server', function () {
  let server: HealthServer;

  beforeEach(async function () {
    server = await startHealthServer({ port: 0, log: silentLogger });
  });

  afterEach(async function () {
    await server.close();
  });

  it('answers GET /healthz with ok and the worker role', async function () {
    const response = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ ok: true, role: 'worker' });
  });

  it('answers 404 with an error body for any other path', async function () {
    const response = await fetch(`http://127.0.0.1:${server.port}/internal/notify`);
    expect(response.status).to.equal(404);
    expect(await response.json()).to.deep.equal({ error: { code: 'not_found', message: 'no such endpoint' } });
  });

  it('answers 405 to a POST on /healthz', async function () {
    const response = await fetch(`http://127.0.0.1:${server.port}/healthz`, { method: 'POST' });
    expect(response.status).to.equal(405);
  });
});
