import { join } from 'node:path';
import { readClusterFile, type ClusterProcessInfo } from '../../src/cluster-file.js';
import type { ClusterHandle } from '../../src/supervisor.js';
import { sleep } from '../../src/wait.js';
import { createSession, enterRoom, messages, observe, request, say, uniqueRoom } from './api.js';

/** The bound on a killed server being back: new pid in cluster.json, serving. */
export const BACK_WITHIN_MS = 5000;
/** The bound from a say to a parked observer once everything is back. */
export const DELIVERED_WITHIN_MS = 1000;

/** The `cluster.json` entry named `name` (`redis`, `nginx`, `postgres`, `web-1`, …). */
export function clusterEntry(cluster: ClusterHandle, name: string): ClusterProcessInfo {
  const entry = readClusterFile(join(cluster.runDir, 'cluster.json')).find((candidate) => candidate.name === name);
  if (!entry) throw new Error(`${name} is not in cluster.json`);
  return entry;
}

/** What `killNineAndAwaitBack` saw. */
export interface Comeback {
  before: ClusterProcessInfo;
  after: ClusterProcessInfo;
  /** From the kill to the new pid in cluster.json and `serving` answering true. */
  backMs: number;
  /** `cluster.json` showed `null` for the pid while it was down. */
  sawNullPid: boolean;
}

/**
 * `kill -9` of the process `name` by the pid `cluster.json` lists, as a user
 * would do it, then polls until `cluster.json` lists a new pid and `serving`
 * says the new process serves. Fails after `boundMs`.
 */
export async function killNineAndAwaitBack(
  cluster: ClusterHandle,
  name: string,
  serving: (entry: ClusterProcessInfo) => Promise<boolean>,
  boundMs = BACK_WITHIN_MS,
): Promise<Comeback> {
  const before = clusterEntry(cluster, name);
  if (before.pid === null) throw new Error(`${name} is not running`);
  const killedAt = Date.now();
  process.kill(before.pid, 'SIGKILL');
  let sawNullPid = false;
  for (;;) {
    const after = clusterEntry(cluster, name);
    if (after.pid === null) sawNullPid = true;
    if (after.pid !== null && after.pid !== before.pid && (await serving(after).catch(() => false))) {
      return { before, after, backMs: Date.now() - killedAt, sawNullPid };
    }
    if (Date.now() - killedAt > boundMs) {
      throw new Error(`${name} was not back within ${boundMs} ms (pid in cluster.json: ${after.pid}, was ${before.pid})`);
    }
    await sleep(25);
  }
}

/** Parked observes (long-polls and streams) on one chatserver, from its internal `/metrics`. */
export async function parkedOn(chatserver: Pick<ClusterProcessInfo, 'internalPort'>): Promise<number> {
  const answer = await request(`http://127.0.0.1:${chatserver.internalPort}/metrics`, { timeoutMs: 2000 });
  const line = answer.text.split('\n').find((candidate) => candidate.startsWith('parley_parked_observes '));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

/** Parked observes over every chatserver. */
export async function parkedObserves(cluster: ClusterHandle): Promise<number> {
  let total = 0;
  for (const entry of cluster.processes().filter((candidate) => candidate.role === 'chatserver')) total += await parkedOn(entry);
  return total;
}

/**
 * Waits (bounded) until the whole path delivers promptly again: a say through
 * nginx reaches a parked observer within `DELIVERED_WITHIN_MS`. Clients of a
 * restarted server reconnect with their own backoff (BullMQ's blocking
 * connection waits at least 1 s between attempts); until they have, a say is
 * delivered late, by the outbox relay or the catch-up. Resolves with the
 * probes it took.
 */
export async function awaitPromptDelivery(cluster: ClusterHandle, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (let probes = 1; ; probes++) {
    const tookMs = await sayToParkedObserver(cluster);
    if (tookMs <= DELIVERED_WITHIN_MS) return probes;
    if (Date.now() > deadline) throw new Error(`no say reached a parked observer within ${DELIVERED_WITHIN_MS} ms for ${timeoutMs} ms (last took ${tookMs} ms)`);
  }
}

/**
 * Parks one observe through nginx (confirmed by the chatservers' gauge), says
 * once, and returns the milliseconds from sending the say to the observe's answer.
 */
export async function sayToParkedObserver(cluster: ClusterHandle): Promise<number> {
  const room = uniqueRoom('parked');
  const session = await createSession(cluster.publicUrl, 'speaker');
  const head = await enterRoom(cluster.publicUrl, session, room);
  const parkedBefore = await parkedObserves(cluster);
  let answeredAt = 0;
  const observed = observe(cluster.publicUrl, `${room}:${head}`, 20).then((answer) => {
    answeredAt = Date.now();
    return answer;
  });
  const parkDeadline = Date.now() + 5000;
  while ((await parkedObserves(cluster)) <= parkedBefore) {
    if (Date.now() > parkDeadline) throw new Error('the observe did not park within 5 s');
    await sleep(20);
  }
  const saidAt = Date.now();
  const event = await say(cluster.publicUrl, session, room, 'after the restart');
  const answer = await observed;
  const texts = messages(answer.events).map((candidate) => [candidate.seq, candidate.text]);
  if (JSON.stringify(texts) !== JSON.stringify([[event.seq, 'after the restart']])) {
    throw new Error(`the parked observe answered ${JSON.stringify(answer.events)}`);
  }
  return Math.max(0, answeredAt - saidAt);
}
