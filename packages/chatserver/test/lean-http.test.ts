import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createLeanServer, prebuiltAnswer, type LeanRequest, type LeanResponse, type LeanServer } from '../src/lean-http.js';

/** Sends `raw` on a new connection and collects everything until the server closes or `untilText` shows up. */
function exchange(port: number, raw: string, untilText?: string, timeoutMs = 2000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      if (untilText === undefined) resolve({ text, closed: false });
      else reject(new Error(`timed out waiting for ${JSON.stringify(untilText)}; got ${JSON.stringify(text)}`));
    }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (untilText !== undefined && text.includes(untilText)) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ text, closed: false });
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', () => undefined);
    socket.write(raw);
  });
}

describe('lean HTTP server', () => {
  let lean: LeanServer;
  let port: number;
  let onRequest: (request: LeanRequest, response: LeanResponse) => void;

  beforeEach(async () => {
    onRequest = (request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(`${request.method} ${request.url}`);
    };
    lean = createLeanServer((request, response) => onRequest(request, response));
    await new Promise<void>((resolve) => lean.server.listen(0, '127.0.0.1', resolve));
    port = (lean.server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    lean.closeAllConnections();
    await new Promise((resolve) => lean.server.close(resolve));
  });

  it('answers pipelined requests in order on one keep-alive connection', async () => {
    const { text, closed } = await exchange(port, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /b');
    expect(closed).to.equal(false);
    expect(text.indexOf('GET /a')).to.be.greaterThan(-1).and.below(text.indexOf('GET /b'));
    expect(text.match(/HTTP\/1\.1 200 OK/g)).to.have.length(2);
    expect(text).to.match(/content-length: 6\r\n/);
  });

  it('closes an HTTP/1.0 connection after its answer unless asked to keep it', async () => {
    const { text, closed } = await exchange(port, 'GET /old HTTP/1.0\r\n\r\n');
    expect(closed).to.equal(true);
    expect(text).to.match(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).to.include('connection: close\r\n');
    expect(text.endsWith('GET /old')).to.equal(true);
  });

  it('skips a request body and answers the next request', async () => {
    const { text } = await exchange(port, 'POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\n\r\n', 'GET /next');
    expect(text).to.include('POST /p');
    expect(text).to.not.include('helloGET');
  });

  it('refuses a chunked request body with 400 and closes', async () => {
    const { text, closed } = await exchange(port, 'POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    expect(text).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(closed).to.equal(true);
  });

  it('refuses a request head over 16 KiB with 431', async () => {
    const { text, closed } = await exchange(port, `GET /big HTTP/1.1\r\nX-Big: ${'a'.repeat(17 * 1024)}`);
    expect(text).to.match(/^HTTP\/1\.1 431 /);
    expect(closed).to.equal(true);
  });

  it('tells a parked request that its client went away', async () => {
    let closedSeen = false;
    const seen = new Promise<void>((resolve) => {
      onRequest = (_request, response) => response.once('close', () => {
        closedSeen = true;
        resolve();
      });
    });
    await exchange(port, 'GET /park HTTP/1.1\r\n\r\n', undefined, 200);
    await Promise.race([seen, new Promise((resolve) => setTimeout(resolve, 2000))]);
    expect(closedSeen).to.equal(true);
  });

  it('writes one prebuilt answer as is, and not to a connection that must close', async () => {
    const raw = prebuiltAnswer({ 'content-type': 'application/json' }, '{"ok":true}');
    let refused = 0;
    onRequest = (_request, response) => {
      if (!response.endPrebuilt(raw)) {
        refused++;
        response.writeHead(200, {});
        response.end('own');
      }
    };
    const shared = await exchange(port, 'GET / HTTP/1.1\r\n\r\n', '{"ok":true}');
    expect(shared.text).to.equal(raw.toString('latin1'));
    const closing = await exchange(port, 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(refused).to.equal(1);
    expect(closing.text).to.include('connection: close\r\n');
    expect(closing.text.endsWith('own')).to.equal(true);
  });
});
