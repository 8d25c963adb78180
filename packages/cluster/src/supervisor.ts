import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { DEFAULT_REDIS_PREFIX, registryKey, silentLogger, type Logger } from '@parley/protocol';
import { writeClusterFile, type ClusterProcessInfo, type ClusterRole } from './cluster-file.js';
import type { LineSink } from './line-splitter.js';
import { startNginx, type NginxHandle } from './nginx.js';
import { findFreePort, waitForPort } from './ports.js';
import { startPostgresServer, type PostgresServerHandle } from './postgres-server.js';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';
import { SupervisedProcess } from './supervised-process.js';
import { sleep, waitForHealthy } from './wait.js';

/** The Node processes of a cluster, one package each. */
export type ChildRole = 'web' | 'worker' | 'chatserver';

/** Where a cluster keeps its chat state. */
export type ClusterStore = 'sqlite' | 'postgres';

/** The repository root (this file is `packages/cluster/{src,dist}/supervisor.*`). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Options of `startCluster`. */
export interface ClusterOptions {
  /** Directory for redis data, the SQLite file or PostgreSQL's data, nginx files, logs and `cluster.json`. */
  runDir: string;
  /**
   * `'sqlite'`: the web processes share one file (`runDir/data/parley.db`) and
   * nginx sends every say to one of them. `'postgres'`: a private PostgreSQL
   * under `runDir/postgres`, supervised like the rest, is every web
   * process's `PARLEY_DATABASE_URL`, and says spread over every web process.
   * @default 'sqlite'
   */
  store?: ClusterStore;
  /**
   * PostgreSQL's `fsync` and `synchronous_commit` on (store `'postgres'`).
   * Tests that never crash the machine may turn them off. @default true
   */
  postgresDurable?: boolean;
  /** nginx's public port. @default 0: a free port */
  publicPort?: number;
  /** @default 2 */
  webCount?: number;
  /** @default 1 */
  workerCount?: number;
  /** @default 2 */
  chatCount?: number;
  /** HMAC secret of internal requests. @default 32 random bytes, hex, new for every run */
  secret?: string;
  /** Redis append-only file, so queued jobs survive a Redis restart. @default true */
  redisAppendOnly?: boolean;
  /**
   * Extra environment for every child (e.g. `PARLEY_LOG_LEVEL`,
   * `PARLEY_OUTBOX_RELAY_MS`, `PARLEY_PRESENCE_TIMEOUT_MS`,
   * `PARLEY_PRESENCE_SWEEP_MS`). Addresses, ports, Redis URL, database path and
   * secret are the cluster's own and always win. @default {}
   */
  env?: Readonly<Record<string, string>>;
  /** The supervisor's own log (starts, crashes, restarts). @default silentLogger */
  log?: Logger;
  /** Receives every child output line prefixed with its name (`web-1 | ...`). @default none */
  output?: LineSink;
  /** Bound on the whole start, until every process is healthy. @default 30000 */
  startTimeoutMs?: number;
  /** How long a child may take to exit after SIGTERM before it is killed. @default 10000 */
  stopTimeoutMs?: number;
  /** nginx `worker_processes`. @default 1 */
  nginxWorkerProcesses?: number | 'auto';
  /** nginx `worker_connections` (each proxied long-poll holds two). @default 4096 */
  nginxWorkerConnections?: number;
  /**
   * Start every process in its own process group, so Ctrl-C in a terminal
   * reaches only the supervisor, which then stops them in order (children,
   * nginx, Redis last: the children still need it to shut down cleanly). The
   * price: children outlive a supervisor that is SIGKILLed. @default false
   */
  detached?: boolean;
  /** Where `packages/<role>/dist/main.js` live. @default REPO_ROOT */
  repoRoot?: string;
}

/** A running local cluster. */
export interface ClusterHandle {
  /** nginx's public origin, `http://127.0.0.1:PORT`. */
  readonly publicUrl: string;
  readonly runDir: string;
  /** The HMAC secret the children share (tests forge requests with and without it). */
  readonly secret: string;
  /** Where chat state lives (`ClusterOptions.store`). */
  readonly store: ClusterStore;
  /**
   * The private Redis. `stop()` is a deliberate outage (it stays down until
   * `start()`); `kill()` is a crash, restarted by the supervisor like any
   * process. `cluster.json` follows either way.
   */
  readonly redis: RedisServerHandle;
  /** The private PostgreSQL (store `'postgres'` only), with the same stop/start/kill as `redis`. */
  readonly postgres: PostgresServerHandle | undefined;
  /** Every process with role, name, pid and ports, as in `cluster.json`. */
  processes(): ClusterProcessInfo[];
  /**
   * Sends `signal` to the child `role-index` by pid (`index` is 1-based, as in
   * `web-1`). The supervisor restarts a child that exits without being asked to.
   * @default signal 'SIGTERM'
   */
  kill(role: ChildRole, index: number, signal?: NodeJS.Signals): void;
  /** Resolves once every child answers `/healthz`, nginx routes, PostgreSQL (if any) accepts connections, and every chatserver is registered. */
  waitUntilReady(timeoutMs?: number): Promise<void>;
  /** Stops every child (SIGTERM, bounded, SIGKILL stragglers), then nginx, then Redis and PostgreSQL. Idempotent. */
  stop(): Promise<void>;
}

