import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { startStreams } from '../src/stream-client.js';
import type { SocketFleet } from '../src/socket-fleet.js';

/** A local server answering every request with `handler`; its port once listening. */
async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Resolves once `condition` holds, checking every 10 ms; rejects after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const STREAM_HEAD = { 'content-type': 'text/event-stream' };

describe('startStreams', () => {
  let server: Server | undefined;
  let streams: SocketFleet | undefined;

  afterEach(async () => {
    streams?.close();
    streams = undefined;
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  it('reopens an ended stream with Last-Event-ID, so each message arrives once and in order', async () => {
    // Six messages; every answer carries the next two after the client's Last-Event-ID and ends.
    const started = await listen((req, res) => {
      const after = Number(req.headers['last-event-id'] ?? 0);
      res.writeHead(200, STREAM_HEAD);
      for (let n = after + 1; n <= Math.min(6, after + 2); n++) res.write(`id: ${n}\ndata: {"n":${n}}\n\n`);
      res.end();
    });
    server = started.server;
    const received: string[][] = [[], [], []];
    streams = startStreams({
      port: started.port,
      count: 3,
      sources: 1,
      request: () => 'GET /stream HTTP/1.1\r\nHost: test\r\n\r\n',
      onData: (index, data) => received[index]?.push(data),
    });
    await until(() => received.every((messages) => messages.length >= 6), 5000, `six messages on every stream ${JSON.stringify(received)}`);
    // A stream reopened without its last id would start over: 1, 2, 1, 2, …
    for (const messages of received) expect(messages).to.deep.equal([1, 2, 3, 4, 5, 6].map((n) => `{"n":${n}}`));
    expect(streams.started).to.equal(3);
    expect(streams.errors).to.equal(0);
  });

  it("comes back after a refusal no sooner than its Retry-After, and counts it as an error", async () => {
    const requests: number[] = [];
    const started = await listen((_req, res) => {
      requests.push(Date.now());
      if (requests.length === 1) {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
        res.end('{"error":{"code":"unavailable","message":"busy"}}');
        return;
      }
      res.writeHead(200, STREAM_HEAD);
      res.write('id: 1\ndata: {"n":1}\n\n');
    });
    server = started.server;
    const received: string[] = [];
    streams = startStreams({
      port: started.port,
      count: 1,
      sources: 1,
      request: () => 'GET /stream HTTP/1.1\r\nHost: test\r\n\r\n',
      onData: (_index, data) => received.push(data),
    });
    await until(() => received.length === 1, 5000, 'the message after the refusal');
    expect(streams.errors).to.equal(1);
    expect(streams.started).to.equal(1);
    // A fixed 100 ms pause would hammer a server that asked for a second (thousands of streams at once).
    expect((requests[1] as number) - (requests[0] as number)).to.be.at.least(950);
  });
});
