import { expect } from 'chai';
import { call, newSession, settle, startHarness, uniqueRoom, type RedisHarness } from './harness.js';
import { sample } from '../../protocol/test/helpers/metric-sample.js';

const TOKEN = 'web-metrics-token';

describe('web metrics', function () {
  this.timeout(20_000);

  describe('with a token', () => {
    let harness: RedisHarness;

    beforeEach(async () => {
      harness = await startHarness({ metrics: true, env: { PARLEY_METRICS_TOKEN: TOKEN } });
    });

    afterEach(async () => {
      await harness?.close();
    });

    async function scrape(): Promise<string> {
      const answer = await call(harness, 'GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(answer.status).to.equal(200);
      expect(answer.headers.get('content-type')).to.equal('text/plain; version=0.0.4; charset=utf-8');
      return answer.text;
    }

    it('counts and times says by outcome', async () => {
      const session = await newSession(harness, 'alice');
      const room = uniqueRoom();
      await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
      const before = await scrape();
      expect(sample(before, 'parley_says_total{outcome="ok"}')).to.equal(0);

      expect((await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: 'hello' } })).status).to.equal(201);
      expect((await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: '' } })).status).to.equal(400);

      const after = await scrape();
      expect(sample(after, 'parley_says_total{outcome="ok"}')).to.equal(1);
      expect(sample(after, 'parley_says_total{outcome="refused"}')).to.equal(1);
      expect(sample(after, 'parley_says_total{outcome="failed"}')).to.equal(0);
      expect(sample(after, 'parley_say_duration_seconds_count{outcome="ok"}')).to.equal(1);
      expect(sample(after, 'parley_say_duration_seconds_bucket{le="+Inf",outcome="ok"}')).to.equal(1);
      expect(sample(after, 'parley_http_responses_total{class="4xx"}')).to.equal(1);
    });

    it('shows the outbox waiting while Redis is down, and the failed enqueue', async () => {
      const session = await newSession(harness, 'alice');
      const room = uniqueRoom();
      await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
      await settle(harness);
      expect(sample(await scrape(), 'parley_outbox_depth')).to.equal(0);

      await harness.redis.stop();
      expect((await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: 'during the outage' } })).status).to.equal(201);
      const during = await scrape();
      expect(sample(during, 'parley_outbox_depth')).to.equal(1);
      expect(sample(during, 'parley_notify_enqueue_failures_total')).to.equal(1);
      await harness.redis.start();
    });

    it('serves only the exact path: other cases and a trailing slash are 404', async () => {
      for (const path of ['/METRICS', '/Metrics', '/metrics/', '/INTERNAL/heads', '/Healthz', '/healthz/', '/API/rooms', '/api/rooms/']) {
        const answer = await call(harness, 'GET', path, { headers: { authorization: `Bearer ${TOKEN}` } });
        expect(answer.status, path).to.equal(404);
        expect(answer.json.error.code, path).to.equal('not_found');
      }
    });

    it('answers 405 to anything but GET', async () => {
      const answer = await call(harness, 'POST', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(answer.status).to.equal(405);
      expect(answer.json.error.code).to.equal('method_not_allowed');
    });
  });

  it('needs the bearer token when PARLEY_METRICS_TOKEN is set', async () => {
    const harness = await startHarness({ metrics: true, env: { PARLEY_METRICS_TOKEN: TOKEN } });
    try {
      const refused = await call(harness, 'GET', '/metrics');
      expect(refused.status).to.equal(401);
      expect(refused.json.error.code).to.equal('unauthorized');
      const allowed = await call(harness, 'GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(allowed.status).to.equal(200);
      expect(sample(allowed.text, 'parley_outbox_depth')).to.equal(0);
    } finally {
      await harness.close();
    }
  });

  it('serves no metrics without PARLEY_METRICS_TOKEN: /metrics in any spelling is 404 with no sample', async () => {
    const harness = await startHarness({ metrics: true });
    try {
      for (const path of ['/metrics', '/METRICS', '/Metrics', '/metrics/', '/metrics?x=1']) {
        for (const headers of [{}, { authorization: 'Bearer ' }]) {
          const answer = await call(harness, 'GET', path, { headers });
          expect(answer.status, path).to.equal(404);
          expect(answer.text, path).not.to.include('parley_');
        }
      }
    } finally {
      await harness.close();
    }
  });
});
