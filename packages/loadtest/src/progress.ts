import type { LoadTestProgress } from './load-test.js';

const BAR_WIDTH = 24;

/** One progress line (no newline), cut to `columns`. */
export function formatProgress(progress: LoadTestProgress, columns = 120): string {
  const share = progress.totalSeconds > 0 ? Math.min(1, progress.elapsedSeconds / progress.totalSeconds) : 0;
  const filled = Math.round(share * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
  const line =
    `${bar} ${progress.phase} ${progress.elapsedSeconds.toFixed(1)}/${progress.totalSeconds}s ` +
    `says ${progress.saysAcknowledged} err ${progress.sayErrors} ` +
    `deliv ${progress.deliveries} (${progress.deliveriesPerSecond}/s) p99 ${progress.latencyP99Ms.toFixed(1)}ms`;
  return line.slice(0, Math.max(10, columns - 1));
}

/**
 * A progress callback that redraws one line on `stream` — a TTY only, so logs
 * and pipes stay clean — and a `clear` for the end of the run.
 */
export function progressLine(stream: NodeJS.WriteStream): { update: (progress: LoadTestProgress) => void; clear: () => void } {
  if (!stream.isTTY) return { update: () => undefined, clear: () => undefined };
  return {
    update: (progress) => stream.write(`\r\x1b[2K${formatProgress(progress, stream.columns ?? 120)}`),
    clear: () => stream.write('\r\x1b[2K'),
  };
}
