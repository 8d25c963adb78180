import { randomBytes } from 'node:crypto';
import type { ChatEvent, LiveMessageEvent, ObserveAnswer } from '@parley/protocol';

// Every request of a test is bounded; an observe gets its hold plus this much.
const REQUEST_TIMEOUT_MS = 10_000;

/** A unique room name per test, so tests never see each other's events. */
export function uniqueRoom(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/** A plain HTTP answer: status, headers and the body as text. */
export interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** Sends one request with a bearer session (no cookie, so no CSRF header needed). */
export async function request(
  url: string,
  init: { method?: string; session?: string; body?: unknown; timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.session !== undefined) headers.authorization = `Bearer ${init.session}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.body);
  }
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(init.timeoutMs ?? REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Sends a request and parses a JSON answer, failing unless the status is `expected`. */
export async function json<T>(
  url: string,
  init: Parameters<typeof request>[1] & { expected: number },
): Promise<T> {
  const answer = await request(url, init);
  if (answer.status !== init.expected) {
    throw new Error(`${init.method ?? 'GET'} ${url}: expected ${init.expected}, got ${answer.status} ${answer.text.slice(0, 300)}`);
  }
  return (answer.text === '' ? undefined : JSON.parse(answer.text)) as T;
}

/** Creates a session and returns its bearer token. */
export async function createSession(baseUrl: string, nickname: string): Promise<string> {
  const answer = await json<{ session: string }>(`${baseUrl}/api/session`, {
    method: 'POST',
    body: { nickname },
    expected: 201,
  });
  return answer.session;
}

/** A session as a browser holds it: the bearer token and the `parley_session=…` cookie pair the server set. */
export interface CookieSession {
  session: string;
  cookie: string;
}

/** Creates a session and returns its token together with the cookie pair from `Set-Cookie`. */
export async function createCookieSession(baseUrl: string, nickname: string): Promise<CookieSession> {
  const answer = await request(`${baseUrl}/api/session`, { method: 'POST', body: { nickname } });
  if (answer.status !== 201) throw new Error(`POST /api/session: expected 201, got ${answer.status} ${answer.text.slice(0, 300)}`);
  const { session } = JSON.parse(answer.text) as { session: string };
  const cookie = (answer.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  if (!cookie.startsWith('parley_session=')) throw new Error(`POST /api/session set no session cookie: ${cookie}`);
  return { session, cookie };
}

/** Enters a room; returns the room's seq after the enter. */
export async function enterRoom(baseUrl: string, session: string, room: string): Promise<number> {
  const answer = await json<{ room: { seq: number } }>(`${baseUrl}/api/rooms/${room}/enter`, {
    method: 'POST',
    session,
    expected: 200,
  });
  return answer.room.seq;
}

/** Says `text` in a room; returns the stored event. */
export async function say(baseUrl: string, session: string, room: string, text: string, clientId?: string): Promise<ChatEvent> {
  const answer = await json<{ event: ChatEvent }>(`${baseUrl}/api/rooms/${room}/say`, {
    method: 'POST',
    session,
    body: clientId === undefined ? { text } : { text, clientId },
    expected: 201,
  });
  return answer.event;
}

/** One observe long-poll. */
export async function observe(baseUrl: string, cursor: string, waitSeconds: number): Promise<ObserveAnswer> {
  const query = new URLSearchParams({ rooms: cursor, wait: String(waitSeconds) });
  return json<ObserveAnswer>(`${baseUrl}/api/observe?${query}`, {
    expected: 200,
    timeoutMs: waitSeconds * 1000 + REQUEST_TIMEOUT_MS,
  });
}

/**
 * Observes from `cursor` again and again, collecting events until `done`
 * says enough arrived or `timeoutMs` passes (then it rejects with what it has).
 * A failed poll (a chatserver restarting) is retried after a short pause.
 */
export async function collectEvents(
  baseUrl: string,
  cursor: string,
  done: (events: ChatEvent[]) => boolean,
  timeoutMs: number,
): Promise<ChatEvent[]> {
  const deadline = Date.now() + timeoutMs;
  const events: ChatEvent[] = [];
  let next = cursor;
  let lastError = '';
  while (!done(events)) {
    const remainingSeconds = Math.floor((deadline - Date.now()) / 1000);
    if (remainingSeconds < 1) {
      const seen = events.map((event) => `${event.room}:${event.seq}:${event.type}`).join(' ');
      throw new Error(`observe ${baseUrl} from ${cursor}: timed out with [${seen}] ${lastError}`);
    }
    try {
      const answer = await observe(baseUrl, next, Math.min(remainingSeconds, 10));
      events.push(...answer.events);
      next = answer.cursor;
    } catch (error) {
      lastError = (error as Error).message;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return events;
}

/** The messages among `events` that have their text (not deleted ones). */
export function messages(events: ChatEvent[]): LiveMessageEvent[] {
  return events.filter((event): event is LiveMessageEvent => event.type === 'message' && 'text' in event);
}
