import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAssets } from '../src/assets.js';
import { call, startHarness, type Harness } from './harness.js';

describe('built assets', () => {
  let harness: Harness;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-assets-'));
    writeFileSync(join(dir, 'page.js'), 'console.log("page");');
    writeFileSync(join(dir, 'page.css'), 'body{margin:0}');
    writeFileSync(join(dir, 'notes.txt'), 'not served');
    writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    harness = await startHarness({ seams: 'memory', assets: loadAssets(dir) });
  });

  after(async () => {
    await harness?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a built script with its type, validator and a short cache', async () => {
    const answer = await call(harness, 'GET', '/assets/page.js');
    expect(answer.status).to.equal(200);
    expect(answer.text).to.equal('console.log("page");');
    expect(answer.headers.get('content-type')).to.equal('application/javascript; charset=utf-8');
    expect(answer.headers.get('cache-control')).to.equal('public, max-age=300');
    expect(answer.headers.get('etag')).to.match(/^"[\w-]{22}"$/);
    expect(answer.headers.get('x-content-type-options')).to.equal('nosniff');
  });

  it('answers 304 to a request that already has the file', async () => {
    const first = await call(harness, 'GET', '/assets/page.css');
    expect(first.headers.get('content-type')).to.equal('text/css; charset=utf-8');
    const again = await call(harness, 'GET', '/assets/page.css', { headers: { 'if-none-match': first.headers.get('etag')! } });
    expect(again.status).to.equal(304);
    expect(again.text).to.equal('');
  });

  it('answers /favicon.ico with the SVG icon, cached for a day', async () => {
    const answer = await call(harness, 'GET', '/favicon.ico');
    expect(answer.status).to.equal(200);
    expect(answer.headers.get('content-type')).to.equal('image/svg+xml');
    expect(answer.headers.get('cache-control')).to.equal('public, max-age=86400');
    expect(answer.text).to.equal('<svg xmlns="http://www.w3.org/2000/svg"/>');
  });

  it('answers the JSON 404 for unknown names, other types and path tricks', async () => {
    for (const path of ['/assets/missing.js', '/assets/notes.txt', '/assets/..%2Fpackage.json', '/assets/%2e%2e/app.ts']) {
      const answer = await call(harness, 'GET', path);
      expect(answer.status, path).to.equal(404);
      expect(answer.json?.error?.code, `${path}: ${answer.text}`).to.equal('not_found');
    }
  });
});
