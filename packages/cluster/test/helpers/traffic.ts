import { randomBytes } from 'node:crypto';
import { isLiveMessage, type ChatEvent, type ObserveAnswer } from '@parley/protocol';
import { sleep } from '../../src/wait.js';
import { createSession, enterRoom, request, uniqueRoom } from './api.js';

/** Shape of the steady traffic of one fault scenario. */
export interface TrafficOptions {
  /** The public origin (nginx); `setBaseUrl` moves the traffic to another one. */
  baseUrl: string;
  /** Short label for room names and the report line. */
  label: string;
  /** Observers, each a long-poll loop over two rooms (one when there is one room). */
  observers: number;
  rooms: number;
  /** Sessions that say; every one is in every room. */
  speakers: number;
  /** Says per second over all speakers and rooms. */
  saysPerSecond: number;
  /** Hold of one observe. @default 5 */
  observeWaitSeconds?: number;
  /** Longest a say keeps being retried with its clientId before it counts as failed. @default 20000 */
  sayRetryMs?: number;
}

/** What `verify` found. */
export interface TrafficReport {
  label: string;
  /** Says started. */
  sent: number;
  /** Says answered 2xx (after retries with the same clientId). */
  acknowledged: number;
  /** Says given up after `sayRetryMs` without a 2xx. */
  failedSays: number;
  /** Say attempts that had to be retried (5xx, 429, network). */
  sayRetries: number;
  /** Acknowledged events received, summed over the observers that should receive them. */
  delivered: number;
  /** Acknowledged events some observer of their room never received. */
  lost: number;
  /** Events an observer received twice, plus events stored twice for one clientId. */
  duplicated: number;
  /** Events an observer received after a later seq of the same room, or different from the stored one. */
  reordered: number;
  /** Longest time from a say's acknowledgement to an observer receiving it. */
  longestStallMs: number;
  /** 99th percentile of that time over every delivery. */
  deliverP99Ms: number;
  /** Longest time from a say's first attempt to its 2xx (retries included). */
  longestSayMs: number;
  /** 99th percentile of that time over every acknowledged say. */
  sayP99Ms: number;
  /** Observe requests that failed (network error or non-200) and were retried. */
  observeErrors: number;
}

interface Acknowledged {
  event: ChatEvent;
  at: number;
  /** From the first attempt to the 2xx. */
  tookMs: number;
}

/** The `share` quantile (0–1) of `values`, 0 when there are none. */
function quantile(values: number[], share: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)] ?? 0;
}

interface Observer {
  /** Room → last seen seq: the cursor. */
  cursor: Map<string, number>;
  /** Room → first seq this observer must receive. */
  from: Map<string, number>;
  /** Room → seq → (id, receive times). */
  received: Map<string, Map<number, { id: string; at: number[] }>>;
  /** Room → seqs in receive order. */
  order: Map<string, number[]>;
  errors: number;
}

const HISTORY_PAGE = 200;

/**
 * Steady chat traffic against a real cluster, as clients would make it: M
 * observers long-polling through nginx over R rooms (each reconnecting with
 * its cursor after any error), and says at a fixed rate from several sessions,
 * each retried with the SAME clientId until acknowledged (bounded). Records
 * what was acknowledged and what every observer received; `verify` compares.
 */
export class Traffic {
  private baseUrl: string;
  private readonly acknowledged = new Map<string, Acknowledged>();
  private readonly observers: Observer[] = [];
  private readonly observing: Array<Promise<void>> = [];
  private readonly saysInFlight = new Set<Promise<void>>();
  private sayTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private sent = 0;
  private failedSays = 0;
  private sayRetries = 0;
  private readonly sayRetryLog: Array<{ at: number; reason: string }> = [];
  private readonly unexpected: string[] = [];

  private constructor(
    private readonly options: TrafficOptions,
    private readonly rooms: string[],
    private readonly speakers: string[],
  ) {
    this.baseUrl = options.baseUrl;
  }

  /** Creates sessions and rooms, and starts the observers at the rooms' current heads. */
  static async start(options: TrafficOptions): Promise<Traffic> {
    const rooms = Array.from({ length: options.rooms }, () => uniqueRoom(options.label));
    const speakers: string[] = [];
    const heads = new Map<string, number>();
    for (let index = 0; index < options.speakers; index++) {
      const session = await createSession(options.baseUrl, `speaker-${index}`);
      for (const room of rooms) heads.set(room, await enterRoom(options.baseUrl, session, room));
      speakers.push(session);
    }
    const traffic = new Traffic(options, rooms, speakers);
    for (let index = 0; index < options.observers; index++) {
      const own = rooms.length === 1 ? [rooms[0] as string] : [rooms[index % rooms.length] as string, rooms[(index + 1) % rooms.length] as string];
      const observer: Observer = { cursor: new Map(), from: new Map(), received: new Map(), order: new Map(), errors: 0 };
      for (const room of own) {
        const head = heads.get(room) ?? 0;
        observer.cursor.set(room, head);
        observer.from.set(room, head + 1);
        observer.received.set(room, new Map());
        observer.order.set(room, []);
      }
      traffic.observers.push(observer);
      traffic.observing.push(traffic.observeLoop(observer));
    }
    return traffic;
  }

