/**
 * `npm run loadtest -- --base http://127.0.0.1:8080 --observers N --rooms R --rate M --duration S`
 *
 * File descriptors: every observe holds one socket, and nginx holds two per
 * observe (client and upstream), so the load generator needs N + a few hundred
 * descriptors. This machine's `ulimit -n` is about 20,000; with the chatservers
 * and nginx on the same machine, plan on ~9,000 long-polls per generator
 * process, or raise the limit (`ulimit -n`, nginx `worker_rlimit_nofile`)
 * yourself — the generator never raises it. Above 10,000 observers it spreads
 * its sockets over the source addresses 127.0.0.2… (`--sources`), because one
 * address has only ~28,000 ephemeral ports.
 */
import { writeFileSync } from 'node:fs';
import { readCommandLine } from '@parley/protocol/node';
import { LOADTEST_COMMAND, loadTestOptions } from './args.js';
import { runLoadTest } from './load-test.js';
import { progressLine } from './progress.js';
import { formatMarkdown } from './report.js';

async function main(): Promise<number> {
  // --help exits 0, a bad command line exits 2 (with the help on stderr).
  const options = readCommandLine(LOADTEST_COMMAND, process.argv.slice(2), loadTestOptions);
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = progressLine(process.stderr);
  let report;
  try {
    report = await runLoadTest(options, { onProgress: progress.update, signal: interrupt.signal });
  } finally {
    progress.clear();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const markdown = formatMarkdown(report);
  if (options.jsonPath !== undefined) writeFileSync(options.jsonPath, json);
  else process.stdout.write(json);
  if (options.markdownPath !== undefined) writeFileSync(options.markdownPath, markdown);
  else process.stdout.write(`\n${markdown}`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`loadtest: ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