interface ChildSlot {
  role: ChildRole;
  index: number;
  name: string;
  port: number;
  internalPort?: number;
  pid: number | null;
  process: SupervisedProcess;
}

/**
 * Starts a whole Parley cluster on this machine: a private redis-server (and
 * PostgreSQL for store `'postgres'`), web, worker and chatserver processes,
 * and nginx in front, each restarted when it dies (250 ms doubling to 10 s).
 * Resolves once everything answers; on failure stops what it started and
 * rejects with the tail of the logs.
 */
export async function startCluster(options: ClusterOptions): Promise<ClusterHandle> {
  const runDir = resolve(options.runDir);
  const repoRoot = options.repoRoot ?? REPO_ROOT;
  const log = options.log ?? silentLogger;
  const webCount = options.webCount ?? 2;
  const workerCount = options.workerCount ?? 1;
  const chatCount = options.chatCount ?? 2;
  if (webCount < 1 || chatCount < 1 || workerCount < 0) {
    throw new Error('a cluster needs at least one web process and one chatserver, and no negative counts');
  }
  const store = options.store ?? 'sqlite';
  const secret = options.secret ?? randomBytes(32).toString('hex');
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;

  const entryPoint = (role: ChildRole): string => join(repoRoot, 'packages', role, 'dist', 'main.js');
  for (const role of ['web', 'worker', 'chatserver'] as const) {
    if (!existsSync(entryPoint(role))) throw new Error(`${entryPoint(role)} is missing: build first (npx tsc -b)`);
  }
  const logDir = join(runDir, 'logs');
  for (const dir of [runDir, logDir, join(runDir, 'data')]) mkdirSync(dir, { recursive: true });
  const clusterFile = join(runDir, 'cluster.json');
  const redisPrefix = options.env?.PARLEY_REDIS_PREFIX ?? process.env.PARLEY_REDIS_PREFIX ?? DEFAULT_REDIS_PREFIX;

  const slots: ChildSlot[] = [];
  let redis: RedisServerHandle | undefined;
  let postgres: PostgresServerHandle | undefined;
  let nginx: NginxHandle | undefined;

  const processes = (): ClusterProcessInfo[] => {
    const list: ClusterProcessInfo[] = [];
    if (redis) list.push({ role: 'redis', name: 'redis', pid: redis.pid ?? null, port: redis.port });
    if (postgres) list.push({ role: 'postgres', name: 'postgres', pid: postgres.pid ?? null, port: postgres.port, url: postgres.url });
    for (const slot of slots) {
      const info: ClusterProcessInfo = { role: slot.role, name: slot.name, pid: slot.pid, port: slot.port };
      if (slot.internalPort !== undefined) info.internalPort = slot.internalPort;
      list.push(info);
    }
    if (nginx) list.push({ role: 'nginx', name: 'nginx', pid: nginx.pid ?? null, port: nginx.port });
    return list;
  };
  const rewriteClusterFile = (): void => {
    try {
      writeClusterFile(clusterFile, processes());
    } catch (error) {
      log.error({ path: clusterFile, err: error }, 'cannot write cluster.json');
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info({ processes: slots.length }, 'stopping cluster');
      await Promise.all(slots.map((slot) => slot.process.stop(stopTimeoutMs)));
      await nginx?.stop();
      await Promise.all([redis?.stop(), postgres?.stop()]);
      rewriteClusterFile();
      log.info({}, 'cluster stopped');
    })();
    return stopping;
  };

  // redis, nginx and postgres are supervised like the children: restarted
  // after a crash, their pid in cluster.json at once.
  const supervision = { restartOnCrash: true, log, onPidChange: () => rewriteClusterFile() } as const;

  try {
    // Both at once (PostgreSQL's first start runs initdb); each is kept for stop() even if the other fails.
    const [redisStart, postgresStart] = await Promise.allSettled([
      startRedisServer({
        dir: join(runDir, 'redis'),
        appendOnly: options.redisAppendOnly ?? true,
        detached: options.detached ?? false,
        ...supervision,
      }).then((started) => (redis = started)),
      store === 'postgres'
        ? startPostgresServer({
            dir: join(runDir, 'postgres'),
            durable: options.postgresDurable ?? true,
            detached: options.detached ?? false,
            settings: { max_connections: String(postgresConnections(webCount, options.env ?? {})) },
            ...supervision,
          }).then((started) => (postgres = started))
        : Promise.resolve(undefined),
    ]);
    if (redisStart.status === 'rejected') throw redisStart.reason;
    if (postgresStart.status === 'rejected') throw postgresStart.reason;
    if (!redis) throw new Error('redis did not start');
    log.info({ port: redis.port, childPid: redis.pid ?? null }, 'redis started');
    if (postgres) log.info({ port: postgres.port, childPid: postgres.pid ?? null }, 'postgres started');
    rewriteClusterFile();

    // Every port a child will bind, picked before any of them binds: the
    // kernel may offer the same free port twice, so no port is handed out twice.
    const picked = new Set<number>();
    const webPorts = await freePorts(webCount, picked);
    const webUrls = webPorts.map((port) => `http://127.0.0.1:${port}`);
    const shared: Record<string, string> = {
      PARLEY_REDIS_URL: redis.url,
      PARLEY_REDIS_PREFIX: redisPrefix,
      PARLEY_SECRET: secret,
    };
    // The store is the cluster's own: a PARLEY_DATABASE_URL in our
    // environment must not send the SQLite cluster's web processes elsewhere.
    const storeEnv: Record<string, string> = postgres ? { PARLEY_DATABASE_URL: postgres.url } : { PARLEY_DB_PATH: join(runDir, 'data', 'parley.db') };
    const baseEnv = childBaseEnv(options.env ?? {});
    delete baseEnv.PARLEY_DATABASE_URL;

    const addSlot = (role: ChildRole, index: number, port: number, ownEnv: Record<string, string>, internalPort?: number): ChildSlot => {
      const name = `${role}-${index}`;
      const slot: ChildSlot = {
        role,
        index,
        name,
        port,
        pid: null,
        process: new SupervisedProcess({
          name,
          command: process.execPath,
          args: [entryPoint(role)],
          env: { ...baseEnv, ...shared, ...ownEnv },
          cwd: repoRoot,
          logFile: join(logDir, `${name}.log`),
          output: options.output,
          detached: options.detached ?? false,
          log,
          onPidChange: (pid) => {
            slot.pid = pid;
            rewriteClusterFile();
          },
        }),
      };
      if (internalPort !== undefined) slot.internalPort = internalPort;
      slots.push(slot);
      return slot;
    };

    webPorts.forEach((port, i) =>
      addSlot('web', i + 1, port, { PARLEY_WEB_HOST: '127.0.0.1', PARLEY_WEB_PORT: String(port), ...storeEnv }),
    );
    for (let i = 1; i <= workerCount; i++) {
      const [port] = (await freePorts(1, picked)) as [number];
      addSlot('worker', i, port, {
        PARLEY_WORKER_HOST: '127.0.0.1',
        PARLEY_WORKER_PORT: String(port),
        // The presence sweeper posts stale sessions to the web tier.
        PARLEY_WEB_URLS: webUrls.join(','),
      });
    }
    for (let i = 1; i <= chatCount; i++) {
      const [port, internalPort] = (await freePorts(2, picked)) as [number, number];
      addSlot(
        'chatserver',
        i,
        port,
        {
          PARLEY_CHAT_HOST: '127.0.0.1',
          PARLEY_CHAT_PORT: String(port),
          PARLEY_CHAT_INTERNAL_HOST: '127.0.0.1',
          PARLEY_CHAT_INTERNAL_PORT: String(internalPort),
          PARLEY_CHAT_ADVERTISE_URL: `http://127.0.0.1:${internalPort}`,
          PARLEY_WEB_URLS: webUrls.join(','),
        },
        internalPort,
      );
    }

    const deadline = Date.now() + startTimeoutMs;
    // web-1 first, alone: it creates the schema, so the other web
    // processes open a ready database instead of racing to migrate it.
    const [firstWeb, ...others] = slots as [ChildSlot, ...ChildSlot[]];
    void firstWeb.process.start();
    await waitForSlot(firstWeb, deadline);
    for (const slot of others) void slot.process.start();
    await Promise.all(others.map((slot) => waitForSlot(slot, deadline)));

    nginx = await startNginx({
      runDir: join(runDir, 'nginx'),
      publicPort: options.publicPort ?? 0,
      webPorts,
      chatPorts: slots.filter((slot) => slot.role === 'chatserver').map((slot) => slot.port),
      // SQLite has one writer at a time; PostgreSQL takes any write on any web process.
      singleSayWriter: store === 'sqlite',
      workerProcesses: options.nginxWorkerProcesses ?? 1,
      ...(options.nginxWorkerConnections === undefined ? {} : { workerConnections: options.nginxWorkerConnections }),
      detached: options.detached ?? false,
      ...supervision,
    });
    log.info({ port: nginx.port, childPid: nginx.pid ?? null }, 'nginx started');
    rewriteClusterFile();
    await waitUntilReady(Math.max(deadline - Date.now(), 1000));
  } catch (error) {
    const tails = logTails(runDir, 20);
    await stop().catch(() => undefined);
    throw new Error(`cluster did not start: ${(error as Error).message}\n${tails}`, { cause: error });
  }

  async function waitUntilReady(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await Promise.all(slots.map((slot) => waitForSlot(slot, deadline)));
    if (nginx) await waitForHealthy(`${nginx.url}/healthz`, Math.max(deadline - Date.now(), 0));
    if (postgres) await waitForPort(postgres.port, Math.max(deadline - Date.now(), 0));
    if (redis) await waitForRegistry(redis.url, registryKey(redisPrefix), chatCount, deadline);
  }

  const cluster: ClusterHandle = {
    publicUrl: nginx.url,
    runDir,
    secret,
    store,
    redis,
    postgres,
    processes,
    kill(role, index, signal = 'SIGTERM') {
      const slot = slots.find((candidate) => candidate.role === role && candidate.index === index);
      if (!slot) throw new Error(`no ${role}-${index} in this cluster`);
      if (!slot.process.kill(signal)) throw new Error(`${slot.name} is not running`);
      log.info({ process: slot.name, signal }, 'signal sent');
    },
    waitUntilReady,
    stop,
  };
  return cluster;
}

