import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ChatError,
  type ChatEvent,
  type NotifyBody,
} from '@parley/protocol';
import {
  signatureHeaders,
  verifySignedRequest,
} from '@parley/protocol/node';

/** One POST a stub chatserver received. */
export interface ReceivedNotify {
  path: string;
  contentType: string | undefined;
  signatureValid: boolean;
  events: ChatEvent[];
  /** Size of the body in bytes (the real chatserver refuses more than 1 MiB with 413). */
  bodyBytes: number;
  /** `Date.now()` when the body had arrived. */
  at: number;
}

/** What the stub answers to the n-th POST (0-based): a status, or never answer. */
export type StubAnswer = (index: number) => number | 'hang';

/** A real `node:http` server standing in for a chatserver's internal port. */
export interface StubChatserver {
  /** Its base URL, as a chatserver would advertise it. */
  readonly url: string;
  readonly received: ReceivedNotify[];
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/**
 * Starts a stub chatserver that verifies each notify's signature like the real
 * one (401/403 when it is missing or wrong), refuses a body over
 * `maxBodyBytes` with 413, records what it got, and answers `answer(index)`
 * after `delayMs`.
 */
export async function startStubChatserver(
  secret: string,
  options: { answer?: StubAnswer; delayMs?: number; maxBodyBytes?: number } = {},
): Promise<StubChatserver> {
  const answer = options.answer ?? (() => 204);
  const received: ReceivedNotify[] = [];
  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const path = request.url ?? '';
      let signatureStatus = 0;
      try {
        verifySignedRequest(secret, { method: request.method ?? '', path, body }, signatureHeaders(request.headers));
      } catch (error) {
        signatureStatus = error instanceof ChatError ? error.status : 400;
      }
      const index = received.length;
      received.push({
        path,
        contentType: request.headers['content-type'],
        signatureValid: signatureStatus === 0,
        events: (JSON.parse(body) as NotifyBody).events,
        bodyBytes: Buffer.byteLength(body),
        at: Date.now(),
      });
      // Like the real chatserver's notify body limit (1 MiB): too big is 413.
      const tooBig = options.maxBodyBytes !== undefined && Buffer.byteLength(body) > options.maxBodyBytes;
      const status = signatureStatus || (tooBig ? 413 : answer(index));
      if (status === 'hang') return;
      setTimeout(() => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(status === 204 ? undefined : '{"error":{"code":"internal","message":"stub"}}');
      }, options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Polls `check` every 10 ms until it holds, or throws after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A message event of `room` with `seq`. */
export function messageEvent(room: string, seq: number): ChatEvent {
  return { room, seq, type: 'message', at: 1_763_740_000_000 + seq, nickname: 'alice', user: null, text: `hello ${seq}`, id: `ev-${room}-${seq}` };
}

/** A test secret (≥ 32 characters). */
export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnop';
