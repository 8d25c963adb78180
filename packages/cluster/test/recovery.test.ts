import { join } from 'node:path';
import { expect } from 'chai';
import { readClusterFile, type ClusterProcessInfo } from '../src/cluster-file.js';
import { sleep, waitForHealthy } from '../src/wait.js';
import { collectEvents, createSession, enterRoom, messages, say, uniqueRoom } from './helpers/api.js';
import { useCluster } from './helpers/cluster-fixture.js';

function processEntry(runDir: string, name: string): ClusterProcessInfo {
  const entry = readClusterFile(join(runDir, 'cluster.json')).find((candidate) => candidate.name === name);
  if (!entry) throw new Error(`${name} is not in cluster.json`);
  return entry;
}

// Delivery through faults under steady traffic is faults.test.ts; this file
// checks the supervisor's part: restarts, pids in cluster.json.
describe('cluster: recovery', function () {
  this.timeout(45_000);
  const fixture = useCluster();

  it('restarts a SIGKILLed chatserver and records its new pid in cluster.json', async () => {
    const { cluster } = fixture;
    const before = processEntry(cluster.runDir, 'chatserver-1');
    expect(before.pid).to.be.a('number');

    cluster.kill('chatserver', 1, 'SIGKILL');
    const deadline = Date.now() + 15_000;
    let after = processEntry(cluster.runDir, 'chatserver-1');
    while (after.pid === null || after.pid === before.pid) {
      if (Date.now() > deadline) throw new Error(`chatserver-1 was not restarted (pid ${after.pid})`);
      await sleep(100);
      after = processEntry(cluster.runDir, 'chatserver-1');
    }
    expect(after.port).to.equal(before.port);
    await waitForHealthy(`http://127.0.0.1:${after.port}/healthz`, 15_000);
    await cluster.waitUntilReady(15_000);
  });

  it('delivers through a restarted chatserver', async () => {
    const { cluster } = fixture;
    const restarted = processEntry(cluster.runDir, 'chatserver-1');
    const room = uniqueRoom('restarted');
    const alice = await createSession(cluster.publicUrl, 'alice');
    const head = await enterRoom(cluster.publicUrl, alice, room);
    const observer = collectEvents(`http://127.0.0.1:${restarted.port}`, `${room}:${head}`, (events) => events.length >= 1, 15_000);
    await say(cluster.publicUrl, alice, room, 'after the restart');
    const events = await observer;
    expect(messages(events).map((event) => [event.seq, event.text])).to.deep.equal([[head + 1, 'after the restart']]);
  });

  it('records the Redis pid in cluster.json across a stop and a start', async () => {
    const { cluster } = fixture;
    const redisEntry = (): ClusterProcessInfo => processEntry(cluster.runDir, 'redis');
    const before = redisEntry().pid;
    expect(before).to.be.a('number');
    await cluster.redis.stop();
    try {
      expect(redisEntry().pid).to.equal(null);
    } finally {
      await cluster.redis.start();
    }
    const after = redisEntry().pid;
    expect(after).to.be.a('number').and.not.equal(before);
    await cluster.waitUntilReady(15_000);
  });
});
