import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { accessLogLines } from './helpers/access-log.js';
import { DEFAULT_NGINX_TEMPLATE, nginxCapacity, renderNginxConfig, startNginx, type NginxHandle } from '../src/nginx.js';

/** Sends `raw` on a fresh connection and resolves with everything nginx answers (bounded). */
async function rawExchange(port: number, raw: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms: ${Buffer.concat(chunks).toString()}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.write(raw);
  });
}

function statusAndBody(answer: string): { status: number; contentType: string; body: unknown } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
  const contentType = /^content-type: *([^\r\n]*)/im.exec(head)?.[1] ?? '';
  return { status, contentType, body: body === '' ? undefined : JSON.parse(body) };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('nginx hardening', function () {
  this.timeout(30_000);
  let runDir: string;
  let nginx: NginxHandle | undefined;
  const servers: Server[] = [];

  /** An upstream that names itself and records the say ids it was given. */
  function namedUpstream(name: string, sayIds: string[] = []): Server {
    const server = createServer((req: IncomingMessage, res) => {
      req.resume();
      const sayId = req.headers['x-parley-say-id'];
      if (typeof sayId === 'string') sayIds.push(sayId);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(name);
    });
    servers.push(server);
    return server;
  }

  /**
   * Plays a frozen (SIGSTOPped) process: the kernel accepts its connections
   * but nothing ever answers.
   */
  function frozenUpstream(): Server {
    const server = createServer(() => undefined);
    servers.push(server);
    return server;
  }

  /**
   * A chatserver stand-in that ends every hop at once, as a real one does
   * after 6 s with nothing to answer: while nginx offers a hop of 6 s and more
   * than 6 s of wait are left, it answers with an X-Accel-Redirect to the same
   * observe with 6 s less; every other request goes to `last`.
   */
  function hoppingUpstream(last: (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => void): Server {
    const server = createServer((req, res) => {
      const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
      const wait = Number(query.get('wait'));
      if (req.headers['x-parley-observe-hop'] !== '6' || wait <= 6) {
        last(req, res, query);
        return;
      }
      query.set('wait', String(wait - 6));
      res.writeHead(200, { 'x-accel-redirect': `/api/observe?${query.toString()}`, 'content-length': '0' });
      res.end();
    });
    servers.push(server);
    return server;
  }

  beforeEach(() => {
    runDir = mkdtempSync(join(tmpdir(), 'parley-nginx-hard-'));
  });

  afterEach(async () => {
    await nginx?.stop();
    nginx = undefined;
    await Promise.all(servers.splice(0).map(close));
    rmSync(runDir, { recursive: true, force: true });
  });

  it('sizes worker_connections and worker_rlimit_nofile from the open-file limit', () => {
    expect(nginxCapacity(20_000)).to.deep.equal({ workerRlimitNofile: 20_000, workerConnections: 19_800 });
    const text = renderNginxConfig({ runDir, publicPort: 18080, webPorts: [13001], chatPorts: [14001], workerConnections: 9000, workerRlimitNofile: 9500 });
    expect(text).to.match(/^worker_rlimit_nofile 9500;/m);
    expect(text).to.match(/^\s*worker_connections 9000;/m);
    // 9,000 parked observes hold 18,000 connections.
    expect(nginxCapacity().workerConnections).to.be.at.least(Math.min(18_000, nginxCapacity().workerRlimitNofile - 200));
    // The docker config is sized the same way from its own worker_rlimit_nofile.
    const docker = readFileSync(join(dirname(DEFAULT_NGINX_TEMPLATE), 'docker.conf'), 'utf8');
    const dockerLimit = Number(/^worker_rlimit_nofile (\d+);/m.exec(docker)?.[1]);
    expect(Number(/^\s*worker_connections (\d+);/m.exec(docker)?.[1])).to.equal(nginxCapacity(dockerLimit).workerConnections);
  });

  it('bounds slow headers, bodies and reads and limits connections per address', () => {
    const text = renderNginxConfig({ runDir, publicPort: 18080, webPorts: [13001], chatPorts: [14001], requestsPerAddress: 7, observesPerAddress: 9 });
    expect(text).to.match(/client_header_timeout 5s;/);
    expect(text).to.match(/client_body_timeout 5s;/);
    expect(text).to.match(/send_timeout 10s;/);
    expect(text).to.match(/location = \/api\/observe \{\s*limit_conn parley_observes_per_address 9;/);
    expect(text).to.match(/location \/ \{\s*limit_conn parley_requests_per_address 7;/);
  });

  it('counts parked observes apart from API requests: a person with many observes open can still say', async () => {
    const webPort = await listen(namedUpstream('web'));
    // Observes park: the chatserver stand-in never answers them.
    const chatPort = await listen(frozenUpstream());
    nginx = await startNginx({ runDir, webPorts: [webPort], chatPorts: [chatPort], requestsPerAddress: 2, observesPerAddress: 4 });
    const parked = Array.from({ length: 4 }, () => fetch(`${nginx!.url}/api/observe?rooms=lobby`, { signal: AbortSignal.timeout(20_000) }).catch(() => undefined));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const say = await fetch(`${nginx.url}/api/rooms/lobby/say`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(5000) });
    expect(say.status).to.equal(200);
    // One observe more than the address may park is refused in the error shape.
    const fifth = await fetch(`${nginx.url}/api/observe?rooms=lobby`, { signal: AbortSignal.timeout(5000) });
    expect(fifth.status).to.equal(429);
    expect(((await fifth.json()) as { error: { code: string } }).error.code).to.equal('rate_limited');
    await nginx.stop();
    nginx = undefined;
    await Promise.all(parked);
  });

  it('answers TRACE, odd Transfer-Encodings and HTTP/1.0 without Host in the JSON error shape', async () => {
    const upstreamPort = await listen(namedUpstream('web'));
    nginx = await startNginx({ runDir, webPorts: [upstreamPort], chatPorts: [upstreamPort] });
    const cases: Array<[string, string, number, string]> = [
      ['TRACE', 'TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 405, 'method_not_allowed'],
      ['xchunked', 'POST /api/session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nConnection: close\r\n\r\n0\r\n\r\n', 400, 'invalid_request'],
      ['chunked, identity', 'POST /api/session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\nConnection: close\r\n\r\n0\r\n\r\n', 400, 'invalid_request'],
      ['HTTP/1.0 without Host', 'GET /api/rooms HTTP/1.0\r\n\r\n', 400, 'invalid_request'],
    ];
    for (const [what, raw, status, code] of cases) {
      const answer = statusAndBody(await rawExchange(nginx.port, raw));
      expect(answer.status, what).to.equal(status);
      expect(answer.contentType, what).to.equal('application/json');
      expect((answer.body as { error: { code: string } }).error.code, what).to.equal(code);
    }
  });

  it('writes no session token or other credential to the access log', async () => {
    const upstreamPort = await listen(namedUpstream('web'));
    nginx = await startNginx({ runDir, webPorts: [upstreamPort], chatPorts: [upstreamPort] });
    const paths = [
      '/api/rooms/lobby/events?callback=cb&session=SECRET1',
      '/api/observe?rooms=lobby&SESSION=SECRET2&callback=cb',
      '/api/rooms/lobby?%73ession=SECRET3',
      '/api/rooms/lobby?callback=cb&session=a&session=SECRET4',
      '/api/rooms/lobby?access_token=SECRET5',
      '/api/rooms/lobby?after=3',
      '/api/observe?rooms=lobby%3A3&wait=5',
    ];
    for (const path of paths) await (await fetch(`${nginx.url}${path}`, { signal: AbortSignal.timeout(5000) })).text();
    const lines = await accessLogLines(join(runDir, 'access.log'), (all) => all.length >= paths.length);
    expect(lines).to.have.length(paths.length);
    const log = lines.join('\n');
    expect(log).to.not.match(/SECRET/);
    expect(log).to.include('"GET /api/rooms/lobby/events?[redacted] HTTP/1.1"');
    expect(log).to.include('"GET /api/rooms/lobby?after=3 HTTP/1.1"');
    // A %-escape in a value (an observe cursor) is no reason to hide the query.
    expect(log).to.include('"GET /api/observe?rooms=lobby%3A3&wait=5 HTTP/1.1"');
  });

  /** GETs `path` through nginx: status, body and how long it took. */
  async function timedGet(path: string): Promise<{ status: number; text: string; ms: number }> {
    const startedAt = Date.now();
    const response = await fetch(`${nginx!.url}${path}`, { signal: AbortSignal.timeout(15_000) });
    return { status: response.status, text: await response.text(), ms: Date.now() - startedAt };
  }

  it('replays short observes parked on a frozen chatserver on another within 8 s, then skips the frozen one', async () => {
    const frozenPort = await listen(frozenUpstream());
    const livePort = await listen(namedUpstream('live'));
    nginx = await startNginx({ runDir, webPorts: [livePort], chatPorts: [frozenPort, livePort] });
    // least_conn spreads four at once over both chatservers: two park on the frozen one.
    const first = await Promise.all([1, 2, 3, 4].map((n) => timedGet(`/api/observe?rooms=lobby:${n}&wait=5`)));
    for (const answer of first) {
      expect(answer.text).to.equal('live');
      expect(answer.ms).to.be.below(10_000);
    }
    expect(Math.max(...first.map((answer) => answer.ms)), 'some observe went to the frozen chatserver first').to.be.at.least(7000);
    // Counted as failed (max_fails=1): for fail_timeout nginx sends nothing there.
    for (let n = 0; n < 3; n++) expect((await timedGet('/api/observe?rooms=lobby&wait=0')).ms).to.be.below(1000);
    const errors = readFileSync(join(runDir, 'error.log'), 'utf8');
    expect(errors).to.match(/\[error\].*upstream timed out/);
  });

  it('carries a long hold in 6 s hops: follows each X-Accel-Redirect itself, up to 55 s of wait, and the client sees one answer', async () => {
    const seen: { wait: string | null; hop: string | undefined; authorization: string | undefined }[] = [];
    const hopping = hoppingUpstream((_req, res, query) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"events":[],"cursor":"${query.get('rooms') ?? ''}"}`);
    });
    hopping.prependListener('request', (req: IncomingMessage) => {
      const hop = req.headers['x-parley-observe-hop'];
      seen.push({ wait: new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('wait'), hop: typeof hop === 'string' ? hop : undefined, authorization: req.headers.authorization });
    });
    const port = await listen(hopping);
    nginx = await startNginx({ runDir, webPorts: [port], chatPorts: [port] });
    // A client's own hop header is never what the chatserver gets.
    const response = await fetch(`${nginx.url}/api/observe?rooms=lobby%3A3&wait=55&callback=cb`, {
      headers: { authorization: 'Bearer t', 'x-parley-observe-hop': '1' },
      signal: AbortSignal.timeout(10_000),
    });
    expect(response.status).to.equal(200);
    expect(await response.text()).to.equal('{"events":[],"cursor":"lobby:3"}');
    expect(response.headers.get('x-accel-redirect')).to.equal(null);
    // Nine hops of 6 s, then the last second.
    expect(seen.map((request) => request.wait)).to.deep.equal(['55', '49', '43', '37', '31', '25', '19', '13', '7', '1']);
    expect(seen.map((request) => request.hop)).to.deep.equal(Array(10).fill('6'));
    expect(seen.every((request) => request.authorization === 'Bearer t')).to.equal(true);
  });

  it('answers a 55 s hold whose last hop fails in the error shape, not with its own 500 (nginx allows 10 internal redirects)', async () => {
    const port = await listen(hoppingUpstream((req) => req.socket.destroy()));
    nginx = await startNginx({ runDir, webPorts: [port], chatPorts: [port] });
    for (const wait of [55, 54, 49]) {
      const answer = await timedGet(`/api/observe?rooms=lobby%3A3&wait=${wait}`);
      expect([answer.status, JSON.parse(answer.text).error.code], `wait=${wait}`).to.deep.equal([503, 'unavailable']);
    }
  });

  it('replays a long hold parked on a frozen chatserver on another within 8 s', async () => {
    const frozenPort = await listen(frozenUpstream());
    const livePort = await listen(namedUpstream('live'));
    nginx = await startNginx({ runDir, webPorts: [livePort], chatPorts: [frozenPort, livePort] });
    // wait=25 is DESIGN's default hold; left out, it is the same.
    const first = await Promise.all(['&wait=25', '', '&wait=55', '&wait=6'].map((wait, n) => timedGet(`/api/observe?rooms=lobby:${n}${wait}`)));
    for (const answer of first) {
      expect(answer.text).to.equal('live');
      expect(answer.ms).to.be.below(10_000);
    }
    expect(Math.max(...first.map((answer) => answer.ms)), 'some observe went to the frozen chatserver first').to.be.at.least(7000);
  });

  it('replays a stream whose chatserver is frozen on another within 3 s', async () => {
    const frozenPort = await listen(frozenUpstream());
    const livePort = await listen(namedUpstream('live'));
    nginx = await startNginx({ runDir, webPorts: [livePort], chatPorts: [frozenPort, livePort] });
    const streams = await Promise.all([1, 2, 3, 4].map((n) => timedGet(`/api/observe/stream?rooms=lobby:${n}`)));
    for (const answer of streams) {
      expect(answer.text).to.equal('live');
      expect(answer.ms).to.be.below(5000);
    }
    expect(Math.max(...streams.map((answer) => answer.ms))).to.be.at.least(2500);
  });

  it('refuses a session token in a URL at the edge, and logs upstream failures at error level without any token', async () => {
    // A port nobody listens on: every request to it fails to connect.
    const closedServer = createServer();
    const closedPort = await listen(closedServer);
    await new Promise<void>((resolve) => closedServer.close(() => resolve()));
    nginx = await startNginx({ runDir, webPorts: [closedPort], chatPorts: [closedPort] });
    for (const path of ['/api/rooms/lobby/events?callback=cb&session=SECRET1', '/api/observe?rooms=lobby&%73ession=SECRET2', '/api/session?SESSION=SECRET3', '/api/rooms?a=1&session']) {
      const answer = await timedGet(path);
      expect(answer.status, path).to.equal(400);
      expect(JSON.parse(answer.text).error.code, path).to.equal('session_in_url');
    }
    // Names that only contain the word are not a session token.
    expect((await timedGet('/api/rooms?sessions=1')).status).to.equal(503);
    expect((await timedGet('/api/observe?rooms=lobby&wait=0&ticket=lobby.1.x')).status).to.equal(503);
    const errors = readFileSync(join(runDir, 'error.log'), 'utf8');
    expect(errors).to.match(/\[error\].*connect\(\) failed/);
    expect(errors).to.not.match(/SECRET/);
  });

  it('moves reads and says off a frozen web process within 5 s, giving each say an idempotency key', async () => {
    const sayIds: string[] = [];
    const frozenPort = await listen(frozenUpstream());
    const livePort = await listen(namedUpstream('live', sayIds));
    nginx = await startNginx({ runDir, webPorts: [frozenPort, livePort], chatPorts: [livePort] });
    const timed = async (path: string, init: RequestInit): Promise<{ text: string; ms: number }> => {
      const startedAt = Date.now();
      const response = await fetch(`${nginx!.url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
      expect(response.status, path).to.equal(200);
      return { text: await response.text(), ms: Date.now() - startedAt };
    };
    // The frozen process is the say writer (first) and in the read rotation.
    const say = await timed('/api/rooms/lobby/say', { method: 'POST', body: '{"text":"hi"}', headers: { 'x-parley-say-id': 'forged' } });
    expect(say.text).to.equal('live');
    expect(say.ms).to.be.below(5000);
    expect(sayIds).to.have.length(1);
    expect(sayIds[0]).to.match(/^[0-9a-f]{32}$/);
    for (let i = 0; i < 4; i++) {
      const read = await timed('/api/rooms', { method: 'GET', headers: { 'x-parley-say-id': 'forged' } });
      expect(read.text).to.equal('live');
      expect(read.ms).to.be.below(5000);
    }
    // A say id only ever comes from nginx, and only on a say.
    expect(sayIds).to.have.length(1);
  });
});
