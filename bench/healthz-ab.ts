/**
 * The store-free ceiling taken apart: `GET /healthz` through nginx to 2 web
 * processes with the edge rules of `nginx/parley.conf.template` switched off
 * one at a time (the running nginx's config is rewritten and reloaded, so
 * every variant runs on the same cluster, alternated round by round), plus
 * the web processes asked directly (no nginx). Prints req/s, p99 and server
 * CPU per request per variant, medians over the rounds.
 *
 *   node --import tsx bench/healthz-ab.ts [--rounds 3] [--seconds 4] [--connections 64]
 *       [--variants full,direct,no-log,...]      (--help lists them all)
 *
 * With `PARLEY_ELD_DIR=/tmp/eld NODE_OPTIONS="--import $PWD/bench/eld-preload.mjs"`
 * every process also writes its event-loop delay per second.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import {
  BenchClient,
  benchArgs,
  closedLoop,
  cpuMsPerRequest,
  fmt,
  machineLine,
  markdownTable,
  median,
  startPinnedCluster,
  withCpuByRole,
  type PhaseResult,
} from './web-bench-kit.js';

/** Rewrites of the rendered nginx.conf; each must change it (checked). */
const EDITS: Record<string, (config: string) => string> = {
  // The access log line of every request (two regex maps feed it).
  'no-log': (config) => config.replace(/access_log \S+ parley;/, 'access_log off;'),
  // The Host and session-in-URL checks of the server block.
  'no-if': (config) => config.replace(/\n {8}if \((\$http_host|\$args) [^\n]*\n[^\n]*\n {8}\}/g, ''),
  // The per-address connection bound of API requests.
  'no-limit': (config) => config.replace(/\n\s*limit_conn parley_requests_per_address \d+;/g, ''),
  // The edge say id (a regex map evaluated for every proxied request).
  'no-sayid': (config) => config.replace(/\n\s*proxy_set_header X-Parley-Say-Id \$parley_say_id;/, ''),
  // The web upstreams' idle connections per worker back at 32, below the
  // generator's 64 (what the template had until 7 December).
  'keepalive-32': (config) => config.replace(/(upstream parley_(web|say) \{[^}]*)keepalive 256;/g, '$1keepalive 32;'),
};
const VARIANTS = ['full', 'direct', ...Object.keys(EDITS), 'bare', 'idle'];

const { numbers, strings, pinning } = benchArgs({
  usage: 'node --import tsx bench/healthz-ab.ts',
  summary: `GET /healthz through nginx to 2 web processes with nginx's edge rules off one
at a time (same cluster, config reloaded, variants alternated), and the web
processes directly. Variants: ${VARIANTS.join(', ')} (bare = every edit but keepalive-32;
idle = no requests, only the CPU each role spends).`,
  numbers: {
    rounds: { default: 3, help: 'rounds over the variants; medians over them' },
    seconds: { default: 4, help: 'measured seconds per variant (after 1 s of warm-up)' },
    connections: { default: 64, help: 'keep-alive connections of the closed loop' },
    web: { default: 2, help: 'web processes' },
  },
  strings: {
    variants: { default: VARIANTS.join(','), value: 'LIST', help: 'variants, in this order', check: (value) => value.split(',').find((name) => !VARIANTS.includes(name)) },
  },
});
const variants = strings.variants.split(',');

const bench = await startPinnedCluster({ webCount: numbers.web, pinning });
const configPath = join(bench.cluster.runDir, 'nginx', 'nginx.conf');
let original = '';
const nginxPid = (): number => {
  const pid = bench.cluster.processes().find((process) => process.role === 'nginx')?.pid;
  if (pid === null || pid === undefined) throw new Error('nginx is not running');
  return pid;
};
const webPorts = bench.cluster.processes().filter((process) => process.role === 'web').map((process) => process.port);

function configFor(variant: string): string {
  const names = variant === 'bare' ? Object.keys(EDITS).filter((name) => name !== 'keepalive-32') : variant in EDITS ? [variant] : [];
  let config = original;
  for (const name of names) {
    const edited = (EDITS[name] as (text: string) => string)(config);
    if (edited === config) throw new Error(`edit ${name} changed nothing: the template moved`);
    config = edited;
  }
  return config;
}

