import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatEvent, ObserveAnswer, RoomName, Seq } from '@parley/protocol';
import { Pool } from 'undici';
import type { LoadTestOptions } from './args.js';
import { DeliveryTracker, type DeliveryCounts } from './accounting.js';
import { Histogram, type HistogramSummary } from './histogram.js';
import { startLongPolls, type RawAnswer } from './long-poll-client.js';
import type { SocketFleet } from './socket-fleet.js';
import { startStreams } from './stream-client.js';
import { readClusterProcesses, sampleAll, usageBetween, type ProcessUsage } from './proc-stats.js';

/** The `code` of a `{"error":{"code"}}` answer body, if it is one. */
function errorCode(json: unknown): string | undefined {
  const code = (json as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A snapshot for the progress bar, taken every `PROGRESS_INTERVAL_MS`. */
export interface LoadTestProgress {
  phase: 'setup' | 'warmup' | 'saying' | 'draining';
  /** Seconds since the say phase began (0 before). */
  elapsedSeconds: number;
  /** duration + grace. */
  totalSeconds: number;
  saysAcknowledged: number;
  sayErrors: number;
  deliveries: number;
  /** Deliveries in the last whole second. */
  deliveriesPerSecond: number;
  latencyP99Ms: number;
}

/** Everything a run measured; `formatMarkdown` renders it and `JSON.stringify` serialises it. */
export interface LoadTestReport {
  runId: string;
  startedAt: string;
  base: string;
  options: { observers: number; rooms: number; rate: number; duration: number; grace: number; sessions: number; textBytes: number; wait: number; sources: number };
  says: {
    scheduled: number;
    sent: number;
    acknowledged: number;
    errors: number;
    /** Not sent because too many were already in flight (the web tier could not keep up). */
    shed: number;
    /** Says answered 409 `not_in_room` (the sayer was swept from presence), entered again and retried. */
    reentered: number;
    /** Scheduled send time → 2xx answer, so a slow server cannot hide queueing (open loop). */
    latencyMs: HistogramSummary;
    achievedPerSecond: number;
  };
  deliveries: DeliveryCounts & {
    /** Mean deliveries per second over the say phase. */
    perSecondMean: number;
    /** Busiest whole second. */
    perSecondPeak: number;
    /** now − event.at at receipt, first receipts only. */
    latencyMs: HistogramSummary;
  };
  observes: { answers: number; errors: number };
  processes: ProcessUsage[];
  generator: { cpuSeconds: number; rssBytes: number };
  phasesMs: { setup: number; warmup: number; saying: number; draining: number };
}

/** Optional callbacks and cancellation of one run. */
export interface LoadTestHooks {
  onProgress?: (progress: LoadTestProgress) => void;
  /** Aborting ends the say phase at once and the run after a short drain. */
  signal?: AbortSignal;
}

const PROGRESS_INTERVAL_MS = 250;
// Setup and say requests: a healthy web tier answers in milliseconds; 10 s means it is stuck.
const REQUEST_TIMEOUT_MS = 10_000;
// Sessions created and rooms entered at once during setup.
const SETUP_CONCURRENCY = 32;
// Open loop: says beyond this many in flight are shed and counted, so an
// overloaded server cannot make the generator's memory grow without bound.
const MAX_SAYS_IN_FLIGHT = 10_000;
// An observe that failed (refused, 5xx) is retried after this pause, at most.
const OBSERVE_RETRY_MS = 200;
// How long the ramp-up may take before the say phase starts anyway.
const CONNECT_TIMEOUT_MS = 30_000;
// How often the drain checks whether every observer has caught up.
const DRAIN_POLL_MS = 20;

/** Runs `tasks` with at most `limit` at once. */
async function inBatches<T>(count: number, limit: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, count) }, async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  });
  await Promise.all(runners);
  return results;
}

