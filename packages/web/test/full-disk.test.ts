import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { call, newSession, startHarness, uniqueRoom, type Harness } from './harness.js';

// Small enough to fill in an instant, large enough for the schema and a WAL.
const DISK_BYTES = 4 * 1024 * 1024;

/** Writes zeros into `path` until the file system is full. */
function fillDisk(path: string): void {
  const chunk = Buffer.alloc(16 * 1024);
  const fd = openSync(path, 'w');
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
}

describe('web on a full disk', function () {
  this.timeout(30_000);
  let mountPoint: string;
  let harness: Harness | undefined;

  before(function () {
    mountPoint = mkdtempSync(join(tmpdir(), 'parley-full-disk-'));
    // A real full disk needs a small file system of our own: a tmpfs, which
    // only root may mount. Elsewhere this case cannot be made, only skipped.
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${DISK_BYTES}`, 'tmpfs', mountPoint], { encoding: 'utf8' });
    if (mounted.status !== 0) {
      rmSync(mountPoint, { recursive: true, force: true });
      this.skip();
    }
  });

  after(async () => {
    await harness?.close();
    spawnSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('answers a say 503 unavailable with Retry-After, stores nothing, and takes says again once there is room', async () => {
    harness = await startHarness({ env: { PARLEY_DB_PATH: join(mountPoint, 'parley.db') } });
    const session = await newSession(harness, 'alice');
    const room = uniqueRoom();
    expect((await call(harness, 'POST', `/api/rooms/${room}/enter`, { session })).status).to.equal(200);
    const filler = join(mountPoint, 'filler');
    fillDisk(filler);

    // The WAL may still have room for a few pages; it must run out quickly.
    let accepted = 0;
    let refused: Awaited<ReturnType<typeof call>> | undefined;
    const text = 'x'.repeat(1500);
    for (let attempt = 0; attempt < 500 && refused === undefined; attempt++) {
      const answer = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text, clientId: `full-${attempt}` } });
      if (answer.status === 201) accepted++;
      else refused = answer;
    }
    expect(refused, 'a say refused before 500 attempts').to.not.equal(undefined);
    expect(refused?.status).to.equal(503);
    expect(refused?.json.error.code).to.equal('unavailable');
    expect(refused?.headers.get('retry-after')).to.equal('2');
    // Nothing of the refused say was stored: the room holds the enter and the accepted says.
    expect(await harness.store.roomSeq(room)).to.equal(1 + accepted);

    rmSync(filler);
    const after = await call(harness, 'POST', `/api/rooms/${room}/say`, { session, json: { text: 'room again' } });
    expect(after.status).to.equal(201);
    expect(after.json.event.seq).to.equal(2 + accepted);
  });
});
