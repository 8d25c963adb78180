import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { install, timers } from '@sinonjs/fake-timers';
import { expect } from 'chai';
import type { Logger } from '@parley/protocol';
import { SupervisedProcess, type SupervisedProcessOptions } from '../src/supervised-process.js';

/** Waits `ms` of real time, also while the supervisor's clock is a fake one. */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => timers.setTimeout(() => resolve(), ms));
const realNow = (): number => (timers.Date as DateConstructor).now();

/** Polls `condition` every 20 ms (real time) until it holds, failing after `timeoutMs`. */
async function eventually(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = realNow() + timeoutMs;
  while (!condition()) {
    if (realNow() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Longer than any restart backoff (10 s at most): a restart still pending would have happened. */
const LONGER_THAN_ANY_BACKOFF_MS = 60_000;

describe('supervised process', () => {
  let dir: string;
  let supervised: SupervisedProcess | undefined;
  let lines: string[];
  let pids: Array<number | null>;
  let logged: string[];
  // The supervisor's timers (restart backoff) and clock, faked by the tests
  // that wait for something NOT to happen: they advance it instead of sleeping.
  let clock: ReturnType<typeof install> | undefined;
  const fakeClock = (): ReturnType<typeof install> => (clock = install({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));

  /** Records the supervisor's own messages (`process started`, …) in order. */
  const recordingLogger: Logger = {
    debug: () => undefined,
    info: (_fields, message) => void logged.push(message),
    warn: (_fields, message) => void logged.push(message),
    error: (_fields, message) => void logged.push(message),
    child: () => recordingLogger,
  };

  function create(script: string, options: Partial<SupervisedProcessOptions> = {}): SupervisedProcess {
    supervised = new SupervisedProcess({
      name: 'demo-1',
      command: process.execPath,
      args: ['-e', script],
      env: {},
      cwd: dir,
      logFile: join(dir, 'demo-1.log'),
      output: { write: (text: string) => lines.push(text) },
      log: recordingLogger,
      onPidChange: (pid) => pids.push(pid),
      ...options,
    });
    return supervised;
  }

  function supervise(script: string, options: Partial<SupervisedProcessOptions> = {}): SupervisedProcess {
    const child = create(script, options);
    child.start().catch(() => undefined);
    return child;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-supervised-'));
    lines = [];
    pids = [];
    logged = [];
  });

  afterEach(async () => {
    clock?.uninstall();
    clock = undefined;
    await supervised?.stop(2000);
    supervised = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('prefixes every output line with the process name and keeps a log file', async () => {
    const child = supervise("process.stdout.write('one\\ntwo\\n'); console.error('three'); setInterval(() => {}, 1000);");
    await eventually(() => lines.length >= 3, 5000, 'three lines');
    expect([...lines].sort()).to.deep.equal(['demo-1 | one\n', 'demo-1 | three\n', 'demo-1 | two\n']);
    await child.stop(2000);
    expect(readFileSync(join(dir, 'demo-1.log'), 'utf8').split('\n').sort()).to.deep.equal(['', 'one', 'three', 'two']);
  });

  it('restarts a child that dies unexpectedly with a new pid', async () => {
    const child = supervise('setInterval(() => {}, 1000);');
    await eventually(() => child.pid !== undefined, 5000, 'the first start');
    const first = child.pid;
    child.kill('SIGKILL');
    await eventually(() => child.pid !== undefined && child.pid !== first, 5000, 'the restart');
    expect(pids).to.deep.equal([first, null, child.pid]);
  });

  it('backs off between restarts of a crash loop', async () => {
    const time = fakeClock();
    const startTimes: number[] = [];
    supervise('process.exit(3);', { onPidChange: (pid) => void (pid !== null && startTimes.push(Date.now())) });
    // Crashes at ~0 ms, then restarts after 250, 500, 1000 ms: three starts by 1.2 s, not more.
    // Each crash is real; once it has scheduled its restart, the clock jumps to it.
    while (time.now <= 1200) {
      await eventually(() => time.countTimers() > 0, 5000, 'a crash and its pending restart');
      await time.nextAsync();
    }
    const starts = startTimes.filter((at) => at <= 1200).length;
    expect(starts).to.be.within(3, 4);
  });

  it('does not restart a child after stop', async () => {
    const child = supervise('setInterval(() => {}, 1000);');
    await eventually(() => child.pid !== undefined, 5000, 'the start');
    const time = fakeClock();
    await child.stop(2000);
    await time.tickAsync(LONGER_THAN_ANY_BACKOFF_MS);
    expect(child.pid).to.equal(undefined);
    expect(pids.filter((pid) => pid !== null)).to.have.length(1);
  });

  it('logs a start, an unexpected exit and a deliberate stop with fixed messages', async () => {
    const child = supervise('setInterval(() => {}, 1000);');
    await eventually(() => child.pid !== undefined, 5000, 'the first start');
    const first = child.pid;
    child.kill('SIGKILL');
    await eventually(() => child.pid !== undefined && child.pid !== first, 5000, 'the restart');
    await child.stop(2000);
    expect(logged).to.deep.equal(['process started', 'process exited unexpectedly; restarting', 'process started', 'process stopped']);
  });

  it('resolves start() only once the readiness check passes, on every start', async () => {
    let checks = 0;
    const child = create("require('node:fs').writeFileSync('up', String(process.pid)); setInterval(() => {}, 1000);", {
      ready: async (signal, pid) => {
        checks++;
        // Ready once this very child (the pid given) has written its pid: a check of the child, not of time.
        for (;;) {
          signal.throwIfAborted();
          if (Number(await readFile(join(dir, 'up'), 'utf8').catch(() => '0')) === pid) return;
          await sleep(20);
        }
      },
    });
    await child.start();
    expect(readFileSync(join(dir, 'up'), 'utf8')).to.equal(String(child.pid));
    const first = child.pid;
    child.kill('SIGKILL');
    await eventually(() => child.pid !== undefined && child.pid !== first, 5000, 'the restart');
    // start() on a running child waits for its readiness and spawns nothing.
    await child.start();
    expect(readFileSync(join(dir, 'up'), 'utf8')).to.equal(String(child.pid));
    expect(checks).to.equal(2);
    expect(pids.filter((pid) => pid !== null)).to.have.length(2);
  });

  it('rejects start() when the child exits before it is ready', async () => {
    const child = create('process.exit(4);', { ready: () => new Promise<void>(() => undefined), restartOnCrash: false });
    let failure: unknown;
    await child.start().catch((error: unknown) => (failure = error));
    expect(String(failure)).to.include('demo-1 exited before it was ready');
    expect(logged).to.deep.equal(['process started', 'process exited unexpectedly']);
  });

  it('stays down after stop() until start(), then runs again with a new pid', async () => {
    const child = create('setInterval(() => {}, 1000);');
    await child.start();
    const first = child.pid;
    const time = fakeClock();
    await child.stop(2000);
    // Any backoff delay would have restarted a crashed child by now.
    await time.tickAsync(LONGER_THAN_ANY_BACKOFF_MS);
    expect(child.pid).to.equal(undefined);
    await child.start();
    expect(child.pid).to.be.a('number').and.not.equal(first);
    expect(pids).to.deep.equal([first, null, child.pid]);
  });

  it('starts at once on start() after a crash, cancelling the pending restart', async () => {
    const child = create('setInterval(() => {}, 1000);');
    await child.start();
    const first = child.pid;
    const time = fakeClock();
    child.kill('SIGKILL');
    await child.waitForExit(5000);
    await child.start();
    const second = child.pid;
    expect(second).to.be.a('number').and.not.equal(first);
    // The cancelled restart would have spawned a third child 250 ms after the crash.
    await time.tickAsync(LONGER_THAN_ANY_BACKOFF_MS);
    expect(child.pid).to.equal(second);
    expect(pids).to.deep.equal([first, null, second]);
  });

  it('does not restart a crashed child when restartOnCrash is off', async () => {
    const child = create('setInterval(() => {}, 1000);', { restartOnCrash: false });
    await child.start();
    const time = fakeClock();
    child.kill('SIGKILL');
    await child.waitForExit(5000);
    await time.tickAsync(LONGER_THAN_ANY_BACKOFF_MS);
    expect(child.pid).to.equal(undefined);
    expect(pids.filter((pid) => pid !== null)).to.have.length(1);
  });

  it('stops with its own stop signal', async () => {
    const child = create("process.on('SIGINT', () => { console.log('fast shutdown'); process.exit(0); }); console.log('listening'); setInterval(() => {}, 1000);", {
      stopSignal: 'SIGINT',
      // Ready once the SIGINT handler is installed: it prints after installing it.
      ready: async (signal) => {
        while (!lines.includes('demo-1 | listening\n')) {
          signal.throwIfAborted();
          await sleep(20);
        }
      },
    });
    await child.start();
    await child.stop(2000);
    expect(lines).to.deep.equal(['demo-1 | listening\n', 'demo-1 | fast shutdown\n']);
    expect(logged).to.deep.equal(['process started', 'process stopped']);
  });

  it("hands the log file to a child that writes its own log, and pipes nothing", async () => {
    const child = create("process.stdout.write('to the file\\n'); process.stderr.write('errors too\\n'); setInterval(() => {}, 1000);", { stdio: 'file' });
    await child.start();
    await eventually(() => readFileSync(join(dir, 'demo-1.log'), 'utf8').split('\n').length >= 3, 5000, 'two lines in the log');
    await child.stop(2000);
    expect(readFileSync(join(dir, 'demo-1.log'), 'utf8')).to.equal('to the file\nerrors too\n');
    expect(lines).to.deep.equal([]);
  });

  it('cleans up after every exit, before the restart', async () => {
    const events: string[] = [];
    const child = create('setInterval(() => {}, 1000);', {
      afterExit: () => events.push('cleanup'),
      onPidChange: (pid) => events.push(pid === null ? 'down' : 'up'),
    });
    await child.start();
    const first = child.pid;
    child.kill('SIGKILL');
    await eventually(() => child.pid !== undefined && child.pid !== first, 5000, 'the restart');
    await child.stop(2000);
    expect(events).to.deep.equal(['up', 'cleanup', 'down', 'up', 'cleanup', 'down']);
  });

  it('runs the child as another user when asked (root only)', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const child = create("console.log(process.getuid() + ':' + process.getgid()); setInterval(() => {}, 1000);", { user: { uid: 65534, gid: 65534 } });
    await child.start();
    await eventually(() => lines.length >= 1, 5000, 'the ids');
    expect(lines).to.deep.equal(['demo-1 | 65534:65534\n']);
  });
});