/** A say text of exactly `bytes` ASCII bytes, starting with its number so texts differ. */
function sayText(number: number, bytes: number): string {
  const prefix = `lt ${number} `;
  return (prefix + 'x'.repeat(Math.max(0, bytes - prefix.length))).slice(0, bytes);
}

/**
 * One load-test run against `options.base`: sessions enter `lt-<runId>-<i>`
 * rooms, N observers long-poll them, says go out open-loop at `rate`/s for
 * `duration` s, then the run drains until every observer has every
 * acknowledged say or `grace` s pass. It stops by itself; nothing it opens
 * outlives it.
 */
export async function runLoadTest(options: LoadTestOptions, hooks: LoadTestHooks = {}): Promise<LoadTestReport> {
  const runId = options.runId ?? randomBytes(4).toString('hex');
  const startedAt = new Date().toISOString();
  const rooms: RoomName[] = Array.from({ length: options.rooms }, (_, index) => `lt-${runId}-${index}`);
  const processes = readClusterProcesses(options.clusterPath);
  const processesAtStart = sampleAll(processes);
  const generatorCpuAtStart = process.cpuUsage();

  const stop = new AbortController();
  // Every observe and say in flight listens on this one signal.
  setMaxListeners(0, stop.signal);
  let stopping = false;
  const onAbort = (): void => {
    stopping = true;
    stop.abort();
  };
  hooks.signal?.addEventListener('abort', onAbort, { once: true });

  const sayPool = new Pool(options.base, {
    connections: options.sayConnections,
    pipelining: 1,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  const sayLatency = new Histogram();
  const deliveryLatency = new Histogram();
  const tracker = new DeliveryTracker();
  const deliveriesBySecond: number[] = [];
  let phase: LoadTestProgress['phase'] = 'setup';
  let sayStart = 0;
  let sent = 0;
  let acknowledged = 0;
  let sayErrors = 0;
  let shed = 0;
  let reentered = 0;
  let inFlight = 0;
  let observeAnswers = 0;
  let observeErrors = 0;
  const phaseStart = { setup: performance.now(), warmup: 0, saying: 0, draining: 0, end: 0 };

  const totalSeconds = options.duration + options.grace;
  const progressTimer = hooks.onProgress
    ? setInterval(() => {
        const elapsed = sayStart === 0 ? 0 : (Date.now() - sayStart) / 1000;
        const lastWhole = Math.floor(elapsed) - 1;
        hooks.onProgress?.({
          phase,
          elapsedSeconds: elapsed,
          totalSeconds,
          saysAcknowledged: acknowledged,
          sayErrors,
          deliveries: deliveryLatency.count,
          deliveriesPerSecond: lastWhole >= 0 ? (deliveriesBySecond[lastWhole] ?? 0) : 0,
          latencyP99Ms: deliveryLatency.percentile(99) / 1000,
        });
      }, PROGRESS_INTERVAL_MS)
    : undefined;
  progressTimer?.unref();

  /** POSTs JSON with a bearer session; returns status and parsed body. */
  async function post(path: string, session: string | undefined, body: unknown): Promise<{ status: number; json: unknown }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (session !== undefined) headers.authorization = `Bearer ${session}`;
    const answer = await sayPool.request({ path, method: 'POST', headers, body: JSON.stringify(body), signal: stop.signal });
    const text = await answer.body.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: answer.statusCode, json };
  }

  let observes: SocketFleet[] = [];
  try {
    // Setup: sessions, then enough enters that every session and every room has one.
    const sessions = await inBatches(options.sessions, SETUP_CONCURRENCY, async (index) => {
      const answer = await post('/api/session', undefined, { nickname: `lt-${runId}-${index}` });
      const session = (answer.json as { session?: unknown } | undefined)?.session;
      if (answer.status !== 201 || typeof session !== 'string') throw new Error(`POST /api/session answered ${answer.status}`);
      return session;
    });
    const heads = new Map<RoomName, Seq>(rooms.map((room) => [room, 0]));
    const speakers = new Map<RoomName, string[]>(rooms.map((room) => [room, []]));
    await inBatches(Math.max(options.sessions, options.rooms), SETUP_CONCURRENCY, async (pair) => {
      const session = sessions[pair % options.sessions] as string;
      const room = rooms[pair % options.rooms] as RoomName;
      const answer = await post(`/api/rooms/${room}/enter`, session, {});
      const seq = (answer.json as { room?: { seq?: unknown } } | undefined)?.room?.seq;
      if (answer.status !== 200 || typeof seq !== 'number') throw new Error(`POST /api/rooms/${room}/enter answered ${answer.status}`);
      // Enters of one room may finish in any order: its head is the highest seq seen.
      if (seq > (heads.get(room) ?? 0)) heads.set(room, seq);
      speakers.get(room)?.push(session);
    });

    // Observers: round-robin over rooms, each from its room's head, so every
    // event after the head is one of our says and nothing is missed while parking.
    phase = 'warmup';
    phaseStart.warmup = performance.now();
    // Observers of one room mostly get the same bytes: parse them once.
    const lastAnswerText = new Map<RoomName, string>();
    const lastAnswer = new Map<RoomName, ObserveAnswer>();
    const observerRooms: RoomName[] = [];
    const observerLedgers: number[] = [];
    const cursors: string[] = [];
    for (let index = 0; index < options.observers; index++) {
      const room = rooms[index % options.rooms] as RoomName;
      const head = heads.get(room) ?? 0;
      observerRooms.push(room);
      observerLedgers.push(tracker.addObserver(room, head));
      cursors.push(`${room}:${head}`);
    }
    // One set of loops per origin; observer i goes to origin i mod origins.
    const origins = (options.observeOrigins ?? [options.base]).map((text) => new URL(text));
    const onObserveAnswer = (index: number, answer: RawAnswer): number => {
      const now = Date.now();
      if (answer.status !== 200) {
        observeErrors += 1;
        return OBSERVE_RETRY_MS;
      }
      const room = observerRooms[index] as RoomName;
      // The client reads bytes as latin1 (1 char per byte, so Content-Length
      // frames it); turn them back into UTF-8 before parsing.
      const text = answer.body;
      let parsed: ObserveAnswer;
      if (lastAnswerText.get(room) === text) parsed = lastAnswer.get(room) as ObserveAnswer;
      else {
        try {
          parsed = JSON.parse(Buffer.from(text, 'latin1').toString('utf8')) as ObserveAnswer;
        } catch {
          observeErrors += 1;
          return OBSERVE_RETRY_MS;
        }
        lastAnswerText.set(room, text);
        lastAnswer.set(room, parsed);
      }
      observeAnswers += 1;
      const observer = observerLedgers[index] as number;
      for (const event of parsed.events as ChatEvent[]) {
        if (event.room !== room || !tracker.receive(observer, event.seq)) continue;
        deliveryLatency.record((now - event.at) * 1000);
        if (sayStart !== 0) {
          const second = Math.max(0, Math.floor((now - sayStart) / 1000));
          deliveriesBySecond[second] = (deliveriesBySecond[second] ?? 0) + 1;
        }
      }
      cursors[index] = parsed.cursor;
      return 0;
    };
    // Streams: every observer of a room reads the same data lines; parse each once.
    const parsedEvents = new Map<string, ChatEvent | undefined>();
    const onStreamData = (index: number, data: string, receivedAt: number): void => {
      let event = parsedEvents.get(data);
      if (!parsedEvents.has(data)) {
        try {
          const parsed = JSON.parse(Buffer.from(data, 'latin1').toString('utf8')) as Partial<ChatEvent>;
          // The ready event carries a cursor, not an event.
          event = parsed.seq === undefined ? undefined : (parsed as ChatEvent);
        } catch {
          observeErrors += 1;
          return;
        }
        if (parsedEvents.size > 4096) parsedEvents.clear();
        parsedEvents.set(data, event);
      }
      if (event === undefined) return;
      observeAnswers += 1;
      if (event.room !== observerRooms[index] || !tracker.receive(observerLedgers[index] as number, event.seq)) return;
      deliveryLatency.record((receivedAt - event.at) * 1000);
      if (sayStart !== 0) {
        const second = Math.max(0, Math.floor((receivedAt - sayStart) / 1000));
        deliveriesBySecond[second] = (deliveriesBySecond[second] ?? 0) + 1;
      }
    };
    observes = origins.map((origin, offset) =>
      options.stream === true
        ? startStreams({
            host: origin.hostname,
            port: Number(origin.port || 80),
            count: Math.ceil((options.observers - offset) / origins.length),
            sources: options.sources,
            request: (local) =>
              `GET /api/observe/stream?rooms=${cursors[local * origins.length + offset] as string} HTTP/1.1\r\nHost: ${origin.host}\r\n\r\n`,
            onData: (local, data, receivedAt) => onStreamData(local * origins.length + offset, data, receivedAt),
          })
        : startLongPolls({
        host: origin.hostname,
        port: Number(origin.port || 80),
        count: Math.ceil((options.observers - offset) / origins.length),
        sources: options.sources,
        request: (local) =>
          `GET /api/observe?rooms=${cursors[local * origins.length + offset] as string}&wait=${options.wait} HTTP/1.1\r\nHost: ${origin.host}\r\n\r\n`,
        answer: (local, raw) => onObserveAnswer(local * origins.length + offset, raw),
      }),
    );
    // Every observer connected before the warmup counts: a connection whose
    // SYN met a full accept queue is retried by the kernel 1, 3, 7 s later, and
    // a say it missed would show up as seconds of latency (measured: p99 8.9 s
    // with a 2 s warmup that started before the ramp was done, 0.6 s after).
    const connectDeadline = performance.now() + CONNECT_TIMEOUT_MS;
    while (!stopping && observes.reduce((sum, loops) => sum + loops.started, 0) < options.observers && performance.now() < connectDeadline) {
      await sleep(DRAIN_POLL_MS, undefined, { signal: stop.signal }).catch(() => undefined);
    }
    if (options.warmup > 0) await sleep(options.warmup * 1000, undefined, { signal: stop.signal }).catch(() => undefined);

    // Says: open loop. Say k is due at start + k / rate whether or not earlier
    // says were answered; its latency counts from when it was due.
    phase = 'saying';
    phaseStart.saying = performance.now();
    sayStart = Date.now();
    const scheduled = Math.floor(options.rate * options.duration);
    const intervalMs = options.rate > 0 ? 1000 / options.rate : 0;
    const sayPhaseStart = performance.now();
    const sayPhaseEnd = sayPhaseStart + options.duration * 1000;
    const pendingSays = new Set<Promise<void>>();
    const fire = (number: number, dueAt: number): void => {
      if (inFlight >= MAX_SAYS_IN_FLIGHT) {
        shed += 1;
        return;
      }
      const room = rooms[number % options.rooms] as RoomName;
      const roomSpeakers = speakers.get(room) as string[];
      const session = roomSpeakers[Math.floor(number / options.rooms) % roomSpeakers.length] as string;
      inFlight += 1;
      sent += 1;
      const body = { text: sayText(number, options.textBytes), clientId: `lt-${runId}-${number}` };
      const pending = post(`/api/rooms/${room}/say`, session, body)
        .then(async (answer) => {
          // Presence is observing: a sayer that never observes is swept out of
          // its room after the presence timeout (2 min by default), as a real
          // client would be. Enter again, and retry with the same clientId.
          if (answer.status === 409 && errorCode(answer.json) === 'not_in_room') {
            reentered += 1;
            await post(`/api/rooms/${room}/enter`, session, {});
            return post(`/api/rooms/${room}/say`, session, body);
          }
          return answer;
        })
        .then((answer) => {
          const event = (answer.json as { event?: ChatEvent } | undefined)?.event;
          if (answer.status !== 201 || !event || typeof event.seq !== 'number') {
            sayErrors += 1;
            return;
          }
          sayLatency.record((performance.now() - dueAt) * 1000);
          tracker.acknowledge(event.room, event.seq);
          acknowledged += 1;
        })
        .catch(() => {
          if (!stopping) sayErrors += 1;
        })
        .finally(() => {
          inFlight -= 1;
          pendingSays.delete(pending);
        });
      pendingSays.add(pending);
    };
    let next = 0;
    while (!stopping) {
      const now = performance.now();
      while (next < scheduled && sayPhaseStart + next * intervalMs <= now) {
        fire(next, sayPhaseStart + next * intervalMs);
        next += 1;
      }
      // Every say is due before the end, so a late wake-up still sends them all.
      if (now >= sayPhaseEnd) break;
      const nextDue = next < scheduled ? sayPhaseStart + next * intervalMs : sayPhaseEnd;
      const pause = Math.min(nextDue, sayPhaseEnd) - performance.now();
      if (pause > 0) await sleep(Math.min(pause, 50), undefined, { signal: stop.signal }).catch(() => undefined);
    }

    // Drain: until every say is answered and every observer has caught up, or grace ends.
    phase = 'draining';
    phaseStart.draining = performance.now();
    const deadline = sayPhaseEnd + options.grace * 1000;
    while (!stopping && performance.now() < deadline && (pendingSays.size > 0 || !tracker.allCaughtUp())) {
      await sleep(Math.min(DRAIN_POLL_MS, Math.max(1, deadline - performance.now())), undefined, { signal: stop.signal }).catch(() => undefined);
    }
    phaseStart.end = performance.now();

    const report: LoadTestReport = {
      runId,
      startedAt,
      base: options.base,
      options: {
        observers: options.observers,
        rooms: options.rooms,
        rate: options.rate,
        duration: options.duration,
        grace: options.grace,
        sessions: options.sessions,
        textBytes: options.textBytes,
        wait: options.wait,
        sources: options.sources,
      },
      says: {
        scheduled,
        sent,
        acknowledged,
        errors: sayErrors,
        shed,
        reentered,
        latencyMs: sayLatency.summary(1000),
        achievedPerSecond: round(acknowledged / options.duration),
      },
      deliveries: {
        ...tracker.counts(),
        perSecondMean: round(deliveryLatency.count / Math.max(0.001, (phaseStart.end - phaseStart.saying) / 1000)),
        perSecondPeak: deliveriesBySecond.reduce((peak, count) => Math.max(peak, count ?? 0), 0),
        latencyMs: deliveryLatency.summary(1000),
      },
      observes: { answers: observeAnswers, errors: observes.reduce((sum, loops) => sum + loops.errors, observeErrors) },
      processes: usageBetween(processes, processesAtStart, sampleAll(processes)),
      generator: (() => {
        const cpu = process.cpuUsage(generatorCpuAtStart);
        return { cpuSeconds: round((cpu.user + cpu.system) / 1e6), rssBytes: process.memoryUsage.rss() };
      })(),
      phasesMs: {
        setup: round(phaseStart.warmup - phaseStart.setup),
        warmup: round(phaseStart.saying - phaseStart.warmup),
        saying: round(phaseStart.draining - phaseStart.saying),
        draining: round(phaseStart.end - phaseStart.draining),
      },
    };
    return report;
  } finally {
    stopping = true;
    stop.abort();
    if (progressTimer) clearInterval(progressTimer);
    hooks.signal?.removeEventListener('abort', onAbort);
    for (const loops of observes) loops.close();
    await sayPool.destroy().catch(() => undefined);
  }
}

/** Two decimals, for reports. */
function round(value: number): number {
  return Math.round(value * 100) / 100;
}
