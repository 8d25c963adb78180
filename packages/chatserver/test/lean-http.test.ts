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

/** The `error.code` of the JSON body of the first answer in `text`. */
function errorCode(text: string): string {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return (JSON.parse(body) as { error: { code: string } }).error.code;
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

  it('refuses a request body at once and closes, whether or not the body came: 405 on a POST, 413 on a GET', async () => {
    const { text, closed } = await exchange(port, 'POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\n\r\n');
    expect(text).to.match(/^HTTP\/1\.1 405 /);
    expect(text).to.include('allow: GET\r\n');
    expect(errorCode(text)).to.equal('method_not_allowed');
    expect(text).to.not.include('POST /p');
    expect(text).to.not.include('GET /next');
    expect(closed).to.equal(true);
    // A body trickled a byte at a time cannot hold the connection: the head alone is refused.
    const trickled = await exchange(port, 'GET /t HTTP/1.1\r\nContent-Length: 1000\r\n\r\nx', undefined, 1000);
    expect(trickled.text).to.match(/^HTTP\/1\.1 413 /);
    expect(errorCode(trickled.text)).to.equal('payload_too_large');
    expect(trickled.closed).to.equal(true);
  });

  it('accepts Content-Length: 0 on a GET', async () => {
    const { text } = await exchange(port, 'GET /zero HTTP/1.1\r\nContent-Length: 0\r\n\r\n', 'GET /zero');
    expect(text).to.match(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it('refuses two Content-Length headers with 400', async () => {
    const { text, closed } = await exchange(port, 'GET /d HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n');
    expect(text).to.match(/^HTTP\/1\.1 400 /);
    expect(errorCode(text)).to.equal('invalid_request');
    expect(closed).to.equal(true);
  });

  it('refuses with the documented error shape, code and security headers', async () => {
    const { text } = await exchange(port, 'NOT HTTP\r\n\r\n');
    expect(text).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
    const head = text.slice(0, text.indexOf('\r\n\r\n')).toLowerCase();
    expect(head).to.match(/\r\ndate: \w{3}, \d\d \w{3} \d{4} /);
    expect(head).to.include('\r\nx-content-type-options: nosniff');
    expect(head).to.include('\r\ncache-control: no-store');
    expect(head).to.include('\r\nreferrer-policy: same-origin');
    expect(errorCode(text)).to.equal('invalid_request');
  });

  it('keeps an HTTP/1.0 keep-alive connection and says so', async () => {
    const { text, closed } = await exchange(port, 'GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', 'GET /b');
    expect(closed).to.equal(false);
    expect(text.match(/\r\nconnection: keep-alive\r\n/g)).to.have.length(2);
  });

  it('answers HEAD with the head only, so the next answer on the connection is read right', async () => {
    onRequest = (request, response) => {
      response.writeHead(request.method === 'HEAD' ? 405 : 200, { 'content-type': 'text/plain' });
      response.end(`${request.method} ${request.url}`);
    };
    const { text } = await exchange(port, 'HEAD /h HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n', 'GET /after');
    expect(text).to.match(/^HTTP\/1\.1 405 [^]*content-length: 7\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    expect(text).to.not.include('HEAD /h');
  });

  it('accepts bare-LF line ends', async () => {
    const { text } = await exchange(port, 'GET /lf HTTP/1.1\nHost: x\n\nGET /lf2 HTTP/1.1\n\n', 'GET /lf2', 1000);
    expect(text).to.match(/\r\n\r\nGET \/lfHTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nGET \/lf2$/);
  });

  it('closes a connection that pipelines more than 64 KiB of requests without answering them all', async () => {
    const one = 'GET /flood HTTP/1.1\r\n\r\n';
    const count = Math.ceil((512 * 1024) / one.length);
    const { text, closed } = await exchange(port, one.repeat(count), undefined, 5000);
    expect(closed).to.equal(true);
    expect((text.match(/HTTP\/1\.1 200 OK/g) ?? []).length).to.be.below(count);
  });

  it('stops reading from a client that does not read its answers', async () => {
    const big = 'x'.repeat(256 * 1024);
    let answered = 0;
    onRequest = (_request, response) => {
      answered++;
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(big);
    };
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    socket.pause();
    // Sent in pieces below the 64 KiB limit, each after the server had a turn to answer.
    const one = 'GET /big HTTP/1.1\r\n\r\n';
    for (let round = 0; round < 40; round++) {
      socket.write(one.repeat(40));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // Answers pile up in the socket buffers, not in the server's write queue: a few, not 1600.
    expect(answered).to.be.below(100);
    socket.destroy();
  });

  it('drops what a client sends after a refusal and cuts it after a short linger', async () => {
    const lingering = createLeanServer(() => undefined, { closeLingerMs: 200 });
    await new Promise<void>((resolve) => lingering.server.listen(0, '127.0.0.1', resolve));
    try {
      const socket = connect({ port: (lingering.server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
      socket.on('error', () => undefined);
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (text += chunk));
      const closed = new Promise<boolean>((resolve) => {
        socket.once('close', () => resolve(true));
        setTimeout(() => resolve(false), 4000);
      });
      socket.write('BAD\r\n\r\n');
      const feeder = setInterval(() => socket.write('GET / HTTP/1.1\r\n\r\n'.repeat(100)), 20);
      const wasClosed = await closed;
      clearInterval(feeder);
      socket.destroy();
      expect(text).to.match(/^HTTP\/1\.1 400 /);
      expect(text.match(/HTTP\/1\.1/g)).to.have.length(1);
      expect(wasClosed).to.equal(true);
    } finally {
      lingering.closeAllConnections();
      await new Promise((resolve) => lingering.server.close(resolve));
    }
  });

  it('refuses a chunked request body with 400 and closes', async () => {
    const { text, closed } = await exchange(port, 'POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    expect(text).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(closed).to.equal(true);
  });

  it('refuses a request head over 16 KiB with 431', async () => {
    const { text, closed } = await exchange(port, `GET /big HTTP/1.1\r\nX-Big: ${'a'.repeat(17 * 1024)}`);
    expect(text).to.match(/^HTTP\/1\.1 431 /);
    expect(errorCode(text)).to.equal('invalid_request');
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
