import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { DEFAULT_REDIS_PREFIX, registryKey, silentLogger, type Logger } from '@parley/protocol';
import { writeClusterFile, type ClusterProcessInfo } from './cluster-file.js';
import type { LineSink } from './line-splitter.js';
import { createHostNetwork, type HostNetwork } from './netns.js';
import { startNginx, type NginxHandle } from './nginx.js';
import { startPostgresServer, type PostgresServerHandle } from './postgres-server.js';
import { startRedisSentinel, startRedisServer, type RedisServerHandle } from './redis-server.js';
import { SupervisedProcess } from './supervised-process.js';
import { REPO_ROOT, logTails, type ChildRole } from './supervisor.js';
import { sleep, waitForHealthy } from './wait.js';

/** The Sentinels' name for Parley's Redis primary. */
export const MULTIHOST_REDIS_MASTER = 'parley';
// Each host is its own network namespace, so every host uses the same, usual, ports.
const PORTS = { redis: 6379, sentinel: 26379, postgres: 5432, web: 3000, worker: 3900, chat: 4000, chatInternal: 4100 } as const;
// Sentinel: a primary silent this long is down; then a failover takes about a second more.
const SENTINEL_DOWN_AFTER_MS = 2000;
const SENTINEL_FAILOVER_TIMEOUT_MS = 10_000;
const PRIMARY_POLL_MS = 500;

/** Options of `startMultihostCluster`. */
export interface MultihostOptions {
  /** Logs, data and `cluster.json`. */
  runDir: string;
  /** nginx's port on 127.0.0.1 of the root namespace. @default a free port */
  publicPort?: number;
  /** @default 32 random bytes, hex */
  secret?: string;
  /** Extra environment of every web, worker and chatserver. @default {} */
  env?: Readonly<Record<string, string>>;
  /**
   * Runs every Node process of these hosts through a command, e.g.
   * `{ b: ['faketime', '-f', '+30s'] }` for a host whose clock runs ahead. @default {}
   */
  hostCommandPrefix?: Readonly<Record<string, readonly string[]>>;
  /** PostgreSQL's fsync on. @default true */
  postgresDurable?: boolean;
  log?: Logger;
  output?: LineSink;
  /** Own process groups (Ctrl-C reaches only the supervisor). @default false */
  detached?: boolean;
  /** @default 90000 */
  startTimeoutMs?: number;
  /** @default 10000 */
  stopTimeoutMs?: number;
}

/** A Node process of the multihost cluster. */
interface NodeSlot {
  role: ChildRole;
  host: string;
  name: string;
  address: string;
  port: number;
  internalPort?: number;
  pid: number | null;
  process: SupervisedProcess;
}

