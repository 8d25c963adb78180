import { expect } from 'chai';
import { ObserveLoop, fetchTransport, streamTransport, type ObserveTransport } from '@parley/client';
import type { ChatEvent } from '@parley/protocol';
import { sleep } from '../src/wait.js';
import { createSession, enterRoom, say, uniqueRoom } from './helpers/api.js';
import { useCluster } from './helpers/cluster-fixture.js';
import { NodeEventSource } from './helpers/node-event-source.js';
import { clusterEntry, parkedOn } from './helpers/restarts.js';

/** The bound: observers parked on a frozen chatserver get their events from another one within this. */
const FROZEN_BOUND_MS = 10_000;
/** How long chatserver-1 stays frozen, saying all along: longer than every timeout on the way. */
const FREEZE_MS = 14_000;
const SAY_EVERY_MS = 500;
/** Observers of each transport, spread by nginx (least_conn) over the two chatservers. */
const OBSERVERS_PER_TRANSPORT = 6;

/** A third-party client's hold: DESIGN's default `wait`, carried by nginx in hops. */
const LONG_HOLD_SECONDS = 25;

interface Observer {
  transport: 'long-poll' | 'long hold' | 'stream';
  /** seq → when it arrived (Date.now()), first arrival; repeats are counted apart. */
  received: Map<number, number>;
  repeats: number;
  order: number[];
}

describe('cluster: a frozen chatserver (SIGSTOP)', function () {
  this.timeout(90_000);
  const fixture = useCluster();
  const loops: ObserveLoop[] = [];

  afterEach(() => {
    for (const loop of loops.splice(0)) loop.stop();
  });

  it('its observers, long-poll (5 s and 25 s holds) and stream, get every event from the other chatserver within 10 s', async () => {
    const { cluster } = fixture;
    const base = cluster.publicUrl;
    const room = uniqueRoom('freeze');
    const speaker = await createSession(base, 'speaker');
    const head = await enterRoom(base, speaker, room);

    // The real browser client: its observe loop over the long-poll, and over the stream (EventSource);
    // and the same loop asking a third-party client's 25 s hold.
    const transports: Array<[Observer['transport'], () => ObserveTransport, number | undefined]> = [
      ['long-poll', () => fetchTransport({ baseUrl: base }), undefined],
      ['long hold', () => fetchTransport({ baseUrl: base }), LONG_HOLD_SECONDS],
      ['stream', () => streamTransport({ baseUrl: base, fallback: fetchTransport({ baseUrl: base }), EventSource: NodeEventSource }), undefined],
    ];
    const observers: Observer[] = [];
    for (const [transport, make, waitSeconds] of transports) {
      for (let index = 0; index < OBSERVERS_PER_TRANSPORT; index++) {
        const observer: Observer = { transport, received: new Map(), repeats: 0, order: [] };
        const loop = new ObserveLoop({
          ...(waitSeconds === undefined ? {} : { waitSeconds }),
          transport: make(),
          onEvents: (events: ChatEvent[]) => {
            const now = Date.now();
            for (const event of events) {
              if (observer.received.has(event.seq)) observer.repeats++;
              else observer.received.set(event.seq, now);
              observer.order.push(event.seq);
            }
          },
        });
        loop.watch(room, head);
        loop.start();
        loops.push(loop);
        observers.push(observer);
      }
    }

    // Every observer live (a first say reached all), and chatserver-1 holding its share.
    const first = await say(base, speaker, room, 'before the freeze');
    const everyoneHas = (seq: number): boolean => observers.every((observer) => observer.received.has(seq));
    const deadline = Date.now() + 15_000;
    while (!everyoneHas(first.seq) || (await parkedOn(clusterEntry(cluster, 'chatserver-1'))) < OBSERVERS_PER_TRANSPORT / 2) {
      if (Date.now() > deadline) throw new Error(`observers not settled: ${observers.filter((o) => !o.received.has(first.seq)).length} without the first say`);
      await sleep(100);
    }
    const parkedOnFrozen = await parkedOn(clusterEntry(cluster, 'chatserver-1'));

    const acknowledged = new Map<number, number>();
    cluster.kill('chatserver', 1, 'SIGSTOP');
    try {
      const frozenUntil = Date.now() + FREEZE_MS;
      let line = 0;
      while (Date.now() < frozenUntil) {
        const event = await say(base, speaker, room, `during the freeze ${++line}`);
        acknowledged.set(event.seq, Date.now());
        await sleep(SAY_EVERY_MS);
      }
      const lastSeq = Math.max(...acknowledged.keys());
      const drainUntil = Date.now() + FROZEN_BOUND_MS + 5000;
      while (!everyoneHas(lastSeq) && Date.now() < drainUntil) await sleep(100);
    } finally {
      cluster.kill('chatserver', 1, 'SIGCONT');
    }

    const stalls: Record<Observer['transport'], number[]> = { 'long-poll': [], 'long hold': [], stream: [] };
    let missing = 0;
    for (const observer of observers) {
      for (const [seq, at] of acknowledged) {
        const got = observer.received.get(seq);
        if (got === undefined) missing++;
        else stalls[observer.transport].push(got - at);
      }
      expect(observer.repeats, `${observer.transport} observer: repeats`).to.equal(0);
      expect(observer.order, `${observer.transport} observer: order`).to.deep.equal([...observer.order].sort((a, b) => a - b));
    }
    const summary = (values: number[]): string => {
      const sorted = [...values].sort((a, b) => a - b);
      const p99 = sorted[Math.max(0, Math.ceil(sorted.length * 0.99) - 1)] ?? 0;
      return `p99=${p99} max=${sorted.at(-1) ?? 0}`;
    };
    console.log(
      `      frozen ${FREEZE_MS} ms, ${parkedOnFrozen} observes parked on it, ${acknowledged.size} says: ` +
        `long-poll ${summary(stalls['long-poll'])} ms, long hold ${summary(stalls['long hold'])} ms, stream ${summary(stalls.stream)} ms, missing ${missing}`,
    );
    expect(missing, 'events some observer never received').to.equal(0);
    for (const transport of ['long-poll', 'long hold', 'stream'] as const) {
      expect(Math.max(...stalls[transport]), `longest ${transport} stall`).to.be.at.most(FROZEN_BOUND_MS);
    }
  });
});
