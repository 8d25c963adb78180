import { join } from 'node:path';
import { expect } from 'chai';
import { readClusterFile } from '../src/cluster-file.js';
import { collectEvents, createSession, enterRoom, messages, request, say, uniqueRoom } from './helpers/api.js';
import { useCluster } from './helpers/cluster-fixture.js';
import { sample } from '../../protocol/test/helpers/metric-sample.js';

const METRICS_TOKEN = 'metrics-test-token';
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

describe('cluster: /metrics of every process', function () {
  this.timeout(40_000);
  const fixture = useCluster({ env: { PARLEY_METRICS_TOKEN: METRICS_TOKEN } });

  /** The direct /metrics URL of every web, worker and chatserver (chatservers: the internal port). */
  function metricsUrls(role: 'web' | 'worker' | 'chatserver'): string[] {
    return readClusterFile(join(fixture.cluster.runDir, 'cluster.json'))
      .filter((entry) => entry.role === role)
      .map((entry) => `http://127.0.0.1:${role === 'chatserver' ? entry.internalPort : entry.port}/metrics`);
  }

  async function scrape(url: string): Promise<string> {
    const answer = await request(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(answer.status, `${url}: ${answer.text.slice(0, 200)}`).to.equal(200);
    return answer.text;
  }

  /** Sum of one sample over every process of `role`. */
  async function total(role: 'web' | 'worker' | 'chatserver', name: string, labels = ''): Promise<number> {
    const texts = await Promise.all(metricsUrls(role).map(scrape));
    return texts.reduce((sum, text) => sum + (sample(text, name, labels) ?? Number.NaN), 0);
  }

  it('answers Prometheus text with process metrics on every role', async () => {
    for (const role of ['web', 'worker', 'chatserver'] as const) {
      const urls = metricsUrls(role);
      expect(urls, role).to.have.length(role === 'worker' ? 1 : 2);
      for (const url of urls) {
        const answer = await request(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
        expect(answer.status, url).to.equal(200);
        expect(answer.headers.get('content-type'), url).to.equal(PROMETHEUS_TEXT);
        expect(sample(answer.text, 'parley_process_resident_memory_bytes'), url).to.be.greaterThan(0);
        expect(sample(answer.text, 'parley_process_open_fds'), url).to.be.greaterThan(0);
      }
    }
    const worker = await scrape(metricsUrls('worker')[0] as string);
    expect(sample(worker, 'parley_queue_up')).to.equal(1);
    expect(sample(worker, 'parley_registry_chatservers')).to.equal(2);
  });

  it('refuses a scrape without the bearer token with 401', async () => {
    for (const url of [...metricsUrls('web'), ...metricsUrls('worker'), ...metricsUrls('chatserver')]) {
      const missing = await request(url);
      expect(missing.status, url).to.equal(401);
      const wrong = await request(url, { headers: { authorization: 'Bearer not-the-token' } });
      expect(wrong.status, url).to.equal(401);
      expect(JSON.parse(wrong.text).error.code, url).to.equal('unauthorized');
    }
  });

  it('counts one say on the web tier, the worker and the chatserver that delivered it', async () => {
    const { cluster } = fixture;
    const room = uniqueRoom('metrics');
    const alice = await createSession(cluster.publicUrl, 'alice');
    const head = await enterRoom(cluster.publicUrl, alice, room);
    // Let the enter's own notification settle so only the say moves the counters below.
    await collectEvents(cluster.publicUrl, `${room}:${head - 1}`, (events) => events.length >= 1, 10_000);
    await waitFor(async () => {
      const pending = (await total('worker', 'parley_queue_jobs', 'state="waiting"')) + (await total('worker', 'parley_queue_jobs', 'state="active"'));
      return pending === 0;
    }, 10_000);

    const before = {
      says: await total('web', 'parley_says_total', 'outcome="ok"'),
      sayDurations: await total('web', 'parley_say_duration_seconds_count', 'outcome="ok"'),
      created: await total('web', 'parley_http_responses_total', 'class="2xx"'),
      answers: await total('chatserver', 'parley_observe_answers_total'),
      events: await total('chatserver', 'parley_answer_events_total'),
      lags: await total('chatserver', 'parley_delivery_lag_seconds_count'),
      notifications: await total('chatserver', 'parley_notifications_received_total'),
      jobs: await total('worker', 'parley_notify_jobs_total', 'result="completed"'),
      posts: await total('worker', 'parley_notify_post_duration_seconds_count', 'result="ok"'),
    };

    // One observer, parked (the gauge shows it) before the say arrives.
    const observer = collectEvents(cluster.publicUrl, `${room}:${head}`, (events) => messages(events).length >= 1, 15_000);
    await waitFor(async () => (await total('chatserver', 'parley_parked_observes')) >= 1, 10_000);
    await say(cluster.publicUrl, alice, room, 'counted once');
    expect(messages(await observer).map((event) => event.text)).to.deep.equal(['counted once']);
    // The worker counts its job after the chatservers answered; give the completion a moment.
    await waitFor(async () => (await total('worker', 'parley_notify_jobs_total', 'result="completed"')) > before.jobs, 10_000);

    expect(await total('web', 'parley_says_total', 'outcome="ok"')).to.equal(before.says + 1);
    expect(await total('web', 'parley_say_duration_seconds_count', 'outcome="ok"')).to.equal(before.sayDurations + 1);
    // The say's 201 among them (scrapes are 200s too, hence only a lower bound).
    expect(await total('web', 'parley_http_responses_total', 'class="2xx"')).to.be.greaterThan(before.created);
    expect(await total('worker', 'parley_notify_jobs_total', 'result="completed"')).to.equal(before.jobs + 1);
    // One POST to each of the two chatservers, each told once.
    expect(await total('worker', 'parley_notify_post_duration_seconds_count', 'result="ok"')).to.equal(before.posts + 2);
    expect(await total('chatserver', 'parley_notifications_received_total')).to.equal(before.notifications + 2);
    // One answer, one body with one event, one lag observation.
    expect(await total('chatserver', 'parley_observe_answers_total')).to.equal(before.answers + 1);
    expect(await total('chatserver', 'parley_answer_events_total')).to.equal(before.events + 1);
    expect(await total('chatserver', 'parley_delivery_lag_seconds_count')).to.equal(before.lags + 1);
    expect(await total('chatserver', 'parley_parked_observes')).to.equal(0);
  });
});

/** Polls `check` every 50 ms until it holds, or fails after `timeoutMs`. */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
