import { expect } from 'chai';
import { call, newSession, startHarness, uniqueRoom, type Harness } from './harness.js';

describe('HTTP surface: CORS, JSONP, headers, fallbacks', () => {
  let harness: Harness;

  before(async () => {
    harness = await startHarness({ seams: 'memory' });
  });

  after(async () => {
    await harness?.close();
  });

  describe('CORS', () => {
    it('answers a preflight with 204 and the allowed methods and headers', async () => {
      const answer = await call(harness, 'OPTIONS', '/api/rooms/lobby/say', {
        headers: {
          origin: 'https://elsewhere.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      expect(answer.status).to.equal(204);
      expect(answer.headers.get('access-control-allow-origin')).to.equal('*');
      expect(answer.headers.get('access-control-allow-methods')).to.equal('GET, POST, PATCH, DELETE');
      expect(answer.headers.get('access-control-allow-headers')).to.equal('Authorization, Content-Type, X-Requested-With');
      expect(answer.headers.get('access-control-max-age')).to.equal('600');
      expect(answer.headers.get('access-control-allow-credentials')).to.equal(null);
    });

    it('allows any origin on API answers, errors included, never with credentials', async () => {
      const ok = await call(harness, 'GET', '/api/rooms', { headers: { origin: 'https://elsewhere.example' } });
      const refused = await call(harness, 'GET', '/api/session', { headers: { origin: 'https://elsewhere.example' } });
      for (const answer of [ok, refused]) {
        expect(answer.headers.get('access-control-allow-origin')).to.equal('*');
        expect(answer.headers.get('access-control-allow-credentials')).to.equal(null);
      }
    });

    it('adds no CORS headers outside /api', async () => {
      const answer = await call(harness, 'GET', '/healthz');
      expect(answer.headers.get('access-control-allow-origin')).to.equal(null);
    });
  });

  describe('JSONP', () => {
    it('wraps a GET answer in the callback with the script headers', async () => {
      const session = await newSession(harness, 'alice');
      const room = uniqueRoom();
      await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
      const answer = await call(harness, 'GET', `/api/rooms/${room}?callback=Parley.onRoom`);
      expect(answer.status).to.equal(200);
      expect(answer.headers.get('content-type')).to.equal('application/javascript; charset=utf-8');
      expect(answer.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(answer.headers.get('cache-control')).to.equal('no-store');
      expect(answer.text).to.equal(`/**/Parley.onRoom(${JSON.stringify({ name: room, seq: 1, occupants: [{ nickname: 'alice' }] })});`);
    });

    it('puts an error inside the callback with status 200', async () => {
      const answer = await call(harness, 'GET', `/api/rooms/${uniqueRoom()}/events?callback=cb`);
      expect(answer.status).to.equal(200);
      expect(answer.text).to.match(/^\/\*\*\/cb\(\{"error":\{"code":"room_not_found","message":".*"\}\}\);$/);
    });

    for (const callback of ['alert(1)', '1abc', 'a..b', 'x'.repeat(129), '']) {
      it(`refuses the callback ${JSON.stringify(callback.slice(0, 12))} with 400 JSON invalid_callback`, async () => {
        const answer = await call(harness, 'GET', `/api/rooms?callback=${encodeURIComponent(callback)}`);
        expect(answer.status).to.equal(400);
        expect(answer.headers.get('content-type')).to.equal('application/json; charset=utf-8');
        expect(answer.json.error.code).to.equal('invalid_callback');
      });
    }

    it('ignores a callback on a write and answers it as JSON', async () => {
      const session = await newSession(harness);
      const answer = await call(harness, 'POST', `/api/rooms/${uniqueRoom()}/enter?callback=cb`, { session });
      expect(answer.status).to.equal(200);
      expect(answer.headers.get('content-type')).to.equal('application/json; charset=utf-8');
    });
  });

  describe('headers and fallbacks', () => {
    it('sends Cache-Control: no-store and nosniff on API answers', async () => {
      const answer = await call(harness, 'GET', '/api/rooms');
      expect(answer.headers.get('cache-control')).to.equal('no-store');
      expect(answer.headers.get('x-content-type-options')).to.equal('nosniff');
    });

    it('sends Referrer-Policy and X-Frame-Options on every answer, errors included, and no HSTS over plain HTTP', async () => {
      for (const path of ['/api/rooms', '/api/nothing-here', '/healthz', '/']) {
        const answer = await call(harness, 'GET', path);
        expect(answer.headers.get('referrer-policy'), path).to.equal('same-origin');
        expect(answer.headers.get('x-frame-options'), path).to.equal('DENY');
        expect(answer.headers.get('strict-transport-security'), path).to.equal(null);
      }
    });

    it('does not forbid framing the embeddable badge', async () => {
      const answer = await call(harness, 'GET', `/badge/${uniqueRoom()}.svg`);
      expect(answer.headers.get('x-frame-options')).to.equal(null);
      expect(answer.headers.get('x-content-type-options')).to.equal('nosniff');
    });

    it('sends HSTS and a Secure session cookie when a trusted proxy says the request came over TLS', async () => {
      const answer = await call(harness, 'POST', '/api/session', { json: { nickname: 'tls' }, headers: { 'x-forwarded-proto': 'https' } });
      expect(answer.status).to.equal(201);
      expect(answer.headers.get('strict-transport-security')).to.equal('max-age=31536000');
      expect(answer.headers.get('set-cookie')).to.match(/; HttpOnly; SameSite=Lax; Secure$/);
      const plain = await call(harness, 'POST', '/api/session', { json: { nickname: 'plain' } });
      expect(plain.headers.get('set-cookie')).to.match(/; HttpOnly; SameSite=Lax$/);
    });

    it('answers an unknown path with 404 not_found as JSON', async () => {
      const answer = await call(harness, 'GET', '/api/nothing-here');
      expect(answer.status).to.equal(404);
      expect(answer.json.error.code).to.equal('not_found');
      expect(answer.headers.get('x-content-type-options')).to.equal('nosniff');
    });

    it('answers a wrong method with 405 method_not_allowed as JSON and an Allow header', async () => {
      const answer = await call(harness, 'PUT', '/api/session', { json: { nickname: 'x' } });
      expect(answer.status).to.equal(405);
      expect(answer.json.error.code).to.equal('method_not_allowed');
      expect(answer.headers.get('allow')).to.include('POST');
    });

    it('answers GET /healthz with ok and the role', async () => {
      const answer = await call(harness, 'GET', '/healthz');
      expect(answer.status).to.equal(200);
      expect(answer.json).to.deep.equal({ ok: true, role: 'web' });
    });
  });
});
