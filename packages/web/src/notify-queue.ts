import type { BulkJobOptions } from 'bullmq';
import type { NotifyJobData } from '@parley/protocol';

/** One notify job as it is handed to the queue. */
export interface NotifyJob {
  name: string;
  data: NotifyJobData;
  opts: BulkJobOptions;
}

/**
 * The notify queue as the web tier uses it: BullMQ's `Queue<NotifyJobData>`
 * (`NOTIFY_QUEUE_NAME`) in production, `MemoryNotifyQueue` in route tests
 * where Redis is not what they test. Guarantees: `addBulk` adds all the jobs
 * or rejects (at once while Redis is down, on a connection without offline
 * queue); a job whose `opts.jobId` is still kept is not added again.
 */
export interface NotifyQueue {
  addBulk(jobs: NotifyJob[]): Promise<unknown>;
}

/** A `NotifyQueue` in memory: keeps every job it took, once per jobId. */
export class MemoryNotifyQueue implements NotifyQueue {
  readonly #jobs = new Map<string, NotifyJob>();
  /** While true, `addBulk` rejects as BullMQ does while Redis is down. */
  down = false;

  async addBulk(jobs: NotifyJob[]): Promise<NotifyJob[]> {
    if (this.down) throw new Error('notify queue unavailable');
    for (const job of jobs) {
      const id = job.opts.jobId ?? `memory-${this.#jobs.size + 1}`;
      if (!this.#jobs.has(id)) this.#jobs.set(id, job);
    }
    return jobs;
  }

  /** The job kept under `jobId`, if any. */
  async getJob(jobId: string): Promise<NotifyJob | undefined> {
    return this.#jobs.get(jobId);
  }

  /** Every job kept, in the order they were added. */
  jobs(): NotifyJob[] {
    return [...this.#jobs.values()];
  }
}