/**
 * Waits until a child answers `/healthz` as its role (another process on the
 * port would answer too) and a chatserver's internal port accepts connections.
 */
async function waitForSlot(slot: ChildSlot, deadline: number): Promise<void> {
  const ownRole = (body: string): boolean => {
    try {
      return (JSON.parse(body) as { role?: unknown }).role === slot.role;
    } catch {
      return false;
    }
  };
  await waitForHealthy(`http://127.0.0.1:${slot.port}/healthz`, Math.max(deadline - Date.now(), 0), ownRole);
  if (slot.internalPort !== undefined) await waitForPort(slot.internalPort, Math.max(deadline - Date.now(), 0));
}

/** Waits until `count` chatservers have a live heartbeat in the registry. */
async function waitForRegistry(url: string, key: string, count: number, deadline: number): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  client.on('error', () => undefined); // problems surface as the timeout below
  try {
    await client.connect();
    for (;;) {
      const live = await client.zcount(key, `(${Date.now()}`, '+inf').catch(() => 0);
      if (live >= count) return;
      if (Date.now() >= deadline) throw new Error(`only ${live} of ${count} chatservers registered in ${key}`);
      await sleep(100);
    }
  } finally {
    client.disconnect();
  }
}

// PostgreSQL's own default; a few more are kept for psql and the migration tool.
const POSTGRES_MIN_CONNECTIONS = 100;
const POSTGRES_SPARE_CONNECTIONS = 10;

