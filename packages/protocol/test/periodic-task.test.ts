import { install } from '@sinonjs/fake-timers';
import { expect } from 'chai';
import type { Logger } from '../src/logger.js';
import { createPeriodicTask } from '../src/node/periodic-task.js';

interface LogLine {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  message: string;
}

/** A logger that keeps the lines a task writes. */
function recordingLogger(lines: LogLine[]): Logger {
  const log: Logger = {
    debug() {},
    info: (fields, message) => lines.push({ level: 'info', fields: fields as Record<string, unknown>, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message }),
    error() {},
    child: () => log,
  };
  return log;
}

describe('periodic task', () => {
  let clock: ReturnType<typeof install>;
  let lines: LogLine[];

  beforeEach(() => {
    clock = install({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    lines = [];
  });

  afterEach(() => {
    clock.uninstall();
  });

  it('runs one interval after the end of the previous run, never two at once', async () => {
    let running = 0;
    let mostAtOnce = 0;
    const starts: number[] = [];
    const task = createPeriodicTask({
      name: 'slow',
      intervalMs: 100,
      log: recordingLogger(lines),
      run: async () => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        starts.push(Date.now());
        await new Promise((resolve) => setTimeout(resolve, 250));
        running--;
      },
    });
    task.start();
    await clock.tickAsync(1000);
    // The run that started at 800 ends at 1050; stop waits for it.
    const stopped = task.stop();
    await clock.tickAsync(250);
    await stopped;
    // Runs start at 100, 450 (100 + 250 + 100) and 800.
    expect(starts).to.deep.equal([100, 450, 800]);
    expect(mostAtOnce).to.equal(1);
  });

  it('shares a run under way with runOnce', async () => {
    let runs = 0;
    const task = createPeriodicTask({
      name: 'shared',
      intervalMs: 100,
      log: recordingLogger(lines),
      run: async () => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        return runs;
      },
    });
    const both = Promise.all([task.runOnce(), task.runOnce()]);
    await clock.tickAsync(50);
    expect(await both).to.deep.equal([1, 1]);
  });

  it('logs one line when an outage begins and one when it ends, however many runs fail', async () => {
    let failing = true;
    const task = createPeriodicTask({
      name: 'flaky',
      intervalMs: 100,
      log: recordingLogger(lines),
      run: async () => {
        if (failing) throw new Error('redis is down');
      },
    });
    task.start();
    await clock.tickAsync(1000);
    failing = false;
    await clock.tickAsync(200);
    await task.stop();
    expect(lines.map((line) => [line.level, line.message])).to.deep.equal([
      ['warn', 'periodic task failing'],
      ['info', 'periodic task recovered'],
    ]);
    expect(lines[0]?.fields).to.include({ task: 'flaky' });
    expect((lines[0]?.fields.err as Error).message).to.equal('redis is down');
    expect(lines[1]?.fields).to.include({ task: 'flaky', failedRuns: 10, outageMs: 1000 });
  });

  it('rejects runOnce with the failure, and stops for good', async () => {
    let runs = 0;
    const task = createPeriodicTask({
      name: 'stopped',
      intervalMs: 100,
      log: recordingLogger(lines),
      run: async () => {
        runs++;
        throw new Error('no');
      },
    });
    let failure: unknown;
    await task.runOnce().catch((error: unknown) => (failure = error));
    expect((failure as Error).message).to.equal('no');
    task.start();
    await task.stop();
    await clock.tickAsync(1000);
    expect(runs).to.equal(1);
  });

  it('never keeps the process alive: its timer is unref\'d', async () => {
    const original = globalThis.setTimeout;
    let unrefed = 0;
    // Every timer the task makes, with its unref() counted.
    globalThis.setTimeout = ((handler: () => void, ms: number) => {
      const timer = original(handler, ms);
      const unref = timer.unref.bind(timer);
      timer.unref = () => {
        unrefed++;
        return unref();
      };
      return timer;
    }) as typeof setTimeout;
    const task = createPeriodicTask({ name: 'unref', intervalMs: 100, log: recordingLogger(lines), run: async () => undefined });
    try {
      task.start();
    } finally {
      globalThis.setTimeout = original;
    }
    expect(unrefed).to.equal(1);
    await task.stop();
  });
});
