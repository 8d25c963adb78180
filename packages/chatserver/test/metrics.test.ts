import { expect } from 'chai';
import { Registry } from 'prom-client';
import { ChatServerMetrics } from '../src/metrics.js';
import { get, useChatFixture } from './support/harness.js';
import { messageEvent } from './support/web-stand-in.js';
import { sample } from '../../protocol/test/helpers/metric-sample.js';

const event = (seq: number, at: number, text = 'hi'): string =>
  JSON.stringify({ room: 'lobby', seq, type: 'message', at, nickname: 'alice', text, id: `e${seq}` });

describe('chatserver metrics', () => {
  let registry: Registry;
  let metrics: ChatServerMetrics;
  let parked: number;

  beforeEach(() => {
    registry = new Registry();
    parked = 0;
    metrics = new ChatServerMetrics(registry, {
      parkedObservers: () => parked,
      rooms: () => 3,
      repairCounts: () => ({ requests: 4, advanced: 2 }),
    });
  });

  /** One series' value in the Prometheus text the registry serves. */
  async function value(series: string): Promise<number | undefined> {
    return sample(await registry.metrics(), series);
  }

  it('observes the lag of the oldest event once per answer body and counts its events', async () => {
    const now = 1_000_000;
    // Two rooms, three events; the oldest was accepted 2.5 s ago.
    metrics.bodyBuilt([[event(1, now - 2500), event(2, now - 100)], [], [event(7, now - 40)]], now);
    expect(await value('parley_delivery_lag_seconds_count')).to.equal(1);
    expect(await value('parley_delivery_lag_seconds_sum')).to.equal(2.5);
    expect(await value('parley_delivery_lag_seconds_bucket{le="2.5"}')).to.equal(1);
    expect(await value('parley_delivery_lag_seconds_bucket{le="1"}')).to.equal(0);
    expect(await value('parley_answer_events_total')).to.equal(3);
  });

  it('does not take an "at" inside a message text for the event time', async () => {
    const now = 1_000_000;
    // The text comes before the real field here, so a naive search would find it first.
    const tricky = JSON.stringify({ room: 'lobby', seq: 1, type: 'message', text: '"at":1 is not a time', at: now - 1000, nickname: 'a', id: 'e1' });
    metrics.bodyBuilt([[tricky]], now);
    expect(await value('parley_delivery_lag_seconds_sum')).to.equal(1);
  });

  it('observes nothing for an answer body without events', async () => {
    metrics.bodyBuilt([[], []]);
    expect(await value('parley_delivery_lag_seconds_count')).to.equal(0);
    expect(await value('parley_answer_events_total')).to.equal(0);
  });

  it('reports the plain counters and the scrape-time gauges', async () => {
    metrics.answerWritten();
    metrics.answerWritten();
    metrics.observeRefused();
    metrics.notificationReceived();
    parked = 5;
    expect(await value('parley_observe_answers_total')).to.equal(2);
    expect(await value('parley_observes_refused_total')).to.equal(1);
    expect(await value('parley_notifications_received_total')).to.equal(1);
    expect(await value('parley_parked_observes')).to.equal(5);
    expect(await value('parley_rooms')).to.equal(3);
    expect(await value('parley_repair_requests_total')).to.equal(4);
    expect(await value('parley_gaps_repaired_total')).to.equal(2);
    // A second scrape reports the same totals, not twice them.
    expect(await value('parley_observe_answers_total')).to.equal(2);
  });
});

describe('chatserver GET /metrics', () => {
  const { fixture } = useChatFixture({ env: { PARLEY_CHAT_MAX_OBSERVERS: '1' } });

  async function scrape(): Promise<string> {
    const answer = await get(`http://127.0.0.1:${fixture.ports.internalPort}/metrics`);
    expect(answer.status).to.equal(200);
    expect(answer.headers.get('content-type')).to.equal('text/plain; version=0.0.4; charset=utf-8');
    return answer.text;
  }

  it('is served on the internal port only', async () => {
    expect((await get(`http://127.0.0.1:${fixture.ports.publicPort}/metrics`)).status).to.equal(404);
    expect(sample(await scrape(), 'parley_parked_observes')).to.equal(0);
  });

  it('counts the parked observe, the refused one, the notification and the delivery', async () => {
    const parked = get(fixture.observeUrl('rooms=lobby:0&wait=5'));
    await fixture.waitForParked(1);
    expect(sample(await scrape(), 'parley_parked_observes')).to.equal(1);
    // The limit is one: the second is refused with 503.
    expect((await get(fixture.observeUrl('rooms=lobby:0&wait=5'))).status).to.equal(503);

    expect(await fixture.notify([messageEvent('lobby', 1)])).to.equal(204);
    expect(JSON.parse((await parked).text).events).to.have.length(1);
    const text = await scrape();
    expect(sample(text, 'parley_observes_refused_total')).to.equal(1);
    expect(sample(text, 'parley_notifications_received_total')).to.equal(1);
    expect(sample(text, 'parley_observe_answers_total')).to.equal(1);
    expect(sample(text, 'parley_answer_events_total')).to.equal(1);
    expect(sample(text, 'parley_delivery_lag_seconds_count')).to.equal(1);
    expect(sample(text, 'parley_parked_observes')).to.equal(0);
  });
});
