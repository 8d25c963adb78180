import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { ChatError, NOTIFY_PATH, registryKey, sessionsEndedChannel, type Logger } from '@parley/protocol';
import { METRICS_PATH, ReplayGuard, UPSTREAM_KEEP_ALIVE_TIMEOUT_MS } from '@parley/protocol/node';
import { CatchUp } from './catch-up.js';
import { defaultAdvertiseUrl, type ChatServerConfig } from './config.js';
import { AnswerCache } from './answer-cache.js';
import { createHeartbeat, type Heartbeat } from './heartbeat.js';
import { parseTarget, sendError, sendJson } from './http-util.js';
import { createLeanServer, type LeanRequest, type LeanResponse, type LeanServer } from './lean-http.js';
import { handleNotify } from './notify.js';
import { OBSERVE_PATH, handleObserve, observeHopSeconds, type ObserveContext } from './observe.js';
import { createPresenceRecorder, observingSession } from './presence.js';
import { ObserverRegistry, type ParkedObserver } from './observer-registry.js';
import { HoldWheel } from './hold-wheel.js';
import { RoomDirectory } from './room-directory.js';
import { RoomAccess } from './room-access.js';
import { SessionObserveCounter } from './session-observes.js';
import { STREAM_PATH, StreamHub, handleStream, type StreamContext } from './stream.js';
import { createWebClient } from './web-client.js';
import { ChatServerMetrics, serveMetrics } from './metrics.js';

/** Dependencies and settings of `createChatServer`. */
export interface ChatServerOptions {
  /** Redis holding the registry (the caller owns and closes it). */
  redis: Redis;
  log: Logger;
  config: Readonly<ChatServerConfig>;
  /**
   * Rooms with no observer and no event or observe for this long are dropped
   * from memory. Ten minutes keeps a room that is read now and then warm.
   * @default 600000
   */
  idleRoomMs?: number;
  /** How often idle rooms are looked for. @default 60000 */
  idleSweepMs?: number;
  /** Grace before a gap is repaired from the web tier (see `RoomDirectoryOptions`). @default 100 */
  gapGraceMs?: number;
  /** Timeout of one request to the web tier. @default 2000 */
  webTimeoutMs?: number;
  /**
   * Registry the chatserver's metrics join, served as `GET /metrics` on the
   * internal port (`main.ts` passes one with the process metrics).
   * @default a new, empty Registry
   */
  metricsRegistry?: Registry;
}

/** Where a chatserver listens. */
export interface ChatServerPorts {
  /** Port of `GET /api/observe`. */
  publicPort: number;
  /** Port of `POST /internal/notify`. */
  internalPort: number;
}

/** A chatserver: public observe port, internal notify port, registry heartbeat. */
export interface ChatServer {
  /** Listens on both ports (0 picks free ones), then joins the registry. */
  listen(): Promise<ChatServerPorts>;
  /**
   * Leaves the registry, stops accepting, answers every parked observe at
   * once with its cursor and no events, ends every stream, then closes both servers and pools.
   */
  close(): Promise<void>;
  /** Live counters, for health checks and tests. */
  stats(): ChatServerStats;
}

/** Live counters of a chatserver. */
export interface ChatServerStats {
  /** Observes parked right now (open streams included). */
  parkedObservers: number;
  /** Streams open right now. */
  openStreams: number;
  /** Rooms held in memory. */
  rooms: number;
  /** Bytes of observe answers cached for sharing (bounded, see AnswerCache). */
  cachedAnswerBytes: number;
}

const HEALTH_BODY = JSON.stringify({ ok: true, role: 'chatserver' });
// Connections still busy this long after close() are cut, so shutdown is bounded.
const CLOSE_GRACE_MS = 2000;
// Parked observers are seen again this often: a hold lasts up to 55 s, and the
// default presence timeout (120 s) then still has room for a missed refresh.
const PRESENCE_REFRESH_MS = 30_000;
// A room that never had an event (most often one that does not exist, named
// by a stray or hostile observe) is kept only this long after its last use.
const EMPTY_ROOM_IDLE_MS = 60_000;
// Node's default (511) drops connections when thousands of observers come at
// once (a chatserver restart, a flood of new visitors): nginx then fails to
// connect and answers 503. The kernel caps it at net.core.somaxconn.
const LISTEN_BACKLOG = 4096;
// Above the workers' registry reuse (250 ms) plus a notify in flight.
const JOIN_CATCH_UP_DELAY_MS = 1000;

