import type { ChatEvent, ErrorBody, RoomDetail, RoomSummary, RoomVisibility } from '@parley/protocol';
import { ParleyError, parseRetryAfter } from './errors.js';

/** How the client proves who it is. */
export type Credentials =
  /** Same-origin page: the `parley_session` cookie plus the CSRF header. */
  | { kind: 'cookie' }
  /** Another origin: `Authorization: Bearer`, no cookies (CORS). */
  | { kind: 'bearer'; session: string }
  /** Read-only: public rooms only. */
  | { kind: 'anonymous' };

/** Options of `createApi`. */
export interface ApiOptions {
  /** Origin of the Parley deployment, e.g. `https://chat.example.com`. @default '' (same origin) */
  baseUrl?: string;
  /** @default { kind: 'cookie' } */
  credentials?: Credentials;
  /** Per-request timeout. @default 15000 */
  timeoutMs?: number;
}

/** Which page of history to read. */
export type HistoryPage = { after: number; limit?: number } | { before: number; limit?: number } | { limit?: number };

/** The typed HTTP API of DESIGN.md (everything except observe). */
export interface ParleyApi {
  readonly baseUrl: string;
  readonly credentials: Credentials;
  createSession(nickname: string): Promise<{ session: string; nickname: string }>;
  getSession(): Promise<{ nickname: string; username: string | null; rooms: string[] }>;
  /** Creates an account and signs in as it. */
  signUp(username: string, password: string): Promise<{ session: string; username: string; nickname: string }>;
  /** Signs in: a new session of the account. */
  signIn(username: string, password: string): Promise<{ session: string; username: string; nickname: string }>;
  /** Creates a room (private ones need an account). */
  createRoom(name: string, visibility: RoomVisibility): Promise<RoomSummary>;
  /** Lets `username` into a private room the caller owns. */
  addMember(room: string, username: string): Promise<void>;
  /** Removes (kicks) `username` from a private room the caller owns. */
  removeMember(room: string, username: string): Promise<void>;
  /** The direct-message room with `username`. */
  directMessage(username: string): Promise<RoomSummary>;
  deleteSession(): Promise<void>;
  changeNickname(nickname: string): Promise<{ nickname: string }>;
  listRooms(): Promise<RoomSummary[]>;
  getRoom(room: string): Promise<RoomDetail>;
  enter(room: string): Promise<{ room: RoomDetail; events: ChatEvent[] }>;
  leave(room: string): Promise<void>;
  /** Says `text`; pass the same `clientId` when retrying so nothing is sent twice. */
  say(room: string, text: string, clientId: string): Promise<ChatEvent>;
  history(room: string, page?: HistoryPage): Promise<ChatEvent[]>;
  /** Changes the text of one's own message at `seq`; resolves with the `edit` event. */
  editMessage(room: string, seq: number, text: string): Promise<ChatEvent>;
  /** Deletes the message at `seq` (one's own; a room owner's any). */
  deleteMessage(room: string, seq: number): Promise<void>;
  /** The room's messages holding every word of `q`, newest first. */
  search(room: string, q: string, limit?: number): Promise<ChatEvent[]>;
}

/** A random idempotency key for `say` (URL-safe, 22 characters). */
export function newClientId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Creates the typed API over `fetch`. */
export function createApi(options: ApiOptions = {}): ParleyApi {
  const baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
  let credentials: Credentials = options.credentials ?? { kind: 'cookie' };
  const timeoutMs = options.timeoutMs ?? 15_000;

  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (credentials.kind === 'bearer') headers.authorization = `Bearer ${credentials.session}`;
    if (credentials.kind === 'cookie') headers['x-requested-with'] = 'XMLHttpRequest';
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let response: Response;
    try {
      response = await fetch(baseUrl + path, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        credentials: credentials.kind === 'cookie' ? 'same-origin' : 'omit',
        signal: controller.signal,
      });
    } catch (error) {
      const timedOut = controller.signal.aborted;
      throw new ParleyError(timedOut ? 'timeout' : 'network', 0, timedOut ? 'request timed out' : String(error));
    } finally {
      clearTimeout(timer);
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (parsed as ErrorBody | undefined)?.error;
      throw new ParleyError(
        error?.code ?? (response.status >= 500 ? 'internal' : 'invalid_body'),
        response.status,
        error?.message ?? `HTTP ${response.status}`,
        parseRetryAfter(response.headers.get('retry-after')),
      );
    }
    return parsed as T;
  }

  const room = (name: string): string => `/api/rooms/${encodeURIComponent(name)}`;

  return {
    baseUrl,
    get credentials() {
      return credentials;
    },
    async createSession(nickname) {
      const answer = await request<{ session: string; nickname: string }>('POST', '/api/session', { nickname });
      if (credentials.kind !== 'cookie') credentials = { kind: 'bearer', session: answer.session };
      return answer;
    },
    getSession: () => request('GET', '/api/session'),
    async signUp(username, password) {
      const answer = await request<{ session: string; username: string; nickname: string }>('POST', '/api/accounts', { username, password });
      if (credentials.kind !== 'cookie') credentials = { kind: 'bearer', session: answer.session };
      return answer;
    },
    async signIn(username, password) {
      const answer = await request<{ session: string; username: string; nickname: string }>('POST', '/api/session', { username, password });
      if (credentials.kind !== 'cookie') credentials = { kind: 'bearer', session: answer.session };
      return answer;
    },
    createRoom: async (name, visibility) => (await request<{ room: RoomSummary }>('POST', '/api/rooms', { name, visibility })).room,
    addMember: (name, username) => request('POST', `${room(name)}/members`, { username }),
    removeMember: (name, username) => request('DELETE', `${room(name)}/members/${encodeURIComponent(username)}`),
    directMessage: async (username) => (await request<{ room: RoomSummary }>('POST', '/api/dm', { username })).room,
    deleteSession: () => request('DELETE', '/api/session'),
    changeNickname: (nickname) => request('POST', '/api/nick', { nickname }),
    listRooms: async () => (await request<{ rooms: RoomSummary[] }>('GET', '/api/rooms')).rooms,
    getRoom: (name) => request('GET', room(name)),
    enter: (name) => request('POST', `${room(name)}/enter`),
    leave: (name) => request('POST', `${room(name)}/leave`),
    say: async (name, text, clientId) =>
      (await request<{ event: ChatEvent }>('POST', `${room(name)}/say`, { text, clientId })).event,
    history: async (name, page = {}) => {
      const query = new URLSearchParams();
      if ('after' in page) query.set('after', String(page.after));
      if ('before' in page) query.set('before', String(page.before));
      if (page.limit !== undefined) query.set('limit', String(page.limit));
      const suffix = query.size > 0 ? `?${query}` : '';
      return (await request<{ events: ChatEvent[] }>('GET', `${room(name)}/events${suffix}`)).events;
    },
    editMessage: async (name, seq, text) =>
      (await request<{ event: ChatEvent }>('PATCH', `${room(name)}/events/${seq}`, { text })).event,
    deleteMessage: (name, seq) => request('DELETE', `${room(name)}/events/${seq}`),
    search: async (name, q, limit) => {
      const query = new URLSearchParams({ q });
      if (limit !== undefined) query.set('limit', String(limit));
      return (await request<{ events: ChatEvent[] }>('GET', `${room(name)}/search?${query}`)).events;
    },
  };
}
