import { expect } from 'chai';
import { PAGE_CSP } from '../src/pages.js';
import { call, startHarness, type Harness } from './harness.js';

const EXPECTED_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

describe('chat pages', () => {
  let harness: Harness;

  before(async () => {
    harness = await startHarness({ seams: 'memory' });
  });

  after(async () => {
    await harness?.close();
  });

  function expectPageHeaders(headers: Headers): void {
    expect(headers.get('content-type')).to.equal('text/html; charset=utf-8');
    expect(headers.get('content-security-policy')).to.equal(EXPECTED_CSP);
    expect(headers.get('x-content-type-options')).to.equal('nosniff');
    expect(headers.get('referrer-policy')).to.equal('same-origin');
    expect(headers.get('cache-control')).to.equal('no-store');
  }

  it('states a strict policy: same-origin scripts, styles, images and XHR only, no framing', () => {
    expect(PAGE_CSP).to.equal(EXPECTED_CSP);
  });

  it('serves the shell at / with the stylesheet, the deferred script and a noscript line', async () => {
    const answer = await call(harness, 'GET', '/');
    expect(answer.status).to.equal(200);
    expectPageHeaders(answer.headers);
    expect(answer.text).to.match(/^<!doctype html>/);
    expect(answer.text).to.include('<title>Parley</title>');
    expect(answer.text).to.include('<link rel="stylesheet" href="/assets/app.css">');
    expect(answer.text).to.include('<script defer src="/assets/app.js"></script>');
    expect(answer.text).to.match(/<noscript>.*JavaScript.*<\/noscript>/);
  });

  it('serves the same shell at /rooms/:room', async () => {
    const home = await call(harness, 'GET', '/');
    const room = await call(harness, 'GET', '/rooms/lobby_2-b');
    expect(room.status).to.equal(200);
    expectPageHeaders(room.headers);
    expect(room.text).to.equal(home.text);
  });

  it('has no inline script or style the policy would block', async () => {
    const answer = await call(harness, 'GET', '/');
    expect(answer.text).to.not.match(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(answer.text).to.not.match(/<style|\sstyle=|\son\w+=/i);
  });

  it('answers a path that is not a room name with an HTML 400 page under the same policy', async () => {
    for (const path of ['/rooms/Lobby', '/rooms/-dash-first', `/rooms/${'a'.repeat(65)}`, '/rooms/a%2Fb', '/rooms/%3Cimg%3E']) {
      const answer = await call(harness, 'GET', path);
      expect(answer.status, path).to.equal(400);
      expectPageHeaders(answer.headers);
      expect(answer.text, path).to.include('not a room name');
      expect(answer.text, path).to.include('<a href="/">');
      expect(answer.text, path).to.not.include('<img');
    }
  });

  it('adds no CORS header to the pages', async () => {
    const answer = await call(harness, 'GET', '/rooms/lobby', { headers: { origin: 'https://elsewhere.example' } });
    expect(answer.headers.get('access-control-allow-origin')).to.equal(null);
  });
});
