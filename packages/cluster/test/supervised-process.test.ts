import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { silentLogger } from '@parley/protocol';
import { SupervisedProcess } from '../src/supervised-process.js';
import { sleep } from '../src/wait.js';

/** Polls `condition` every 20 ms until it holds, failing after `timeoutMs`. */
async function eventually(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('supervised process', () => {
  let dir: string;
  let supervised: SupervisedProcess | undefined;
  let lines: string[];
  let pids: Array<number | null>;

  function supervise(script: string): SupervisedProcess {
    supervised = new SupervisedProcess({
      name: 'demo-1',
      command: process.execPath,
      args: ['-e', script],
      env: {},
      cwd: dir,
      logFile: join(dir, 'demo-1.log'),
      output: { write: (text: string) => lines.push(text) },
      log: silentLogger,
      onPidChange: (pid) => pids.push(pid),
    });
    supervised.start();
    return supervised;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-supervised-'));
    lines = [];
    pids = [];
  });

  afterEach(async () => {
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
    supervise('process.exit(3);');
    // Crashes at ~0 ms, then restarts after 250, 500, 1000 ms: three starts by 1.2 s, not more.
    await sleep(1200);
    const starts = pids.filter((pid) => pid !== null).length;
    expect(starts).to.be.within(3, 4);
  });

  it('does not restart a child after stop', async () => {
    const child = supervise('setInterval(() => {}, 1000);');
    await eventually(() => child.pid !== undefined, 5000, 'the start');
    await child.stop(2000);
    await sleep(400);
    expect(child.pid).to.equal(undefined);
    expect(pids.filter((pid) => pid !== null)).to.have.length(1);
  });
});