/** A running multihost cluster. */
export interface MultihostHandle {
  /** `http://127.0.0.1:PORT`: nginx in the root namespace. */
  readonly publicUrl: string;
  readonly runDir: string;
  readonly secret: string;
  readonly network: HostNetwork;
  /** PostgreSQL on host c. */
  readonly postgres: PostgresServerHandle;
  /** Host name → its redis-server (c: the first primary; a, b: replicas). */
  readonly redis: ReadonlyMap<string, RedisServerHandle>;
  /** Host name → its Sentinel. */
  readonly sentinels: ReadonlyMap<string, RedisServerHandle>;
  /** As in `cluster.json`: role, name, host, address, pid, ports, `primary` on the current Redis primary. */
  processes(): ClusterProcessInfo[];
  /** The host whose redis-server the Sentinels name as primary now. */
  primaryHost(): Promise<string | undefined>;
  /** Signals a Node process (`web-a`, `chatserver-b`, …) by pid; the supervisor restarts it. */
  kill(name: string, signal?: NodeJS.Signals): void;
  /** A new host with web + chatserver joins; nginx is reloaded with it. Nothing else is told. */
  addHost(name: string): Promise<void>;
  /** A host's web + chatserver leave (SIGTERM), nginx is reloaded without them, the host is removed. */
  removeHost(name: string): Promise<void>;
  /** Resolves once every Node process answers /healthz, nginx routes and the registry lists every chatserver. */
  waitUntilReady(timeoutMs?: number): Promise<void>;
  /** Stops everything and removes every namespace. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Three hosts on one machine, each a network namespace on one bridge: hosts
 * a and b run web, worker, chatserver, a Redis replica and a Sentinel; host c
 * runs PostgreSQL, the Redis primary and a Sentinel; nginx on 127.0.0.1 in
 * the root namespace routes to the web and chatserver addresses of a and b.
 * Every process is supervised (restarted when it dies). Needs root.
 */
export async function startMultihostCluster(options: MultihostOptions): Promise<MultihostHandle> {
  const runDir = resolve(options.runDir);
  const log = options.log ?? silentLogger;
  const secret = options.secret ?? randomBytes(32).toString('hex');
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const detached = options.detached ?? false;
  const entryPoint = (role: ChildRole): string => join(REPO_ROOT, 'packages', role, 'dist', 'main.js');
  for (const role of ['web', 'worker', 'chatserver'] as const) {
    if (!existsSync(entryPoint(role))) throw new Error(`${entryPoint(role)} is missing: build first (npx tsc -b)`);
  }
  const logDir = join(runDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const clusterFile = join(runDir, 'cluster.json');

  const network = await createHostNetwork(['a', 'b', 'c']);
  log.info({ tag: network.tag, hosts: network.hosts().map((host) => `${host.name}=${host.address}`) }, 'network namespaces created');
  const redis = new Map<string, RedisServerHandle>();
  const sentinels = new Map<string, RedisServerHandle>();
  const slots: NodeSlot[] = [];
  let postgres: PostgresServerHandle | undefined;
  let nginx: NginxHandle | undefined;
  let primaryAddress: string | undefined;
  let primaryTimer: NodeJS.Timeout | undefined;

  const hostOf = (address: string): string | undefined => network.hosts().find((host) => host.address === address)?.name;
  const processes = (): ClusterProcessInfo[] => {
    const list: ClusterProcessInfo[] = [];
    const server = (role: 'redis' | 'sentinel', host: string, handle: RedisServerHandle): ClusterProcessInfo => ({
      role,
      name: `${role}-${host}`,
      host,
      address: handle.host,
      pid: handle.pid ?? null,
      port: handle.port,
      ...(role === 'redis' ? { primary: handle.host === primaryAddress } : {}),
    });
    if (postgres) list.push({ role: 'postgres', name: 'postgres-c', host: 'c', address: network.host('c').address, pid: postgres.pid ?? null, port: postgres.port, url: postgres.url });
    for (const [host, handle] of redis) list.push(server('redis', host, handle));
    for (const [host, handle] of sentinels) list.push(server('sentinel', host, handle));
    for (const slot of slots) {
      const info: ClusterProcessInfo = { role: slot.role, name: slot.name, host: slot.host, address: slot.address, pid: slot.pid, port: slot.port };
      if (slot.internalPort !== undefined) info.internalPort = slot.internalPort;
      list.push(info);
    }
    if (nginx) list.push({ role: 'nginx', name: 'nginx', host: 'root', address: '127.0.0.1', pid: nginx.pid ?? null, port: nginx.port });
    return list;
  };
  const rewriteClusterFile = (): void => {
    try {
      writeClusterFile(clusterFile, processes());
    } catch (error) {
      log.error({ path: clusterFile, err: (error as Error).message }, 'cannot write cluster.json');
    }
  };
  const supervision = { restartOnCrash: true, log, detached, onPidChange: () => rewriteClusterFile() } as const;

  const primaryHost = async (): Promise<string | undefined> => {
    for (const sentinel of sentinels.values()) {
      const client = new Redis({ host: sentinel.host, port: sentinel.port, lazyConnect: true, connectTimeout: 500, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const answer = (await client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MULTIHOST_REDIS_MASTER)) as [string, string] | null;
        if (answer !== null) return hostOf(answer[0]);
      } catch {
        // that Sentinel is partitioned or restarting: ask the next
      } finally {
        client.disconnect();
      }
    }
    return undefined;
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info({}, 'stopping multihost cluster');
      clearInterval(primaryTimer);
      await Promise.all(slots.map((slot) => slot.process.stop(stopTimeoutMs)));
      await nginx?.stop();
      await Promise.all([...sentinels.values()].map((server) => server.stop()));
      await Promise.all([...redis.values()].map((server) => server.stop()));
      await postgres?.stop();
      rewriteClusterFile();
      // Kills by pid whatever is left in each namespace, then removes them by name.
      await network.destroy();
      log.info({ tag: network.tag }, 'network namespaces removed');
    })();
    return stopping;
  };

  const sentinelList = (): string => ['a', 'b', 'c'].map((host) => `${network.host(host).address}:${PORTS.sentinel}`).join(',');
  const webAddresses = (): string[] => slots.filter((slot) => slot.role === 'web').map((slot) => `${slot.address}:${slot.port}`);
  const chatAddresses = (): string[] => slots.filter((slot) => slot.role === 'chatserver').map((slot) => `${slot.address}:${slot.port}`);