/** Builds a chatserver from its dependencies; nothing listens until `listen()`. */
export function createChatServer(options: ChatServerOptions): ChatServer {
  const { config, redis } = options;
  const log = options.log;
  const idleRoomMs = options.idleRoomMs ?? 10 * 60 * 1000;
  let closing = false;
  let closed: Promise<void> | undefined;
  let heartbeat: Heartbeat | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  let joinCatchUpTimer: NodeJS.Timeout | undefined;

  const web = createWebClient({
    urls: config.webUrls,
    secret: config.secret,
    log,
    ...(options.webTimeoutMs === undefined ? {} : { timeoutMs: options.webTimeoutMs }),
  });
  const observers = new ObserverRegistry();
  const answers = new AnswerCache();
  const access = new RoomAccess({ web, secret: config.secret, log });
  let sessionsEnded: Redis | undefined;
  const streams = new StreamHub({ heartbeatMs: config.streamHeartbeatMs, lifetimeMs: config.streamLifetimeMs });
  const rooms = new RoomDirectory({
    capacity: config.roomBuffer,
    maxRooms: config.maxRooms,
    isObserved: (room) => observers.isObserved(room),
    // A dropped room may come back at another head: forget every cached answer.
    onDrop: () => answers.clear(),
    web,
    log,
    // Before the wake: a kick or enter must be seen by the access check of the next observe.
    onEvents: (events) => access.noteEvents(events),
    onAdvance: (buffer) => {
      // Answers of the old head are wrong now; then wake with fresh ones.
      answers.invalidate(buffer.name);
      streams.forgetFrames();
      observers.wakeRoom(buffer.name);
    },
    ...(options.gapGraceMs === undefined ? {} : { gapGraceMs: options.gapGraceMs }),
  });
  const catchUp = new CatchUp({
    intervalMs: config.catchUpMs,
    web,
    rooms,
    observedRooms: () => observers.observedRooms(),
    log,
  });
  const presence = createPresenceRecorder({
    redis,
    prefix: config.redisPrefix,
    log,
    // ~30 s, but never so rare that a parked session could outlive a short (test) timeout.
    refreshMs: Math.min(PRESENCE_REFRESH_MS, Math.floor(config.presenceTimeoutMs / 4)),
  });
  const metricsRegistry = options.metricsRegistry ?? new Registry();
  const metrics = new ChatServerMetrics(metricsRegistry, {
    parkedObservers: () => observers.count,
    rooms: () => rooms.size,
    repairCounts: () => rooms.repairCounts,
  });
  const holds = new HoldWheel<ParkedObserver>((observer) => observer.finish('timeout'));
  const observeContext: ObserveContext = {
    rooms,
    observers,
    holds,
    answers,
    web,
    log,
    maxObservers: config.maxObservers,
    maxAnonymousObserveRooms: config.maxAnonymousObserveRooms,
    sessionObserves: new SessionObserveCounter(config.maxObservesPerSession),
    isClosing: () => closing,
    presence,
    metrics,
    access,
  };
  const streamContext: StreamContext = { ...observeContext, streams };

  function handlePublic(req: LeanRequest, res: LeanResponse): void {
    const { path, query } = parseTarget(req.url);
    if (path === OBSERVE_PATH || path === STREAM_PATH || path === '/healthz') {
      if (req.method !== 'GET') {
        sendError(res, new ChatError('method_not_allowed', 'only GET is allowed here'), { allow: 'GET' });
        return;
      }
      if (path === '/healthz') sendJson(res, 200, HEALTH_BODY);
      else if (path === STREAM_PATH) void handleStream(query, req.headers['last-event-id'], res, streamContext, observingSession(req, query));
      else handleObserve(query, res, observeContext, observingSession(req, query), observeHopSeconds(req.headers));
      return;
    }
    sendError(res, new ChatError('not_found', 'no such endpoint'));
  }

  const notifyContext = { secret: config.secret, replayGuard: new ReplayGuard(), rooms, log };

  function handleInternal(req: IncomingMessage, res: ServerResponse): void {
    const { path } = parseTarget(req.url);
    if (path === NOTIFY_PATH) {
      if (req.method !== 'POST') {
        sendError(res, new ChatError('method_not_allowed', 'only POST is allowed here'), { allow: 'POST' });
        return;
      }
      metrics.notificationReceived();
      void handleNotify(req, res, notifyContext);
      return;
    }
    if (path === METRICS_PATH) {
      serveMetrics(req, res, metricsRegistry, config.metricsToken);
      return;
    }
    if (path === '/healthz') {
      if (req.method === 'GET') sendJson(res, 200, HEALTH_BODY);
      else sendError(res, new ChatError('method_not_allowed', 'only GET is allowed here'), { allow: 'GET' });
      return;
    }
    sendError(res, new ChatError('not_found', 'no such endpoint'));
  }

  // The observe port answers one request per observer per event: lean (see lean-http.ts).
  const publicServer = createLeanServer(handlePublic, { keepAliveTimeoutMs: UPSTREAM_KEEP_ALIVE_TIMEOUT_MS });
  const internalServer = createServer({ keepAliveTimeout: UPSTREAM_KEEP_ALIVE_TIMEOUT_MS }, handleInternal);

  function sweep(): void {
    const dropped = rooms.sweepIdle(idleRoomMs, (room) => observers.isObserved(room), Date.now(), EMPTY_ROOM_IDLE_MS);
    if (dropped > 0) {
      // A dropped room may come back at another head: forget every cached answer.
      answers.clear();
      log.info({ dropped, rooms: rooms.size }, 'idle rooms dropped');
    }
  }

  /**
   * Listens for sessions that ended (sign-out, revoked bot token): what was
   * cached about them is dropped and their parked observes answered at once.
   * On its own connection (a subscribed connection can do nothing else).
   */
  async function subscribeSessionsEnded(): Promise<Redis> {
    const subscriber = redis.duplicate({ enableOfflineQueue: true });
    subscriber.on('error', (error: Error) => log.warn({ error: error.message }, 'sessions-ended subscription failed'));
    subscriber.on('message', (_channel: string, sessionHash: string) => {
      access.sessionEnded(sessionHash);
      observers.finishSession(sessionHash);
    });
    await subscriber.subscribe(sessionsEndedChannel(config.redisPrefix)).catch((error: unknown) => {
      log.warn({ error: (error as Error).message }, 'sessions-ended subscription failed');
    });
    return subscriber;
  }

  /**
   * After this chatserver (re)joins the registry, workers may still send with
   * a registry answer from before (reused up to 250 ms, plus a notify in
   * flight): events committed meanwhile never come here. One catch-up pass a
   * moment later repairs the observed rooms now, not at the next periodic pass.
   */
  function catchUpAfterJoin(): void {
    if (closing) return;
    clearTimeout(joinCatchUpTimer);
    joinCatchUpTimer = setTimeout(() => void catchUp.runOnce().catch(() => undefined), JOIN_CATCH_UP_DELAY_MS);
    joinCatchUpTimer.unref();
  }

  async function shutdown(): Promise<void> {
    closing = true;
    clearTimeout(joinCatchUpTimer);
    if (sweepTimer !== undefined) clearInterval(sweepTimer);
    catchUp.stop();
    sessionsEnded?.disconnect();
    streams.stop();
    // Leave first so workers stop sending here while the rest shuts down.
    await heartbeat?.leave();
    const publicClosed = stopServer(publicServer);
    const internalClosed = stopServer(internalServer);
    observers.finishAll('shutdown');
    holds.close();
    presence.close();
    rooms.close();
    await Promise.all([publicClosed, internalClosed]);
    await web.close();
    log.info({}, 'chatserver closed');
  }

  return {
    async listen() {
      const internalPort = await listenOn(internalServer, config.internalPort, config.internalHost);
      const advertiseUrl = config.advertiseUrl !== '' ? config.advertiseUrl : defaultAdvertiseUrl(config.internalHost, internalPort);
      heartbeat = createHeartbeat({
        redis,
        key: registryKey(config.redisPrefix),
        member: advertiseUrl,
        intervalMs: config.heartbeatMs,
        log,
        onJoin: catchUpAfterJoin,
      });
      // Registered before observers can come: workers send here before anyone parks.
      await heartbeat.start();
      const publicPort = await listenOn(publicServer.server, config.port, config.host);
      sessionsEnded = await subscribeSessionsEnded();
      sweepTimer = setInterval(sweep, options.idleSweepMs ?? 60_000);
      sweepTimer.unref();
      catchUp.start();
      streams.start();
      return { publicPort, internalPort };
    },
    close() {
      closed ??= shutdown();
      return closed;
    },
    stats() {
      return { parkedObservers: observers.count, openStreams: streams.size, rooms: rooms.size, cachedAnswerBytes: answers.bytes };
    },
  };
}

function listenOn(server: Server | NetServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, LISTEN_BACKLOG, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting, closes idle keep-alive connections, and cuts busy ones after a grace. */
function stopServer(server: Server | LeanServer): Promise<void> {
  const listener = 'server' in server ? server.server : server;
  if (!listener.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
    listener.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