/** Enough connections for every web process's pool (`PARLEY_DATABASE_POOL_SIZE`, 10 by default). */
function postgresConnections(webCount: number, env: Readonly<Record<string, string>>): number {
  const poolSize = Number(env.PARLEY_DATABASE_POOL_SIZE ?? process.env.PARLEY_DATABASE_POOL_SIZE ?? 10);
  const needed = webCount * (Number.isInteger(poolSize) && poolSize > 0 ? poolSize : 10) + POSTGRES_SPARE_CONNECTIONS;
  return Math.max(POSTGRES_MIN_CONNECTIONS, needed);
}

/** `count` free ports, none of them in `picked`, which they are added to. */
async function freePorts(count: number, picked: Set<number>): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await findFreePort();
    if (picked.has(port)) continue;
    picked.add(port);
    ports.push(port);
  }
  return ports;
}

/** The environment children inherit: ours, plus the caller's overrides. */
function childBaseEnv(overrides: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}

/** The last `lines` lines of every log in `runDir/logs` (and nginx's error log), for error reports. */
export function logTails(runDir: string, lines = 30): string {
  const files: string[] = [];
  const logDir = join(runDir, 'logs');
  try {
    for (const name of readdirSync(logDir).sort()) files.push(join(logDir, name));
  } catch {
    // no logs yet
  }
  files.push(join(runDir, 'nginx', 'error.log'), join(runDir, 'redis', 'redis.log'), join(runDir, 'postgres', 'postgres.log'));
  const parts: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const tail = text.trimEnd().split('\n').slice(-lines).join('\n');
    parts.push(`----- ${file} (last ${lines} lines)\n${tail}`);
  }
  return parts.join('\n');
}

export type { ClusterProcessInfo, ClusterRole };
