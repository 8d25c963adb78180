import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ChatError,
  ROOM_ACCESS_PATH,
  ROOM_HEADS_PATH,
  type RoomAccessBody,
  type ChatEvent,
  type RoomHeadsBody,
  type RoomName,
} from '@parley/protocol';
import {
  signatureHeaders,
  verifySignedRequest,
} from '@parley/protocol/node';

/**
 * A real HTTP server standing in for the web tier's signed
 * `GET /internal/rooms/:room/events` and `POST /internal/heads`, serving
 * events from memory.
 */
export interface WebStandIn {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Every event of every room, ascending. */
  readonly rooms: Map<RoomName, ChatEvent[]>;
  /** Path and query of every request that passed the signature check. */
  readonly served: string[];
  /** Requests refused for their signature. */
  refused: number;
  /** Private rooms and the token hashes of the sessions that are members (the rest see them hidden). */
  readonly privateRooms: Map<RoomName, Set<string>>;
  /** Token hashes of the sessions the stand-in knows as live (any other token is made up). */
  readonly liveSessions: Set<string>;
  /** Bodies of the `POST /internal/access` requests served (not in `served`). */
  readonly accessAsked: RoomAccessBody[];
  /** Answer every request with this status instead (simulates a broken web process). */
  failWith: number | undefined;
  /** Appends `count` message events to `room` and returns them. */
  addMessages(room: RoomName, count: number, text?: (seq: number) => string): ChatEvent[];
  close(): Promise<void>;
}

/** A message event as the web tier would store it. */
export function messageEvent(room: RoomName, seq: number, text = `message ${seq}`): ChatEvent {
  return { room, seq, type: 'message', at: 1_763_740_000_000 + seq, nickname: 'alice', user: null, text, id: `${room}-${seq}` };
}

/** Starts a web stand-in on a free port checking signatures with `secret`. */
export async function startWebStandIn(secret: string): Promise<WebStandIn> {
  const rooms = new Map<RoomName, ChatEvent[]>();
  const served: string[] = [];
  const privateRooms = new Map<RoomName, Set<string>>();
  const accessAsked: RoomAccessBody[] = [];
  const liveSessions = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => serve(req, res, Buffer.concat(chunks)));
  });
  const serve = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const target = req.url ?? '/';
    const answer = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    try {
      verifySignedRequest(secret, { method: req.method ?? 'GET', path: target, body }, signatureHeaders(req.headers));
    } catch (error) {
      standIn.refused++;
      answer((error as ChatError).status, (error as ChatError).toBody());
      return;
    }
    if (standIn.failWith !== undefined) {
      answer(standIn.failWith, { error: { code: 'internal', message: 'stand-in failing' } });
      return;
    }
    const url = new URL(target, 'http://stand-in');
    if (req.method === 'POST' && url.pathname === ROOM_HEADS_PATH) {
      served.push(`${target} ${body.toString('utf8')}`);
      const { rooms: asked } = JSON.parse(body.toString('utf8')) as RoomHeadsBody;
      answer(200, { heads: Object.fromEntries(asked.map((room) => [room, rooms.get(room)?.length ?? 0])) });
      return;
    }
    if (req.method === 'POST' && url.pathname === ROOM_ACCESS_PATH) {
      const asked = JSON.parse(body.toString('utf8')) as RoomAccessBody;
      accessAsked.push(asked);
      const kindOf = (room: RoomName): string => {
        const members = privateRooms.get(room);
        if (members !== undefined) return asked.session !== null && members.has(asked.session) ? 'member' : 'hidden';
        return rooms.has(room) ? 'public' : 'missing';
      };
      const sessionLive = asked.session !== null && (liveSessions.has(asked.session) || [...privateRooms.values()].some((members) => members.has(asked.session as string)));
      answer(200, { access: Object.fromEntries(asked.rooms.map((room) => [room, kindOf(room)])), sessionLive });
      return;
    }
    const match = /^\/internal\/rooms\/([a-z0-9][a-z0-9_-]{0,63})\/events$/.exec(url.pathname);
    if (req.method !== 'GET' || match === null) {
      answer(404, { error: { code: 'not_found', message: 'no such endpoint' } });
      return;
    }
    served.push(target);
    const events = rooms.get(match[1] as string) ?? [];
    const head = events.length;
    const after = url.searchParams.get('after');
    if (after === null) {
      answer(200, { events: [], seq: head });
      return;
    }
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 500), 1000);
    answer(200, { events: events.filter((event) => event.seq > Number(after)).slice(0, limit), seq: head });
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const standIn: WebStandIn = {
    url: `http://127.0.0.1:${port}`,
    rooms,
    served,
    privateRooms,
    liveSessions,
    accessAsked,
    refused: 0,
    failWith: undefined,
    addMessages(room, count, text) {
      const events = rooms.get(room) ?? [];
      rooms.set(room, events);
      const added: ChatEvent[] = [];
      for (let index = 0; index < count; index++) {
        const seq = events.length + 1;
        const event = messageEvent(room, seq, text?.(seq));
        events.push(event);
        added.push(event);
      }
      return added;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return standIn;
}
