import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { resolve } from 'node:path';

/** Which processes a dead server left behind: its program name and the private directory it ran in. */
export interface Leftovers {
  /** `/proc/PID/comm`: the program name (`nginx`, `postgres`), whatever title the process set. */
  comm: string;
  /** The working directory every process of that server shares (nginx's run dir, PostgreSQL's data dir). */
  cwd: string;
}

/**
 * SIGKILLs every process named `comm` whose working directory is `cwd`, and
 * returns their pids. nginx workers outlive a SIGKILLed master and keep
 * serving on its port, so a new master cannot bind it; PostgreSQL backends
 * of a SIGKILLed postmaster hold its shared memory until they notice. Both
 * run in a directory of their own that nothing else of that name uses, so
 * the pair picks exactly the orphans, never another instance (a process of
 * another user that we may not read is skipped). Linux only: elsewhere it
 * finds nothing.
 */
export function killLeftovers({ comm, cwd }: Leftovers): number[] {
  const wanted = resolve(cwd);
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== comm) continue;
      if (readlinkSync(`/proc/${pid}/cwd`) !== wanted) continue;
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // Gone meanwhile, or not ours to read: skip it.
    }
  }
  return killed;
}