  const addNodeSlot = (role: ChildRole, host: string): NodeSlot => {
    const { address } = network.host(host);
    const name = `${role}-${host}`;
    const webUrls = ['a', 'b'].map((webHost) => `http://${network.host(webHost).address}:${PORTS.web}`).join(',');
    const own: Record<string, string> =
      role === 'web'
        ? {
            PARLEY_WEB_HOST: address,
            PARLEY_WEB_PORT: String(PORTS.web),
            PARLEY_DATABASE_URL: postgres?.url ?? '',
            // nginx reaches the web processes from the bridge's address.
            PARLEY_TRUSTED_PROXIES: network.rootAddress,
          }
        : role === 'worker'
          ? { PARLEY_WORKER_HOST: address, PARLEY_WORKER_PORT: String(PORTS.worker), PARLEY_WEB_URLS: webUrls }
          : {
              PARLEY_CHAT_HOST: address,
              PARLEY_CHAT_PORT: String(PORTS.chat),
              PARLEY_CHAT_INTERNAL_HOST: address,
              PARLEY_CHAT_INTERNAL_PORT: String(PORTS.chatInternal),
              PARLEY_CHAT_ADVERTISE_URL: `http://${address}:${PORTS.chatInternal}`,
              PARLEY_WEB_URLS: webUrls,
            };
    const prefix = [...network.execPrefix(host), ...(options.hostCommandPrefix?.[host] ?? [])];
    const [command = 'ip', ...prefixArgs] = prefix;
    const slot: NodeSlot = {
      role,
      host,
      name,
      address,
      port: role === 'web' ? PORTS.web : role === 'worker' ? PORTS.worker : PORTS.chat,
      pid: null,
      process: new SupervisedProcess({
        name,
        command,
        args: [...prefixArgs, process.execPath, entryPoint(role)],
        env: {
          ...process.env,
          ...options.env,
          PARLEY_SECRET: secret,
          PARLEY_REDIS_SENTINELS: sentinelList(),
          PARLEY_REDIS_MASTER: MULTIHOST_REDIS_MASTER,
          PARLEY_REDIS_PREFIX: DEFAULT_REDIS_PREFIX,
          ...own,
        },
        cwd: REPO_ROOT,
        logFile: join(logDir, `${name}.log`),
        output: options.output,
        detached,
        log,
        onPidChange: (pid) => {
          slot.pid = pid;
          rewriteClusterFile();
        },
      }),
    };
    if (role === 'chatserver') slot.internalPort = PORTS.chatInternal;
    slots.push(slot);
    return slot;
  };

  const waitForSlot = async (slot: NodeSlot, deadline: number): Promise<void> => {
    const ownRole = (body: string): boolean => {
      try {
        return (JSON.parse(body) as { role?: unknown }).role === slot.role;
      } catch {
        return false;
      }
    };
    await waitForHealthy(`http://${slot.address}:${slot.port}/healthz`, Math.max(deadline - Date.now(), 0), ownRole);
  };

