import { fork, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/** Options of `startSlowloris`. */
export interface SlowlorisOptions {
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
  connections: number;
  /** A header line is sent on every connection this often; the header never ends. @default 1000 */
  lineEveryMs?: number;
  /** Connections opened at once, the next batch after these connected (nginx's backlog is 511). @default 250 */
  batch?: number;
}

/** A running slowloris flood. */
export interface Slowloris {
  /** Connections that connected. */
  readonly opened: number;
  /** Of those, how many the server has closed. */
  readonly closedByServer: number;
  /** Closes every connection (ends the flood's process). */
  stop(): void;
}

interface Progress {
  opened: number;
  closedByServer: number;
  connected: boolean;
}

/**
 * Opens `connections` connections that each send a request line and then one
 * header line every `lineEveryMs`, never ending the header (slowloris), the
 * way `slowhttptest -H` does. The flood runs in a process of its own so that
 * its thousands of writes never delay the client whose latency a test
 * measures. Resolves once all have connected or failed (bounded: 30 s).
 */
export async function startSlowloris(options: SlowlorisOptions): Promise<Slowloris> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let progress: Progress = { opened: 0, closedByServer: 0, connected: false };
  child.on('message', (message) => {
    progress = message as Progress;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`slowloris: not connected within 30 s (${progress.opened} opened)`)), 30_000);
    const check = (): void => {
      if (!progress.connected) return;
      clearTimeout(timer);
      child.off('message', check);
      resolve();
    };
    child.on('message', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`slowloris process exited (${code})`));
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    get opened() {
      return progress.opened;
    },
    get closedByServer() {
      return progress.closedByServer;
    },
    stop() {
      child.kill('SIGKILL');
    },
  };
}

async function runFlood(options: SlowlorisOptions): Promise<void> {
  const sockets = new Set<Socket>();
  const progress: Progress = { opened: 0, closedByServer: 0, connected: false };
  const report = (): void => void process.send?.(progress);
  const batch = options.batch ?? 250;
  for (let start = 0; start < options.connections; start += batch) {
    const count = Math.min(batch, options.connections - start);
    await Promise.all(
      Array.from({ length: count }, (_, index) =>
        new Promise<void>((resolve) => {
          const socket = connect(options.port, options.host ?? '127.0.0.1');
          socket.setNoDelay(true);
          socket.on('error', () => undefined);
          socket.once('connect', () => {
            progress.opened++;
            sockets.add(socket);
            socket.write(`GET /?slow=${start + index} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n`);
            resolve();
          });
          socket.once('close', () => {
            if (sockets.delete(socket)) progress.closedByServer++;
            resolve();
          });
          socket.resume();
        }),
      ),
    );
  }
  progress.connected = true;
  report();
  setInterval(() => {
    for (const socket of sockets) if (socket.writable) socket.write(`X-Slow-${Math.floor(Math.random() * 1e6)}: x\r\n`);
    report();
  }, options.lineEveryMs ?? 1000);
  setInterval(report, 100);
  // Ends with its parent: a test that failed half-way leaves no flood behind.
  process.on('disconnect', () => process.exit(0));
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.send !== undefined) {
  void runFlood(JSON.parse(process.argv[2] ?? '{}') as SlowlorisOptions);
}
