import { MAX_ROOM_HEADS, type Logger, type RoomName } from '@parley/protocol';
import { createPeriodicTask, type PeriodicTask } from '@parley/protocol/node';
import type { RoomDirectory } from './room-directory.js';
import type { WebClient } from './web-client.js';

/** Options of `CatchUp`. */
export interface CatchUpOptions {
  /** Time between the end of one pass and the start of the next. */
  intervalMs: number;
  web: WebClient;
  rooms: RoomDirectory;
  /** The rooms with parked observers right now. */
  observedRooms: () => Iterable<RoomName>;
  log: Logger;
  /** Rooms asked per pass (one request); more are asked in turn over the next passes. @default MAX_ROOM_HEADS */
  roomsPerPass?: number;
  /** Rooms repaired at once within a pass. @default 8 */
  repairConcurrency?: number;
  /**
   * How long a room found behind may still catch up by itself before it is
   * repaired: under traffic the head is often ahead only by a notify in flight
   * (a few ms), which is no loss and needs no repair.
   * @default 1000
   */
  graceMs?: number;
}

/**
 * Notices rooms that fell behind without a later event to show it: when Redis
 * loses queued notify jobs (killed without persistence) or a worker dies with
 * jobs in flight, the LAST events of a room never arrive and gap repair never
 * starts. Every `intervalMs` one signed request asks the web tier for the
 * heads of the observed rooms; each room whose head is still ahead of its
 * buffer after a short grace is repaired through `RoomDirectory.repair`. A
 * periodic task: passes never overlap, the timer is unref'd and stopped by
 * `stop()`, an unreachable web tier is logged once per outage.
 */
export class CatchUp {
  private readonly task: PeriodicTask<number>;
  private closed = false;
  // Where the next pass starts in the observed rooms, so more rooms than one
  // request may name are all asked in turn.
  private offset = 0;
  private readonly roomsPerPass: number;
  private readonly repairConcurrency: number;
  private readonly graceMs: number;

  constructor(private readonly options: CatchUpOptions) {
    this.roomsPerPass = Math.min(options.roomsPerPass ?? MAX_ROOM_HEADS, MAX_ROOM_HEADS);
    this.repairConcurrency = options.repairConcurrency ?? 8;
    this.graceMs = options.graceMs ?? 1000;
    this.task = createPeriodicTask({ name: 'catch-up', intervalMs: options.intervalMs, run: () => this.pass(), log: options.log });
  }

  /** Starts the periodic passes. */
  start(): void {
    this.task.start();
  }

  /** Stops the passes for good (close); a pass under way repairs nothing more. */
  stop(): void {
    this.closed = true;
    // Not waited for: a pass under way stops after its grace (see `pass`).
    void this.task.stop();
  }

  /**
   * One pass (shared with a pass already under way): asks the heads and
   * repairs rooms that are behind. Resolves with how many rooms were behind;
   * rejects when the web tier could not be asked.
   */
  runOnce(): Promise<number> {
    return this.task.runOnce();
  }

  private async pass(): Promise<number> {
    const observed = [...this.options.observedRooms()].filter((room) => this.options.rooms.get(room) !== undefined);
    if (observed.length === 0) return 0;
    const start = this.offset % observed.length;
    const asked = [...observed.slice(start), ...observed.slice(0, start)].slice(0, this.roomsPerPass);
    this.offset = start + asked.length;
    const heads = await this.options.web.roomHeads(asked);
    const isBehind = (room: RoomName): boolean => {
      const buffer = this.options.rooms.get(room);
      return buffer !== undefined && (heads.get(room) ?? 0) > buffer.head;
    };
    let behind = asked.filter(isBehind);
    if (behind.length === 0) return 0;
    await new Promise((resolve) => setTimeout(resolve, this.graceMs).unref());
    // Stopped during the grace: the chatserver is closing, its web pools too.
    if (this.closed) return 0;
    behind = behind.filter(isBehind);
    for (let index = 0; index < behind.length; index += this.repairConcurrency) {
      const batch = behind.slice(index, index + this.repairConcurrency);
      const results = await Promise.allSettled(batch.map((room) => this.options.rooms.repair(room)));
      results.forEach((result, i) => {
        if (result.status === 'rejected') {
          this.options.log.warn({ room: batch[i] ?? '', err: result.reason }, 'catch-up repair failed');
        }
      });
    }
    if (behind.length > 0) this.options.log.warn({ rooms: behind.length, asked: asked.length }, 'rooms caught up with the web tier');
    return behind.length;
  }
}