  /** The rooms of this traffic. */
  get roomNames(): readonly string[] {
    return this.rooms;
  }

  /** The speakers' session tokens. */
  get sessions(): readonly string[] {
    return this.speakers;
  }

  /** Each failed say attempt that was retried: when (`Date.now()`) and why (status and error code, or the network error). */
  get retries(): ReadonlyArray<{ at: number; reason: string }> {
    return this.sayRetryLog;
  }

  /** Moves every later request to another public origin (a restarted cluster). */
  setBaseUrl(url: string): void {
    this.baseUrl = url;
  }

  /** Starts saying at the fixed rate, round robin over speakers and rooms. */
  startSaying(): void {
    const intervalMs = 1000 / this.options.saysPerSecond;
    let next = 0;
    this.sayTimer = setInterval(() => {
      const index = next++;
      const speaker = this.speakers[index % this.speakers.length] as string;
      const room = this.rooms[index % this.rooms.length] as string;
      const said = this.sayOnce(speaker, room)
        .catch((error: unknown) => {
          this.unexpected.push((error as Error).message);
        })
        .finally(() => this.saysInFlight.delete(said));
      this.saysInFlight.add(said);
    }, intervalMs);
  }

  /** Stops starting says and waits until every started one is acknowledged or given up. */
  async stopSaying(): Promise<void> {
    if (this.sayTimer !== undefined) clearInterval(this.sayTimer);
    this.sayTimer = undefined;
    await Promise.all([...this.saysInFlight]);
    if (this.unexpected.length > 0) throw new Error(`says refused: ${this.unexpected.slice(0, 3).join('; ')}`);
  }

  /**
   * Waits until every observer received every acknowledged event of its
   * rooms; resolves with how long that took, or rejects after `timeoutMs`.
   */
  async waitDelivered(timeoutMs: number): Promise<number> {
    const started = Date.now();
    while (this.missing() > 0) {
      if (Date.now() - started > timeoutMs) throw new Error(`${this.missing()} deliveries still missing after ${timeoutMs} ms`);
      await sleep(50);
    }
    return Date.now() - started;
  }

  /** Compares what was acknowledged, stored and received. Call after `waitDelivered`. */
  async verify(): Promise<TrafficReport> {
    let delivered = 0;
    let lost = 0;
    let duplicated = 0;
    let reordered = 0;
    let longestStallMs = 0;
    const stalls: number[] = [];
    for (const observer of this.observers) {
      for (const [room, received] of observer.received) {
        const from = observer.from.get(room) ?? 1;
        for (const { event, at } of this.acknowledged.values()) {
          if (event.room !== room || event.seq < from) continue;
          const got = received.get(event.seq);
          if (got === undefined) {
            lost++;
            continue;
          }
          delivered++;
          if (got.id !== event.id) reordered++;
          const stallMs = (got.at[0] ?? at) - at;
          stalls.push(stallMs);
          longestStallMs = Math.max(longestStallMs, stallMs);
        }
        for (const got of received.values()) duplicated += got.at.length - 1;
        let last = 0;
        for (const seq of observer.order.get(room) ?? []) {
          if (seq < last) reordered++;
          last = Math.max(last, seq);
        }
      }
    }
    duplicated += await this.storedDuplicates();
    return {
      label: this.options.label,
      sent: this.sent,
      acknowledged: this.acknowledged.size,
      failedSays: this.failedSays,
      sayRetries: this.sayRetries,
      delivered,
      lost,
      duplicated,
      reordered,
      longestStallMs,
      deliverP99Ms: quantile(stalls, 0.99),
      longestSayMs: Math.max(0, ...[...this.acknowledged.values()].map((say) => say.tookMs)),
      sayP99Ms: quantile([...this.acknowledged.values()].map((say) => say.tookMs), 0.99),
      observeErrors: this.observers.reduce((sum, observer) => sum + observer.errors, 0),
    };
  }

  /** Stops saying and observing; resolves when every loop has ended. */
  async stop(): Promise<void> {
    await this.stopSaying();
    this.stopped = true;
    await Promise.all(this.observing);
  }

