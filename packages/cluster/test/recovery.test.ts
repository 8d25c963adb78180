import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { readClusterFile, type ClusterProcessInfo } from '../src/cluster-file.js';
import { sleep, waitForHealthy } from '../src/wait.js';
import { collectEvents, createSession, enterRoom, messages, request, say, uniqueRoom } from './helpers/api.js';
import { useCluster } from './helpers/cluster-fixture.js';
import {
  BACK_WITHIN_MS,
  DELIVERED_WITHIN_MS,
  awaitPromptDelivery,
  killNineAndAwaitBack,
  sayToParkedObserver,
} from './helpers/restarts.js';

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

  it('keeps a deliberately stopped Redis down until started, with its pid in cluster.json', async () => {
    const { cluster } = fixture;
    const redisEntry = (): ClusterProcessInfo => processEntry(cluster.runDir, 'redis');
    const before = redisEntry().pid;
    expect(before).to.be.a('number');
    await cluster.redis.stop();
    try {
      expect(redisEntry().pid).to.equal(null);
      // A crash would have been restarted twice by now (250 + 500 ms): a stop is an outage.
      await sleep(1000);
      expect(redisEntry().pid).to.equal(null);
      expect(cluster.redis.pid).to.equal(undefined);
    } finally {
      await cluster.redis.start();
    }
    const after = redisEntry().pid;
    expect(after).to.be.a('number').and.not.equal(before);
    await cluster.waitUntilReady(15_000);
  });

  it('restarts a SIGKILLed redis-server within 5 s; a say then reaches a parked observer within 1 s', async () => {
    const { cluster } = fixture;
    const ping = async (entry: ClusterProcessInfo): Promise<boolean> => {
      const client = new Redis(entry.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
      client.on('error', () => undefined);
      try {
        await client.connect();
        return (await client.ping()) === 'PONG';
      } finally {
        client.disconnect();
      }
    };
    const back = await killNineAndAwaitBack(cluster, 'redis', ping);
    expect(back.after.port, 'the same port').to.equal(back.before.port);
    expect(back.sawNullPid || back.backMs < 100, 'pid null in cluster.json while down').to.equal(true);
    console.log(`      redis back after ${back.backMs} ms`);
    await cluster.waitUntilReady(15_000);
    // Clients reconnect with their own backoff: prompt again within 5 s of being back.
    const probes = await awaitPromptDelivery(cluster, BACK_WITHIN_MS);
    console.log(`      delivering promptly again after ${probes} probe(s)`);
    expect(await sayToParkedObserver(cluster)).to.be.at.most(DELIVERED_WITHIN_MS);
  });

  it('restarts a SIGKILLed nginx on the same port and config within 5 s, its orphaned workers gone', async () => {
    const { cluster } = fixture;
    const master = processEntry(cluster.runDir, 'nginx').pid as number;
    const workers = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(' ').map(Number);
    expect(workers.length, 'nginx workers').to.be.at.least(1);
    const configBefore = readFileSync(join(cluster.runDir, 'nginx', 'nginx.conf'), 'utf8');
    const healthz = async (): Promise<boolean> => (await request(`${cluster.publicUrl}/healthz`, { timeoutMs: 1000 })).status === 200;

    const back = await killNineAndAwaitBack(cluster, 'nginx', healthz);
    expect(back.after.port).to.equal(back.before.port);
    console.log(`      nginx back after ${back.backMs} ms`);
    // The dead master's workers kept its listening socket: still there, they
    // would take connections next to the new master's workers forever.
    for (const pid of workers) expect(isAlive(pid), `old worker ${pid}`).to.equal(false);
    expect(readFileSync(join(cluster.runDir, 'nginx', 'nginx.conf'), 'utf8')).to.equal(configBefore);
    await cluster.waitUntilReady(15_000);
    // Clients reconnect with their own backoff: prompt again within 5 s of being back.
    const probes = await awaitPromptDelivery(cluster, BACK_WITHIN_MS);
    console.log(`      delivering promptly again after ${probes} probe(s)`);
    expect(await sayToParkedObserver(cluster)).to.be.at.most(DELIVERED_WITHIN_MS);
  });

  it('names every process it keeps alive in cluster.json, each with a live pid', () => {
    const { cluster } = fixture;
    const entries = readClusterFile(join(cluster.runDir, 'cluster.json'));
    expect(entries.map((entry) => entry.name)).to.deep.equal(['redis', 'web-1', 'web-2', 'worker-1', 'chatserver-1', 'chatserver-2', 'nginx']);
    for (const entry of entries) expect(isAlive(entry.pid as number), entry.name).to.equal(true);
  });
});

/** Whether `pid` runs (a zombie, killed but not yet reaped by its new parent, does not). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
