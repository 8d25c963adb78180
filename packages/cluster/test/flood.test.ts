import { expect } from 'chai';
import { sleep } from '../src/wait.js';
import { createSession, enterRoom, observe, request, say, uniqueRoom } from './helpers/api.js';
import { useCluster } from './helpers/cluster-fixture.js';
import { startSlowloris, type Slowloris } from './helpers/slowloris.js';

// The flood: 5,000 slowloris connections from one address filled the
// old 4,096 worker_connections. `npm run test:attack` replays it (and slow
// read) with slowhttptest for longer.
const SLOW_CONNECTIONS = 5000;
/** A person's say and read must stay under this during the flood. */
const PERSON_BOUND_MS = 1000;
/** nginx's client_header_timeout (5 s) plus slack for a loaded machine, from the last connection's opening. */
const HEADER_TIMEOUT_BOUND_MS = 9000;

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)] ?? 0;
}

describe('cluster: floods and hostile paths through nginx', function () {
  this.timeout(90_000);
  const fixture = useCluster();
  let flood: Slowloris | undefined;

  afterEach(() => {
    flood?.stop();
    flood = undefined;
  });

  it('keeps a person under 1 s during 5,000 slowloris connections from one address, and drops them after the header timeout', async () => {
    const base = fixture.cluster.publicUrl;
    const session = await createSession(base, 'person');
    const room = uniqueRoom('flood');
    const head = await enterRoom(base, session, room);
    const port = Number(new URL(base).port);

    flood = await startSlowloris({ port, connections: SLOW_CONNECTIONS });
    // The last connection opened now; on a loaded machine opening 5,000 takes seconds.
    const allOpenAt = Date.now();
    expect(flood.opened, 'slow connections nginx accepted').to.be.above(SLOW_CONNECTIONS * 0.95);

    const sayMs: number[] = [];
    const deliverMs: number[] = [];
    let cursor = head;
    for (let index = 0; index < 10; index++) {
      const observing = observe(base, `${room}:${cursor}`, 5);
      const startedAt = Date.now();
      const event = await say(base, session, room, `during the flood ${index}`);
      sayMs.push(Date.now() - startedAt);
      const answer = await observing;
      deliverMs.push(Date.now() - startedAt);
      expect(answer.events.map((received) => received.seq)).to.deep.equal([event.seq]);
      cursor = event.seq;
      const read = Date.now();
      expect((await request(`${base}/api/rooms/${room}/events?after=0`)).status).to.equal(200);
      sayMs.push(Date.now() - read);
      await sleep(100);
    }
    console.log(`      slowloris=${flood.opened} say/read p99=${p99(sayMs)} ms max=${Math.max(...sayMs)} ms deliver p99=${p99(deliverMs)} ms`);
    expect(p99(sayMs), 'say and read p99 during the flood').to.be.below(PERSON_BOUND_MS);
    expect(p99(deliverMs), 'say to delivery p99 during the flood').to.be.below(PERSON_BOUND_MS);

    // client_header_timeout ends every connection whose header never completes.
    const deadline = allOpenAt + HEADER_TIMEOUT_BOUND_MS;
    while (flood.closedByServer < flood.opened * 0.99 && Date.now() < deadline) await sleep(100);
    expect(flood.closedByServer, 'slow connections nginx closed').to.be.at.least(flood.opened * 0.99);
  });

  it('never serves /metrics or /internal/ in any spelling', async () => {
    const base = fixture.cluster.publicUrl;
    for (const path of ['/metrics', '/METRICS', '/Metrics', '/metrics/', '/%6Detrics', '//metrics', '/INTERNAL/heads', '/internal%2Fheads', '/Internal/rooms/lobby/events']) {
      const answer = await request(`${base}${path}`);
      expect(answer.status, path).to.equal(404);
      expect(answer.text, path).to.not.include('parley_');
      expect(JSON.parse(answer.text).error.code, path).to.equal('not_found');
    }
  });
});
