import { connect, type Socket } from 'node:net';

// Sockets per source address. One address has ~28,000 ephemeral ports, but
// a closed socket holds its port in TIME_WAIT for 60 s, and binding a new one
// gets slow as an address fills up: with 18,000 observers on two addresses,
// every cell after the first in one bench process read 10x the latency (p99
// 4-10 s instead of 0.4 s, generator CPU 77 % instead of 37 %); on eight
// addresses the second cell measured as the first.
const SOCKETS_PER_SOURCE = 2500;

/** How many source addresses `count` sockets are spread over by default. */
export function defaultSourceCount(count: number): number {
  return Math.max(1, Math.ceil(count / SOCKETS_PER_SOURCE));
}

// A connection that closed cleanly (a server's keep-alive timeout, the end of
// a stream's lifetime) is reopened after this pause.
const RECONNECT_MS = 100;
// After a failure a member comes back as Parley's client does (observe-loop.ts):
// a jittered backoff from 500 ms, doubling per failure in a row, never sooner
// than the server's Retry-After. A fixed short pause made a storm: 5,000
// streams that nginx answered 503 (every chatserver briefly marked down after
// connect timeouts during the ramp) came back every 100 ms, and the 50,000
// refusals a second kept the cluster's core too busy to recover.
const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
// Connections opened at once while ramping up: the accept queue of a server is finite.
const CONNECT_BATCH = 500;

/** One connection of a fleet member, as its protocol sees it. */
export interface FleetConnection {
  /** Member 0 … count − 1; its connections come one after another, never two at once. */
  readonly index: number;
  readonly socket: Socket;
  /** Runs `action` after `delayMs` unless the fleet has closed meanwhile. */
  later(delayMs: number, action: () => void): void;
  /**
   * The exchange works (a long-poll's request is out, a stream's 200 head
   * arrived): the member counts as started, and its backoff starts over.
   */
  established(): void;
  /**
   * This connection failed (a refusal, an answer the client could not use):
   * counted as an error; destroy the socket, and the member comes back after
   * a backoff, never sooner than `retryAfterMs`.
   */
  failed(retryAfterMs?: number): void;
}

/** Options of `startSocketFleet`. */
export interface SocketFleetOptions {
  port: number;
  /** Host of the server. @default '127.0.0.1' */
  host?: string;
  count: number;
  /** Source addresses the sockets are spread over (127.0.0.2, …). @default defaultSourceCount(count) */
  sources?: number;
  /**
   * A member's socket has connected (the first time, or again after its last
   * one closed): send what opens the exchange, and return what handles the
   * bytes read (latin1, one char per byte) on this connection.
   */
  connected(connection: FleetConnection): (chunk: string) => void;
}

/** A running fleet of client sockets. */
export interface SocketFleet {
  /** Members whose exchange has been established at least once. */
  readonly started: number;
  /** Connection errors and answers the client could not use. */
  readonly errors: number;
  /** Closes every socket; nothing reconnects afterwards. */
  close(): void;
}

/**
 * N client sockets on `node:net` directly — the scaffolding every lean
 * generator client shares: sockets spread over source addresses, opened in
 * batches, each reopened after it closes (at once when it closed cleanly,
 * after a growing backoff when it failed), counted, and all closed at once. What a connection sends and reads is the protocol's
 * (`connected`). A client library would cost more CPU per answer than the
 * servers under test spend (undici measured ~60 µs per observe answer here,
 * saturating the generator's core at 20,000 answers/s).
 */
export function startSocketFleet(options: SocketFleetOptions): SocketFleet {
  const host = options.host ?? '127.0.0.1';
  const sources = options.sources ?? defaultSourceCount(options.count);
  const sockets: Socket[] = [];
  const timers = new Set<NodeJS.Timeout>();
  // Per member: established at least once; failures in a row; the pause its server advised.
  const everEstablished = new Uint8Array(options.count);
  const failures = new Uint8Array(options.count);
  const advisedMs = new Float64Array(options.count);
  let closed = false;
  let started = 0;
  let errors = 0;

  const later = (delayMs: number, action: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) action();
    }, delayMs);
    timers.add(timer);
  };
  const fail = (index: number, retryAfterMs = 0): void => {
    if (closed) return;
    errors++;
    if (failures[index] !== 255) failures[index] = (failures[index] as number) + 1;
    advisedMs[index] = Math.max(advisedMs[index] as number, retryAfterMs);
  };
  const reconnectDelay = (index: number): number => {
    const failed = failures[index] as number;
    if (failed === 0) return RECONNECT_MS;
    const ceiling = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** (failed - 1));
    // Between half and all of the ceiling, so members refused together do not return together.
    const backoff = ceiling * (0.5 + Math.random() / 2);
    const advised = advisedMs[index] as number;
    advisedMs[index] = 0;
    return Math.max(backoff, advised);
  };

  function open(index: number): void {
    const localAddress = sources > 1 ? `127.0.0.${2 + (index % sources)}` : undefined;
    const socket = connect({ port: options.port, host, ...(localAddress === undefined ? {} : { localAddress }) });
    sockets[index] = socket;
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('connect', () => {
      if (closed) return;
      const onData = options.connected({
        index,
        socket,
        later,
        established() {
          failures[index] = 0;
          if (everEstablished[index] === 0) {
            everEstablished[index] = 1;
            started++;
          }
        },
        failed: (retryAfterMs) => fail(index, retryAfterMs),
      });
      socket.on('data', (chunk: string) => {
        if (!closed) onData(chunk);
      });
    });
    socket.on('error', () => fail(index));
    socket.on('close', () => {
      if (!closed) later(reconnectDelay(index), () => open(index));
    });
  }

  // Ramp up in batches, one event-loop turn apart.
  let next = 0;
  const ramp = (): void => {
    const end = Math.min(options.count, next + CONNECT_BATCH);
    for (; next < end; next++) open(next);
    if (next < options.count) later(5, ramp);
  };
  ramp();

  return {
    get started() {
      return started;
    },
    get errors() {
      return errors;
    },
    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket?.destroy();
    },
  };
}