  const waitForRegistry = async (deadline: number): Promise<void> => {
    const expected = slots.filter((slot) => slot.role === 'chatserver').map((slot) => `http://${slot.address}:${PORTS.chatInternal}`);
    const client = new Redis({
      sentinels: ['a', 'b', 'c'].map((host) => ({ host: network.host(host).address, port: PORTS.sentinel })),
      name: MULTIHOST_REDIS_MASTER,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    client.on('error', () => undefined);
    try {
      for (;;) {
        if (client.status === 'wait' || client.status === 'end') await client.connect().catch(() => undefined);
        const [seconds = '0'] = await client.time().catch(() => ['0']);
        const live = await client.zrange(registryKey(DEFAULT_REDIS_PREFIX), `(${Number(seconds) * 1000}`, '+inf', 'BYSCORE').catch(() => [] as string[]);
        if (expected.every((url) => live.includes(url))) return;
        if (Date.now() >= deadline) throw new Error(`registry lists ${live.join(', ') || 'no chatserver'}; expected ${expected.join(', ')}`);
        await sleep(200);
      }
    } finally {
      client.disconnect();
    }
  };

  const waitUntilReady = async (timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(slots.map((slot) => waitForSlot(slot, deadline)));
    if (nginx) await waitForHealthy(`${nginx.url}/healthz`, Math.max(deadline - Date.now(), 0));
    await waitForRegistry(deadline);
  };

  try {
    const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
    const c = network.host('c');
    postgres = await startPostgresServer({
      dir: join(runDir, 'postgres'),
      host: c.address,
      port: PORTS.postgres,
      netns: c.namespace,
      trustNetworks: [`${c.address.replace(/\.\d+$/, '.0')}/24`],
      durable: options.postgresDurable ?? true,
      ...supervision,
    });
    redis.set('c', await startRedisServer({ name: 'redis-c', dir: join(runDir, 'redis-c'), host: c.address, port: PORTS.redis, commandPrefix: network.execPrefix('c'), ...supervision }));
    for (const host of ['a', 'b']) {
      const { address } = network.host(host);
      redis.set(
        host,
        await startRedisServer({
          name: `redis-${host}`,
          dir: join(runDir, `redis-${host}`),
          host: address,
          port: PORTS.redis,
          replicaOf: { host: c.address, port: PORTS.redis },
          commandPrefix: network.execPrefix(host),
          ...supervision,
        }),
      );
    }
    for (const host of ['a', 'b', 'c']) {
      sentinels.set(
        host,
        await startRedisSentinel({
          name: `sentinel-${host}`,
          dir: join(runDir, `sentinel-${host}`),
          host: network.host(host).address,
          port: PORTS.sentinel,
          master: { name: MULTIHOST_REDIS_MASTER, host: c.address, port: PORTS.redis },
          quorum: 2,
          downAfterMs: SENTINEL_DOWN_AFTER_MS,
          failoverTimeoutMs: SENTINEL_FAILOVER_TIMEOUT_MS,
          commandPrefix: network.execPrefix(host),
          ...supervision,
        }),
      );
    }
    primaryAddress = c.address;
    rewriteClusterFile();
    primaryTimer = setInterval(() => {
      void primaryHost().then((host) => {
        const address = host === undefined ? undefined : network.host(host).address;
        if (address === undefined || address === primaryAddress) return;
        log.info({ from: hostOf(primaryAddress ?? ''), to: host }, 'redis primary changed');
        primaryAddress = address;
        rewriteClusterFile();
      });
    }, PRIMARY_POLL_MS);
    primaryTimer.unref();

    // web-a first, alone: it creates the schema; then everything else.
    const firstWeb = addNodeSlot('web', 'a');
    void firstWeb.process.start();
    await waitForSlot(firstWeb, deadline);
    const others = [addNodeSlot('web', 'b'), ...['a', 'b'].flatMap((host) => [addNodeSlot('worker', host), addNodeSlot('chatserver', host)])];
    for (const slot of others) void slot.process.start();
    await Promise.all(others.map((slot) => waitForSlot(slot, deadline)));

    nginx = await startNginx({
      runDir: join(runDir, 'nginx'),
      publicPort: options.publicPort ?? 0,
      webPorts: webAddresses(),
      chatPorts: chatAddresses(),
      singleSayWriter: false,
      ...supervision,
    });
    rewriteClusterFile();
    await waitUntilReady(Math.max(deadline - Date.now(), 1000));
  } catch (error) {
    const tails = logTails(runDir, 20);
    await stop().catch(() => undefined);
    throw new Error(`multihost cluster did not start: ${(error as Error).message}\n${tails}`, { cause: error });
  }

  const startedNginx = nginx;
  const startedPostgres = postgres;
  return {
    publicUrl: startedNginx.url,
    runDir,
    secret,
    network,
    postgres: startedPostgres,
    redis,
    sentinels,
    processes,
    primaryHost,
    kill(name, signal = 'SIGTERM') {
      const slot = slots.find((candidate) => candidate.name === name);
      if (slot === undefined) throw new Error(`no ${name} in this cluster`);
      if (!slot.process.kill(signal)) throw new Error(`${name} is not running`);
    },
    async addHost(name) {
      await network.addHost(name);
      const joining = [addNodeSlot('web', name), addNodeSlot('chatserver', name)];
      const deadline = Date.now() + 30_000;
      for (const slot of joining) void slot.process.start();
      await Promise.all(joining.map((slot) => waitForSlot(slot, deadline)));
      await waitForRegistry(deadline);
      startedNginx.reload({ webPorts: webAddresses(), chatPorts: chatAddresses() });
      rewriteClusterFile();
    },
    async removeHost(name) {
      const leaving = slots.filter((slot) => slot.host === name);
      // nginx first, so no new request goes there; then SIGTERM: parked observes are answered, the registry entry removed.
      for (const slot of leaving) slots.splice(slots.indexOf(slot), 1);
      startedNginx.reload({ webPorts: webAddresses(), chatPorts: chatAddresses() });
      await Promise.all(leaving.map((slot) => slot.process.stop(stopTimeoutMs)));
      await network.removeHost(name);
      rewriteClusterFile();
    },
    waitUntilReady,
    stop,
  };
}
