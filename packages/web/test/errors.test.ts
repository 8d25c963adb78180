import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import { ChatError, silentLogger, type Logger } from '@parley/protocol';
import { errorMiddleware } from '../src/errors.js';

interface LoggedLine {
  level: string;
  fields: object;
  message: string;
}

/** A Logger that keeps what it is given (the error middleware must log unknown errors). */
function recordingLogger(lines: LoggedLine[]): Logger {
  const record = (level: string) => (fields: object, message: string) => void lines.push({ level, fields, message });
  return {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    child: () => silentLogger,
  };
}

describe('error middleware', () => {
  let server: Server | undefined;

  afterEach(async () => {
    if (server === undefined) return;
    const closing = new Promise((resolve) => server?.close(resolve));
    server.closeAllConnections();
    await closing;
    server = undefined;
  });

  async function serve(log: Logger, thrown: () => unknown): Promise<Response> {
    const app = new Koa();
    app.use(errorMiddleware(log));
    app.use(() => {
      throw thrown();
    });
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    const { port } = server.address() as AddressInfo;
    return fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
  }

  it('answers a ChatError with its status, code and message', async () => {
    const response = await serve(silentLogger, () => new ChatError('room_not_found', 'no room named x'));
    expect(response.status).to.equal(404);
    expect(await response.json()).to.deep.equal({ error: { code: 'room_not_found', message: 'no room named x' } });
  });

  it('answers a full disk or a lock timeout 503 unavailable with Retry-After, logged as a warning', async () => {
    for (const code of ['SQLITE_FULL', 'SQLITE_BUSY', 'SQLITE_IOERR_WRITE', '53100', '55P03']) {
      const lines: LoggedLine[] = [];
      const response = await serve(recordingLogger(lines), () => Object.assign(new Error(`database said ${code}`), { code }));
      expect(response.status, code).to.equal(503);
      expect(response.headers.get('retry-after'), code).to.equal('2');
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code, code).to.equal('unavailable');
      expect(body.error.message, code).to.not.include(code);
      expect(lines.map((line) => line.level), code).to.deep.equal(['warn']);
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
      server = undefined;
    }
  });

  it('sends Retry-After when the ChatError carries one', async () => {
    const response = await serve(silentLogger, () => new ChatError('rate_limited', 'slow down', { retryAfterSeconds: 7 }));
    expect(response.status).to.equal(429);
    expect(response.headers.get('retry-after')).to.equal('7');
  });

  it('answers any other error with 500 internal, logged, without its message', async () => {
    const lines: LoggedLine[] = [];
    const response = await serve(recordingLogger(lines), () => new Error('SQLITE_CORRUPT: secret detail'));
    expect(response.status).to.equal(500);
    const text = await response.text();
    expect(JSON.parse(text)).to.deep.equal({ error: { code: 'internal', message: 'internal error' } });
    expect(text).to.not.include('SQLITE');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ level: 'error', message: 'request failed' });
  });
});
