/**
 * Notify path: enqueue of a notify job → receipt of its events by a
 * chatserver, through the real Redis, BullMQ and worker of a cluster.
 *
 *   npm run bench:notify -- [--runs 3] [--rate 1000] [--seconds 10]
 *       [--events-per-job 1] [--server-cpus 0] [--generator-cpus 1] [--markdown out.md]
 *
 * The bench process enqueues jobs open-loop at `--rate` (as the web tier's
 * notifier does) and registers a probe receiver in the chatserver registry
 * next to the cluster's two real chatservers: the worker POSTs every job's
 * events to all three, and the probe notes when each event arrives. Enqueue
 * and receipt are timed on the same clock. The probe runs on the generator
 * CPUs, so it takes nothing from the server.
 *
 * Variants, each on a fresh cluster in the same run:
 *  - batching on: the worker merges the events of queued sends into one POST
 *    per chatserver (PARLEY_NOTIFY_BATCH_EVENTS=1000, the default);
 *  - batching off: one POST per job (PARLEY_NOTIFY_BATCH_EVENTS=1).
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { MAX_NOTIFY_BODY_BYTES } from '@parley/chatserver';
import { DEFAULT_REDIS_PREFIX, NOTIFY_QUEUE_NAME, registryKey, type ChatEvent, type NotifyJobData } from '@parley/protocol';
import { readLimitedBody } from '@parley/protocol/node';
import { benchArgs, fmt, machineLine, markdownTable, median, quantile, startPinnedCluster, withCpuByRole } from './web-bench-kit.js';

const { numbers, pinning, markdownPath } = benchArgs({
  usage: 'npm run bench:notify --',
  summary: `Notify path: enqueue of a notify job -> receipt of its events by a chatserver,
through the real Redis, BullMQ and worker of a cluster; batching on and off.`,
  numbers: {
    runs: { default: 3, help: 'runs of each variant; medians over them' },
    rate: { default: 1000, help: 'jobs enqueued per second, open loop' },
    seconds: { default: 10, help: 'measured seconds of each run' },
    'events-per-job': { default: 1, help: 'events in every notify job' },
  },
});

type Variant = 'batchOn' | 'batchOff';
const BATCH_EVENTS: Record<Variant, string> = { batchOn: '1000', batchOff: '1' };
const TITLES: Record<Variant, string> = {
  batchOn: 'batching on (≤1000 events per POST)',
  batchOff: 'batching off (one job per POST)',
};

interface VariantResult {
  received: number;
  expected: number;
  posts: number;
  p50: number;
  p99: number;
  cpu: Record<string, number>;
}

async function measure(variant: Variant, run: number): Promise<VariantResult> {
  const bench = await startPinnedCluster({ webCount: 1, pinning, env: { PARLEY_NOTIFY_BATCH_EVENTS: BATCH_EVENTS[variant] } });
  const enqueuedAt = new Map<string, number>();
  const latencies: number[] = [];
  let posts = 0;
  const probe = createServer((request, response) => {
    // The probe takes what a chatserver's notify port takes.
    void readLimitedBody(request, MAX_NOTIFY_BODY_BYTES).then((body) => {
      const now = performance.now();
      posts++;
      for (const event of (JSON.parse(body.toString('utf8')) as { events: ChatEvent[] }).events) {
        const sent = enqueuedAt.get(event.id);
        if (sent === undefined) continue;
        enqueuedAt.delete(event.id);
        latencies.push(now - sent);
      }
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const probeUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  const redis = new Redis(bench.cluster.redis.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
  const queue = new Queue<NotifyJobData>(NOTIFY_QUEUE_NAME, { connection: redis, prefix: `${DEFAULT_REDIS_PREFIX}bull` });
  queue.on('error', () => undefined);
  try {
    // A far expiry: the probe stays "live" for the whole variant.
    await redis.zadd(registryKey(DEFAULT_REDIS_PREFIX), Date.now() + 3_600_000, probeUrl);
    const room = `notify${run}${variant}`;
    const perJob = numbers['events-per-job'];
    const total = Math.round(numbers.rate * numbers.seconds);
    let seq = 0;
    const { cpu } = await withCpuByRole(bench, async () => {
      const start = performance.now();
      let sent = 0;
      const pending: Promise<unknown>[] = [];
      while (sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * numbers.rate) + 1);
        for (; sent < due; sent++) {
          const events: ChatEvent[] = Array.from({ length: perJob }, () => {
            seq++;
            return { room, seq, type: 'message', at: Date.now(), nickname: 'bench', user: null, text: 'x'.repeat(200), id: `${room}-${seq}` };
          });
          const now = performance.now();
          for (const event of events) enqueuedAt.set(event.id, now);
          // The web tier's job options (packages/web/src/notifier.ts), minus the backoff.
          pending.push(queue.add('notify', { outboxId: seq, events }, { jobId: `notify-${events[0]?.id ?? seq}`, attempts: 3, removeOnComplete: { age: 3600, count: 10_000 } }));
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await Promise.all(pending);
      // Drain: every event received, or 10 s.
      const deadline = performance.now() + 10_000;
      while (enqueuedAt.size > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    });
    latencies.sort((a, b) => a - b);
    const result = { received: latencies.length, expected: seq, posts, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), cpu };
    process.stderr.write(
      `run ${run} ${variant}: ${result.received}/${result.expected} events in ${posts} POSTs to the probe, p50 ${fmt(result.p50)} ms p99 ${fmt(result.p99)} ms cpu ${JSON.stringify(cpu)}\n`,
    );
    return result;
  } finally {
    await queue.close().catch(() => undefined);
    redis.disconnect();
    probe.closeAllConnections();
    probe.close();
    await bench.stop();
  }
}

const header = machineLine();
const results: Record<Variant, VariantResult[]> = { batchOn: [], batchOff: [] };
for (let run = 1; run <= numbers.runs; run++) {
  results.batchOn.push(await measure('batchOn', run));
  results.batchOff.push(await measure('batchOff', run));
}
const med = (variant: Variant, pick: (result: VariantResult) => number): number => median(results[variant].map(pick));
const rows = (Object.keys(TITLES) as Variant[]).map((variant) => [
  TITLES[variant],
  results[variant].map((result) => `${fmt(result.p50)} / ${fmt(result.p99)}`).join(' · '),
  fmt(med(variant, (result) => result.p50)),
  fmt(med(variant, (result) => result.p99)),
  fmt(med(variant, (result) => result.expected / result.posts), 1),
  String(results[variant].reduce((sum, result) => sum + result.expected - result.received, 0)),
  fmt(med(variant, (result) => result.cpu.worker ?? 0), 2),
]);
const markdown = [
  `notify path — ${numbers.runs} runs × ${numbers.seconds} s: ${numbers.rate} jobs/s enqueued open loop, ${numbers['events-per-job']} event(s) of 200 characters per job, 1 worker (concurrency 50) POSTing to 2 chatservers + the probe; server CPUs ${pinning.server}, generator CPUs ${pinning.generator}`,
  `machine: ${header}`,
  '',
  markdownTable(['variant', 'p50 / p99 ms per run', 'median p50 ms', 'median p99 ms', 'events per POST', 'not received 10 s after the last enqueue', 'worker CPU s'], rows),
  '',
  `- enqueue → receipt p99, batching on ÷ off: ${fmt(med('batchOn', (result) => result.p99) / med('batchOff', (result) => result.p99), 2)}×`,
  `- worker CPU, batching on ÷ off: ${fmt(med('batchOn', (result) => result.cpu.worker ?? 0) / med('batchOff', (result) => result.cpu.worker ?? 0), 2)}×`,
  '',
].join('\n');
if (markdownPath !== undefined) writeFileSync(markdownPath, markdown);
process.stdout.write(markdown);
