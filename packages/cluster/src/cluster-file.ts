import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Every kind of process a local cluster runs. */
export type ClusterRole = 'redis' | 'sentinel' | 'postgres' | 'nginx' | 'web' | 'worker' | 'chatserver';

/** One line of `cluster.json`. */
export interface ClusterProcessInfo {
  role: ClusterRole;
  /** Role and 1-based index (`web-1`), as in the log prefix; `redis`, `postgres` and `nginx` for those. */
  name: string;
  /** `null` while the process is down (between a crash and its restart). */
  pid: number | null;
  /** The port it serves: web and worker HTTP, chatserver public observe, redis, postgres, nginx public. */
  port: number;
  /** Chatservers only: the internal (notify) port. */
  internalPort?: number;
  /** Multihost cluster: the host (network namespace) it runs on, `root` for nginx. */
  host?: string;
  /** Multihost cluster: the address it listens on. */
  address?: string;
  /** Multihost cluster, redis only: whether the Sentinels name it the primary now. */
  primary?: boolean;
  /** PostgreSQL only: its connection URL (`PARLEY_DATABASE_URL` of the web processes; no password: trust on loopback). */
  url?: string;
}

/**
 * Writes `cluster.json` atomically (temp file + rename), so a reader never sees
 * half a file even though it is rewritten on every pid change.
 */
export function writeClusterFile(path: string, processes: readonly ClusterProcessInfo[]): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(processes, null, 2)}\n`);
  renameSync(temporary, path);
}

/** Reads a `cluster.json` written by `writeClusterFile`. */
export function readClusterFile(path: string): ClusterProcessInfo[] {
  return JSON.parse(readFileSync(path, 'utf8')) as ClusterProcessInfo[];
}
