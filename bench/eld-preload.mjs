// Event-loop delay of every Node process of a bench cluster, one line per
// second: a stall (a synchronous statement, a GC pause, a periodic task)
// shows as a second whose max is far above its p50. Loaded with --import,
// like profile-preload.mjs:
//
//   PARLEY_ELD_DIR=/tmp/eld NODE_OPTIONS="--import $PWD/bench/eld-preload.mjs" node --import tsx bench/healthz-ab.ts
//
// writes <role>-<pid>.jsonl into PARLEY_ELD_DIR: {"t":ms,"p50":ms,"p99":ms,"max":ms}.
import { appendFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setInterval } from 'node:timers';

const directory = process.env.PARLEY_ELD_DIR;
if (directory) {
  mkdirSync(directory, { recursive: true });
  const script = process.argv[1] ?? 'node';
  const role = basename(dirname(dirname(script))) || basename(script);
  const file = join(directory, `${role}-${process.pid}.jsonl`);
  // 1 ms resolution: stalls of interest are tens to hundreds of ms.
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const ms = (nanoseconds) => Math.round(nanoseconds / 1e4) / 100;
  setInterval(() => {
    appendFileSync(file, `${JSON.stringify({ t: Date.now(), p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) })}\n`);
    histogram.reset();
  }, 1000).unref();
}
