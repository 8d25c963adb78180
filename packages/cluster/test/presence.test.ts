import { expect } from 'chai';
import type { ChatEvent, ObserveAnswer, RoomDetail } from '@parley/protocol';
import { collectEvents, createSession, enterRoom, json, uniqueRoom } from './helpers/api.js';
import { useCluster } from './helpers/cluster-fixture.js';

// Short on purpose, so the test sees a leave in seconds; production default is 120 s.
const PRESENCE_TIMEOUT_MS = 2000;
const PRESENCE_SWEEP_MS = 500;
// The promised bound on a leave: timeout + one sweep interval, plus 2 s for the sweep's own work and the fan-out.
const LEAVE_BOUND_MS = PRESENCE_TIMEOUT_MS + PRESENCE_SWEEP_MS + 2000;

/**
 * Observes `room` with 1 s polls until `until` (like an open page), as a session
 * or, with `session` undefined, anonymously; returns the events seen. Short polls
 * keep every observer's life inside the test's own window.
 */
async function observeUntil(
  baseUrl: string,
  session: string | undefined,
  room: string,
  seq: number,
  until: number,
): Promise<ChatEvent[]> {
  let cursor = `${room}:${seq}`;
  const events: ChatEvent[] = [];
  while (Date.now() < until) {
    const query = new URLSearchParams({ rooms: cursor, wait: '1' });
    // The token in the Authorization header: a URL never carries it (400 session_in_url).
    const answer = await json<ObserveAnswer>(`${baseUrl}/api/observe?${query}`, { expected: 200, timeoutMs: 10_000, ...(session === undefined ? {} : { session }) });
    events.push(...answer.events);
    cursor = answer.cursor;
  }
  return events;
}

async function occupants(baseUrl: string, room: string): Promise<string[]> {
  const detail = await json<RoomDetail>(`${baseUrl}/api/rooms/${room}`, { expected: 200 });
  return detail.occupants.map((occupant) => occupant.nickname).sort();
}

const presenceEvents = (events: ChatEvent[]): string[] =>
  events.filter((event) => event.type === 'enter' || event.type === 'leave').map((event) => `${event.type}:${event.nickname}`);

describe('cluster: presence follows observing', function () {
  this.timeout(30_000);
  const fixture = useCluster({
    env: { PARLEY_PRESENCE_TIMEOUT_MS: String(PRESENCE_TIMEOUT_MS), PARLEY_PRESENCE_SWEEP_MS: String(PRESENCE_SWEEP_MS) },
  });

  it('keeps observing sessions in the room past 3× the timeout: two tabs and a reconnect make no leave or enter', async () => {
    const base = fixture.cluster.publicUrl;
    const room = uniqueRoom('present');
    const alice = await createSession(base, 'alice');
    await enterRoom(base, alice, room);
    const bob = await createSession(base, 'bob');
    const head = await enterRoom(base, bob, room);
    const until = Date.now() + 3 * PRESENCE_TIMEOUT_MS + 1000;
    // Bob's one tab reloads halfway: a gap well inside the timeout, then the same session again.
    const reloadAt = Date.now() + 1.5 * PRESENCE_TIMEOUT_MS;
    const bobReloading = async (): Promise<void> => {
      await observeUntil(base, bob, room, head, reloadAt);
      await new Promise((resolve) => setTimeout(resolve, PRESENCE_TIMEOUT_MS / 2));
      await observeUntil(base, bob, room, head, until);
    };
    // Alice: two overlapping tabs of one session, each reconnecting after every
    // answer. An anonymous observer watches the room over the same window.
    const [, , , watched] = await Promise.all([
      observeUntil(base, alice, room, head, until),
      observeUntil(base, alice, room, head, until),
      bobReloading(),
      observeUntil(base, undefined, room, head, until),
    ]);
    expect(presenceEvents(watched)).to.deep.equal([]);
    expect(await occupants(base, room)).to.deep.equal(['alice', 'bob']);
  });

  it('makes a session that stopped observing leave once, within the stated bound', async () => {
    const base = fixture.cluster.publicUrl;
    const room = uniqueRoom('absent');
    const stayer = await createSession(base, 'stayer');
    const head = await enterRoom(base, stayer, room);
    const carol = await createSession(base, 'carol');
    await enterRoom(base, carol, room);
    // Carol observes once, briefly, then closes the page.
    await observeUntil(base, carol, room, head + 1, Date.now() + 500);
    const stoppedAt = Date.now();
    const stayerUntil = stoppedAt + LEAVE_BOUND_MS + 1000;
    const stayerLoop = observeUntil(base, stayer, room, head, stayerUntil);
    const events = await collectEvents(
      base,
      `${room}:${head + 1}`,
      (seen) => seen.some((event) => event.type === 'leave'),
      LEAVE_BOUND_MS + 5000,
    );
    const leftAfterMs = Date.now() - stoppedAt;
    expect(presenceEvents(events)).to.deep.equal(['leave:carol']);
    expect(leftAfterMs).to.be.at.most(LEAVE_BOUND_MS);
    expect(leftAfterMs).to.be.at.least(PRESENCE_TIMEOUT_MS - 500);
    expect(await occupants(base, room)).to.deep.equal(['stayer']);
    await stayerLoop;
    expect(await occupants(base, room)).to.deep.equal(['stayer']);
    // Exactly one leave: nothing more for carol, and the observing stayer never left.
    const after = await json<{ events: ChatEvent[] }>(`${base}/api/rooms/${room}/events?after=${head}`, { expected: 200 });
    expect(presenceEvents(after.events)).to.deep.equal(['enter:carol', 'leave:carol']);
  });
});