  private missing(): number {
    let missing = 0;
    for (const observer of this.observers) {
      for (const [room, received] of observer.received) {
        const from = observer.from.get(room) ?? 1;
        for (const { event } of this.acknowledged.values()) {
          if (event.room === room && event.seq >= from && !received.has(event.seq)) missing++;
        }
      }
    }
    return missing;
  }

  // One say, retried with the same clientId (so at most one event) until a
  // 2xx or `sayRetryMs`; 4xx other than 429 is a bug in the test, not a fault.
  private async sayOnce(session: string, room: string): Promise<void> {
    this.sent++;
    const clientId = randomBytes(12).toString('hex');
    const startedAt = Date.now();
    const deadline = Date.now() + (this.options.sayRetryMs ?? 20_000);
    let pauseMs = 100;
    for (;;) {
      // Why this attempt did not store the say (set by every path that carries on).
      let reason: string;
      try {
        const answer = await request(`${this.baseUrl}/api/rooms/${room}/say`, {
          method: 'POST',
          session,
          body: { text: `say ${clientId}`, clientId },
          timeoutMs: 5000,
        });
        if (answer.status === 201) {
          const { event } = JSON.parse(answer.text) as { event: ChatEvent };
          this.acknowledged.set(clientId, { event, at: Date.now(), tookMs: Date.now() - startedAt });
          return;
        }
        if (answer.status < 500 && answer.status !== 429) throw new Error(`say answered ${answer.status}: ${answer.text.slice(0, 200)}`);
        reason = `${answer.status} ${/"code":"([a-z_]+)"/.exec(answer.text)?.[1] ?? answer.text.slice(0, 40)}`;
      } catch (error) {
        if ((error as Error).message.startsWith('say answered')) throw error;
        reason = (error as Error).message;
      }
      if (Date.now() + pauseMs > deadline) {
        this.failedSays++;
        return;
      }
      this.sayRetries++;
      this.sayRetryLog.push({ at: Date.now(), reason });
      await sleep(pauseMs);
      pauseMs = Math.min(pauseMs * 2, 1000);
    }
  }

  private async observeLoop(observer: Observer): Promise<void> {
    const waitSeconds = this.options.observeWaitSeconds ?? 5;
    let pauseMs = 100;
    while (!this.stopped) {
      const rooms = [...observer.cursor].map(([room, seq]) => `${room}:${seq}`).join(',');
      try {
        const answer = await request(`${this.baseUrl}/api/observe?rooms=${rooms}&wait=${waitSeconds}`, {
          timeoutMs: waitSeconds * 1000 + 10_000,
        });
        if (answer.status !== 200) throw new Error(`observe answered ${answer.status}`);
        const body = JSON.parse(answer.text) as ObserveAnswer;
        this.record(observer, body.events, Date.now());
        pauseMs = 100;
      } catch {
        observer.errors++;
        await sleep(pauseMs);
        pauseMs = Math.min(pauseMs * 2, 1000);
      }
    }
  }

  private record(observer: Observer, events: readonly ChatEvent[], now: number): void {
    for (const event of events) {
      const received = observer.received.get(event.room);
      if (received === undefined) continue;
      const known = received.get(event.seq);
      if (known === undefined) received.set(event.seq, { id: event.id, at: [now] });
      else known.at.push(now);
      observer.order.get(event.room)?.push(event.seq);
      const cursor = observer.cursor.get(event.room) ?? 0;
      // The cursor follows the server's answer; a client never moves it back.
      observer.cursor.set(event.room, Math.max(cursor, event.seq));
    }
  }

  // Reads each room's whole history: every say text (unique per clientId)
  // must be stored once, and every acknowledged event must be stored as answered.
  private async storedDuplicates(): Promise<number> {
    let duplicates = 0;
    for (const room of this.rooms) {
      const texts = new Map<string, number>();
      let after = 0;
      for (;;) {
        const answer = await request(`${this.baseUrl}/api/rooms/${room}/events?after=${after}&limit=${HISTORY_PAGE}`, {
          session: this.speakers[0] as string,
        });
        if (answer.status !== 200) throw new Error(`history of ${room} answered ${answer.status}`);
        const { events } = JSON.parse(answer.text) as { events: ChatEvent[] };
        for (const event of events) {
          if (isLiveMessage(event)) texts.set(event.text, (texts.get(event.text) ?? 0) + 1);
        }
        if (events.length < HISTORY_PAGE) break;
        after = events.at(-1)?.seq ?? after;
      }
      for (const count of texts.values()) duplicates += count - 1;
    }
    return duplicates;
  }
}

/** One line of figures for docs/RELIABILITY.md. */
export function formatReport(report: TrafficReport, extra: Record<string, number | string> = {}): string {
  const fields = { ...report, ...extra };
  return Object.entries(fields).map(([key, value]) => `${key}=${value}`).join(' ');
}