let loaded = '';
async function useConfig(config: string): Promise<void> {
  if (config === loaded) return;
  writeFileSync(configPath, config);
  // A config nginx refuses would leave the previous variant running: check it first.
  execFileSync('nginx', ['-t', '-q', '-p', `${dirname(configPath)}/`, '-c', configPath, '-e', join(dirname(configPath), 'error.log')], { stdio: 'inherit' });
  process.kill(nginxPid(), 'SIGHUP');
  loaded = config;
  // Old workers finish their requests and exit; new ones take new connections.
  await new Promise((resolve) => setTimeout(resolve, 1500));
}

const results = new Map<string, PhaseResult[]>(variants.map((variant) => [variant, []]));
const header = machineLine();
try {
  original = readFileSync(configPath, 'utf8');
  loaded = original;
  for (let round = 1; round <= numbers.rounds; round++) {
    for (const variant of variants) {
      let clients: BenchClient[];
      if (variant === 'idle') {
        // No requests: what the cluster spends on its own (periodic tasks, start-up).
        const { cpu } = await withCpuByRole(bench, () => new Promise((resolve) => setTimeout(resolve, (numbers.seconds + 1) * 1000)));
        process.stderr.write(`round ${round} idle: CPU s ${Object.entries(cpu).map(([role, seconds]) => `${role} ${fmt(seconds, 2)}`).join(', ')}\n`);
        continue;
      }
      if (variant === 'direct') {
        clients = webPorts.map((port) => new BenchClient(`http://127.0.0.1:${port}`, Math.ceil(numbers.connections / webPorts.length)));
      } else {
        await useConfig(configFor(variant));
        clients = [new BenchClient(bench.base, numbers.connections)];
      }
      const { result, cpu } = await withCpuByRole(bench, () =>
        closedLoop((index) => (clients[index % clients.length] as BenchClient).request('GET', '/healthz'), { concurrency: numbers.connections, seconds: numbers.seconds }),
      );
      await Promise.all(clients.map((client) => client.close()));
      const measured = { ...result, cpu };
      results.get(variant)?.push(measured);
      process.stderr.write(`round ${round} ${variant}: ${fmt(measured.perSecond, 0)}/s p50 ${fmt(measured.p50, 2)} p99 ${fmt(measured.p99, 2)} ms max ${fmt(measured.max, 0)} ms, ${fmt(cpuMsPerRequest(measured), 3)} ms CPU/req (${Object.entries(cpu).map(([role, seconds]) => `${role} ${fmt(seconds, 2)}`).join(', ')})${measured.failed ? ` failed ${measured.failed}: ${measured.firstError}` : ''}\n`);
    }
  }
} finally {
  if (original !== '') await useConfig(original).catch(() => undefined);
  await bench.stop();
}

const perRole = (list: PhaseResult[], role: string): string => fmt(median(list.map((result) => ((result.cpu?.[role] ?? 0) * 1000) / result.answered)), 3);
process.stdout.write(
  [
    `GET /healthz — ${numbers.rounds} rounds × ${numbers.seconds} s per variant, ${numbers.connections} keep-alive connections, ${numbers.web} web, server CPUs ${pinning.server}, generator CPUs ${pinning.generator}`,
    `machine: ${header}`,
    '',
    markdownTable(
      ['variant', 'req/s per round', 'median req/s', 'median p50 ms', 'median p99 ms', 'server CPU ms/req', 'web ms/req', 'nginx ms/req'],
      variants.filter((variant) => variant !== 'idle').map((variant) => {
        const list = results.get(variant) ?? [];
        return [
          variant,
          list.map((result) => fmt(result.perSecond, 0)).join(' / '),
          fmt(median(list.map((result) => result.perSecond)), 0),
          fmt(median(list.map((result) => result.p50)), 2),
          fmt(median(list.map((result) => result.p99)), 2),
          fmt(median(list.map(cpuMsPerRequest)), 3),
          perRole(list, 'web'),
          perRole(list, 'nginx'),
        ];
      }),
    ),
    '',
  ].join('\n'),
);
