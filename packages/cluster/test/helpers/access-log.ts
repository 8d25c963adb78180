import { existsSync, readFileSync } from 'node:fs';
import { sleep } from '../../src/wait.js';

/**
 * The lines of nginx's access log at `path` once `complete(lines)` holds, or
 * as they are after `timeoutMs` (the caller's assertions then say what is
 * missing). nginx writes a request's line after the client has its answer, so
 * a test that reads the log right after its last request may be a line short.
 */
export async function accessLogLines(path: string, complete: (lines: string[]) => boolean, timeoutMs = 3000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((line) => line !== '') : [];
    if (complete(lines) || Date.now() > deadline) return lines;
    await sleep(25);
  }
}
