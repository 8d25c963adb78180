import { expect } from 'chai';
import { sleep } from '../src/wait.js';
import { createSession, enterRoom, messages, say, uniqueRoom } from './helpers/api.js';
import { useCluster } from './helpers/cluster-fixture.js';
import { followStream, openEventStream, type StreamFollower } from './helpers/event-stream.js';
import { clusterEntry, parkedObserves, parkedOn } from './helpers/restarts.js';
import type { ClusterHandle } from '../src/supervisor.js';

/** The chatserver (`chatserver-1` or `-2`) holding the one open observe, by its parked gauge. */
async function holderOf(cluster: ClusterHandle, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const index of [1, 2]) {
      // A chatserver just killed answers nothing: not the holder.
      if ((await parkedOn(clusterEntry(cluster, `chatserver-${index}`)).catch(() => 0)) === 1) return index;
    }
    if (Date.now() > deadline) throw new Error(`no chatserver holds the stream after ${timeoutMs} ms`);
    await sleep(50);
  }
}

describe('cluster: the observe stream through nginx', function () {
  this.timeout(60_000);
  const fixture = useCluster();
  const followers: StreamFollower[] = [];

  afterEach(() => {
    for (const follower of followers.splice(0)) follower.close();
  });

  it('delivers each event once, in order, across a chatserver kill and a SIGTERM', async () => {
    const { cluster } = fixture;
    const room = uniqueRoom('stream');
    const alice = await createSession(cluster.publicUrl, 'alice');
    const head = await enterRoom(cluster.publicUrl, alice, room);
    const follower = followStream(`${cluster.publicUrl}/api/observe/stream?rooms=${room}:${head}`);
    followers.push(follower);
    const said: number[] = [];
    const sayMany = async (count: number): Promise<void> => {
      for (let n = 0; n < count; n++) said.push((await say(cluster.publicUrl, alice, room, `line ${said.length + 1}`)).seq);
    };
    await sayMany(3);
    await follower.until((events) => messages(events).length >= 3, 10_000, 'the first lines');
    // A crash: the stream breaks mid-answer; the client comes back through nginx with its cursor.
    cluster.kill('chatserver', await holderOf(cluster, 5000), 'SIGKILL');
    await sayMany(3);
    await follower.until((events) => messages(events).length >= 6, 15_000, 'the lines said during the crash');
    // A shutdown: the chatserver ends the stream, the client moves on with its cursor.
    await cluster.waitUntilReady(15_000);
    cluster.kill('chatserver', await holderOf(cluster, 10_000), 'SIGTERM');
    await sayMany(3);
    await follower.until((events) => messages(events).length >= 9, 15_000, 'the lines said during the shutdown');
    await cluster.waitUntilReady(15_000);
    await sayMany(1);
    await follower.until((events) => messages(events).length >= 10, 10_000, 'the last line');
    const seen = messages(follower.events);
    expect(seen.map((event) => event.seq)).to.deep.equal(said);
    expect(seen.map((event) => event.text)).to.deep.equal(said.map((_, index) => `line ${index + 1}`));
    expect(follower.opened).to.be.at.least(3);
  });

  it('resumes exactly after Last-Event-ID, then streams live, unbuffered by nginx', async () => {
    const { cluster } = fixture;
    const room = uniqueRoom('resume');
    const bob = await createSession(cluster.publicUrl, 'bob');
    const head = await enterRoom(cluster.publicUrl, bob, room);
    const earlier = [];
    for (let n = 1; n <= 4; n++) earlier.push(await say(cluster.publicUrl, bob, room, `earlier ${n}`));
    const reader = await openEventStream(`${cluster.publicUrl}/api/observe/stream?rooms=${room}`, { 'last-event-id': `${room}:${head + 2}` });
    try {
      expect(reader.status).to.equal(200);
      expect(reader.headers.get('content-type')).to.equal('text/event-stream; charset=utf-8');
      await reader.until((r) => r.messages.length >= 3, 5000, 'the ready event and the two missed events');
      expect(reader.messages.map((message) => [message.event, message.id])).to.deep.equal([
        ['ready', `${room}:${head + 2}`],
        ['message', `${room}:${head + 3}`],
        ['message', `${room}:${head + 4}`],
      ]);
      expect(reader.messages.slice(1).map((message) => JSON.parse(message.data))).to.deep.equal(earlier.slice(2));
      // Live: through nginx within a moment of the say (nothing buffers it).
      const saidAt = Date.now();
      const live = await say(cluster.publicUrl, bob, room, 'live');
      // A buffering proxy would hold the event until its buffer fills (minutes); 5 s leaves room for a loaded CI machine.
      await reader.until((r) => r.messages.length >= 4, 5000, 'the live event');
      expect(Date.now() - saidAt).to.be.below(5000);
      expect(JSON.parse(reader.messages[3]?.data ?? '')).to.deep.equal(live);
    } finally {
      reader.close();
    }
    expect(await parkedObserves(cluster)).to.be.at.most(1);
  });
});
