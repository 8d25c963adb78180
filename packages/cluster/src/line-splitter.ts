import type { Readable } from 'node:stream';

/** Where prefixed child output goes: `process.stdout`, or anything with `write`. */
export interface LineSink {
  write(text: string): unknown;
}

// A child that prints a megabyte without a newline must not grow our memory
// without bound: a partial line this long is emitted as it is.
const MAX_PARTIAL_LINE = 64 * 1024;

/**
 * Calls `onLine` for every complete line read from `stream` (without the
 * newline), and once more for an unterminated last line when it ends.
 */
export function forEachLine(stream: Readable, onLine: (line: string) => void): void {
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    partial += chunk;
    let newline = partial.indexOf('\n');
    while (newline !== -1) {
      onLine(partial.slice(0, newline).replace(/\r$/, ''));
      partial = partial.slice(newline + 1);
      newline = partial.indexOf('\n');
    }
    if (partial.length > MAX_PARTIAL_LINE) {
      onLine(partial);
      partial = '';
    }
  });
  stream.on('end', () => {
    if (partial.length > 0) onLine(partial);
    partial = '';
  });
}
