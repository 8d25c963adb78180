import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { REPO_ROOT } from '../src/supervisor.js';
import { renderNginxConfig, startNginx, writeNginxConfig } from '../src/nginx.js';

/** Runs `nginx -t` on a config whose files all live under `runDir`. */
function nginxTest(runDir: string, configPath: string): { status: number | null; output: string } {
  const result = spawnSync('nginx', ['-t', '-p', `${runDir}/`, '-c', configPath, '-e', join(runDir, 'error.log')], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('nginx configuration', () => {
  let runDir: string;

  beforeEach(() => {
    runDir = mkdtempSync(join(tmpdir(), 'parley-nginx-'));
  });

  afterEach(() => {
    rmSync(runDir, { recursive: true, force: true });
  });

  it('renders a template that nginx -t accepts', () => {
    const configPath = writeNginxConfig({ runDir, publicPort: 18080, webPorts: [13001, 13002], chatPorts: [14001, 14002] });
    const result = nginxTest(runDir, configPath);
    expect(result.status, result.output).to.equal(0);
  });

  it('lists every web and chatserver port as an upstream server', () => {
    const text = renderNginxConfig({ runDir, publicPort: 18080, webPorts: [13001, 13002], chatPorts: [14001, 14002] });
    for (const port of [13001, 13002, 14001, 14002]) {
      expect(text).to.include(`server 127.0.0.1:${port} max_fails=1 fail_timeout=2s;`);
    }
    expect(text).to.not.match(/\{\{[A-Z_]+\}\}/);
  });

  it('keeps the single-writer say route for SQLite and spreads says for PostgreSQL', () => {
    const sayUpstream = (singleSayWriter: boolean): string =>
      /upstream parley_say \{([^}]*)\}/.exec(renderNginxConfig({ runDir, publicPort: 18080, webPorts: [13001, 13002, 13003], chatPorts: [14001], singleSayWriter }))?.[1] ?? '';
    const servers = (text: string): string[] => [...text.matchAll(/server (127\.0\.0\.1:\d+)[^;]*?( backup)?;/g)].map((match) => `${match[1]}${match[2] ?? ''}`);
    expect(servers(sayUpstream(true))).to.deep.equal(['127.0.0.1:13001', '127.0.0.1:13002 backup', '127.0.0.1:13003 backup']);
    expect(servers(sayUpstream(false))).to.deep.equal(['127.0.0.1:13001', '127.0.0.1:13002', '127.0.0.1:13003']);
  });

  it('replays a timed-out observe elsewhere, a long-poll carried in 6 s hops and a stream, in both configs', () => {
    const rendered = renderNginxConfig({ runDir, publicPort: 18080, webPorts: [13001], chatPorts: [14001] });
    const docker = readFileSync(join(REPO_ROOT, 'nginx', 'docker.conf'), 'utf8');
    for (const [name, text] of [['template', rendered], ['docker.conf', docker]] as const) {
      const block = (path: string): string => new RegExp(`location = ${path} \\{([^{}]*)\\}`).exec(text)?.[1] ?? '';
      const observe = block('/api/observe');
      expect(observe, name).to.match(/proxy_next_upstream error timeout;/);
      // Hops of 6 s: 2 s past one, the chatserver is sick.
      expect(observe, name).to.match(/proxy_read_timeout 8s;/);
      expect(observe, name).to.match(/proxy_buffering off;/);
      // One route for every hold: no rewrite, so a 55 s hold's 9 redirects leave nginx one for its error page.
      expect(observe, name).to.not.match(/rewrite|if \(/);
      expect(text, name).to.match(/map \$uri \$parley_observe_hop \{\s*\/api\/observe\s+6;\s*default\s+"";\s*\}/);
      expect(text, name).to.match(/proxy_set_header X-Parley-Observe-Hop \$parley_observe_hop;/);
      const stream = block('/api/observe/stream');
      expect(stream, name).to.match(/proxy_read_timeout 3s;/);
      expect(stream, name).to.match(/proxy_next_upstream error timeout;/);
    }
  });

  it('hides its version, answers /internal/ itself and forwards the client address and scheme, in both configs', () => {
    const rendered = renderNginxConfig({ runDir, publicPort: 18080, webPorts: [13001], chatPorts: [14001] });
    const docker = readFileSync(join(REPO_ROOT, 'nginx', 'docker.conf'), 'utf8');
    for (const [name, text] of [['template', rendered], ['docker.conf', docker]] as const) {
      expect(text, name).to.match(/^\s*server_tokens off;/m);
      const internal = /location ~\* \^\/\(internal\|metrics\)\(\/\|\$\) \{([^}]*)\}/.exec(text)?.[1];
      expect(internal, name).to.be.a('string');
      expect(internal, name).to.not.match(/proxy_pass/);
      // The web tier believes these only from a trusted proxy (PARLEY_TRUSTED_PROXIES).
      expect(text, name).to.match(/proxy_set_header X-Real-IP \$remote_addr;/);
      expect(text, name).to.match(/proxy_set_header X-Forwarded-Proto \$scheme;/);
    }
  });

  it('refuses to render without a chatserver', () => {
    expect(() => renderNginxConfig({ runDir, publicPort: 18080, webPorts: [13001], chatPorts: [] })).to.throw(/chatserver/);
  });

  it('refuses a template with an unknown placeholder', () => {
    const templatePath = join(runDir, 'bad.template');
    writeFileSync(templatePath, 'worker_processes {{NO_SUCH_VALUE}};\n');
    expect(() =>
      renderNginxConfig({ runDir, publicPort: 18080, webPorts: [13001], chatPorts: [14001], templatePath }),
    ).to.throw(/NO_SUCH_VALUE/);
  });

  it('ships a docker config that nginx -t accepts once service names point at loopback', () => {
    const docker = readFileSync(join(REPO_ROOT, 'nginx', 'docker.conf'), 'utf8');
    const local = docker
      .replace(/\b(?:web|chat)-\d+:/g, '127.0.0.1:')
      .replace('pid /tmp/nginx.pid;', `pid ${runDir}/nginx.pid;`)
      // A container's /dev/stderr is a pipe; here it may be nothing nginx can open.
      .replace('error_log /dev/stderr', `error_log ${runDir}/error.log`)
      .replace('access_log /dev/stdout', `access_log ${runDir}/access.log`);
    const configPath = join(runDir, 'docker.conf');
    writeFileSync(configPath, local);
    const result = nginxTest(runDir, configPath);
    expect(result.status, result.output).to.equal(0);
  });

  it('answers /metrics itself with 404 and never passes it to a web process', async function () {
    this.timeout(20_000);
    // An upstream that answers 200 to anything: a 404 can only come from nginx.
    const upstream: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('upstream answered\n');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const nginx = await startNginx({ runDir, webPorts: [upstreamPort], chatPorts: [upstreamPort] });
    try {
      const fetchText = async (path: string): Promise<{ status: number; text: string }> => {
        const response = await fetch(`${nginx.url}${path}`, { signal: AbortSignal.timeout(5000) });
        return { status: response.status, text: await response.text() };
      };
      // The same upstream is reachable through nginx on other paths.
      expect(await fetchText('/metricsx')).to.deep.equal({ status: 200, text: 'upstream answered\n' });
      const spellings = ['/metrics', '/metrics?name=parley_says_total', '/METRICS', '/Metrics', '/metrics/', '//metrics', '/%6Detrics',
        '/api/%2E%2E/metrics', '/INTERNAL/heads', '/Internal/heads', '/internal%2Fheads', '/internal', '/api/../internal/heads'];
      for (const path of spellings) {
        const answer = await fetchText(path);
        expect(answer.status, path).to.equal(404);
        expect(JSON.parse(answer.text), path).to.deep.equal({ error: { code: 'not_found', message: 'not found' } });
      }
    } finally {
      await nginx.stop();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    }
  });

  it('sends every say to one web process and the rest to all, the next one taking says when the first is down', async function () {
    this.timeout(20_000);
    // Two upstreams that name themselves; a free port with no listener plays a dead first web.
    const named = (name: string): Server =>
      createServer((req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(name);
      });
    const first = named('first');
    const second = named('second');
    const listen = async (server: Server): Promise<number> => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    };
    const [firstPort, secondPort] = [await listen(first), await listen(second)];
    const post = async (url: string): Promise<string> => {
      const response = await fetch(url, { method: 'POST', body: '{}', signal: AbortSignal.timeout(5000) });
      expect(response.status, url).to.equal(200);
      return response.text();
    };
    const answersOf = async (base: string, path: string, count: number): Promise<string[]> => {
      const answers: string[] = [];
      for (let i = 0; i < count; i++) answers.push(await post(`${base}${path}`));
      return answers.sort();
    };
    let nginx = await startNginx({ runDir, webPorts: [firstPort, secondPort], chatPorts: [firstPort] });
    try {
      expect(await answersOf(nginx.url, '/api/rooms/lobby/say', 6)).to.deep.equal(Array(6).fill('first'));
      // Everything else is round robin over both.
      expect(new Set(await answersOf(nginx.url, '/api/rooms/lobby/enter', 6))).to.deep.equal(new Set(['first', 'second']));
      await nginx.stop();

      await new Promise<void>((resolve) => first.close(() => resolve()));
      nginx = await startNginx({ runDir, webPorts: [firstPort, secondPort], chatPorts: [secondPort] });
      expect(await answersOf(nginx.url, '/api/rooms/lobby/say', 4)).to.deep.equal(Array(4).fill('second'));
    } finally {
      await nginx.stop();
      if (first.listening) await new Promise<void>((resolve) => first.close(() => resolve()));
      await new Promise<void>((resolve) => second.close(() => resolve()));
    }
  });

  it('spreads says over every web process in the docker config (PostgreSQL)', () => {
    const docker = readFileSync(join(REPO_ROOT, 'nginx', 'docker.conf'), 'utf8');
    expect(docker).to.match(/upstream parley_say \{\s*server web-1:3000 max_fails=1 fail_timeout=2s;\s*server web-2:3000 max_fails=1 fail_timeout=2s;\s*keepalive/);
    expect(docker).to.match(/location ~ \^\/api\/rooms\/\[\^\/\]\+\/say\$ \{\s*limit_conn parley_requests_per_address \d+;\s*proxy_pass http:\/\/parley_say;/);
  });

  it('keeps /metrics out of the docker config too', () => {
    const docker = readFileSync(join(REPO_ROOT, 'nginx', 'docker.conf'), 'utf8');
    expect(docker).to.match(/location ~\* \^\/\(internal\|metrics\)\(\/\|\$\) \{\s*default_type application\/json;\s*return 404 /);
  });
});
