import { readFileSync, readdirSync } from 'node:fs';

/** One process to measure: a line of `cluster.json`, or a child found under one. */
export interface MeasuredProcess {
  role: string;
  name: string;
  pid: number;
}

/** CPU and memory of one process at one moment, from /proc. */
export interface ProcessSample {
  /** user + system CPU seconds since the process started. */
  cpuSeconds: number;
  /** Resident set size, bytes. */
  rssBytes: number;
}

/** What the report shows per process: the CPU spent during the run and the RSS at its end. */
export interface ProcessUsage {
  role: string;
  name: string;
  pid: number;
  cpuSeconds: number;
  rssStartBytes: number;
  rssEndBytes: number;
  /** Peak RSS of the process's whole life (VmHWM), bytes. */
  rssPeakBytes: number;
}

// USER_HZ, the unit of utime/stime in /proc/<pid>/stat, is 100 on every Linux
// architecture Node supports (`getconf CLK_TCK`); Node has no sysconf to ask.
const CLOCK_TICKS_PER_SECOND = 100;

/** Fields of /proc/<pid>/stat after the `(comm)`, which may itself hold spaces and parentheses. */
function statFields(pid: number): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  // After ")": field 3 (state) is index 0, so field n is index n - 3.
  return text.slice(close + 2).split(' ');
}

/** Reads a process's CPU seconds and RSS, or undefined when it does not exist (any more). */
export function sampleProcess(pid: number): (ProcessSample & { rssPeakBytes: number }) | undefined {
  const fields = statFields(pid);
  if (!fields) return undefined;
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kilobytes = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return {
    cpuSeconds: (utime + stime) / CLOCK_TICKS_PER_SECOND,
    rssBytes: kilobytes('VmRSS') * 1024,
    rssPeakBytes: kilobytes('VmHWM') * 1024,
  };
}

/**
 * The processes of a `cluster.json` (`[{"role","name","pid","port"}]`) plus
 * their direct children (nginx's workers do the proxying, not its master).
 * Missing file → empty list.
 */
export function readClusterProcesses(path: string): MeasuredProcess[] {
  let entries: Array<{ role?: unknown; name?: unknown; pid?: unknown }>;
  try {
    entries = JSON.parse(readFileSync(path, 'utf8')) as typeof entries;
  } catch {
    return [];
  }
  if (!Array.isArray(entries)) return [];
  const listed: MeasuredProcess[] = [];
  for (const entry of entries) {
    if (typeof entry.pid === 'number' && Number.isInteger(entry.pid) && entry.pid > 0) {
      listed.push({ role: String(entry.role), name: String(entry.name), pid: entry.pid });
    }
  }
  const byPid = new Map(listed.map((entry) => [entry.pid, entry]));
  const children: MeasuredProcess[] = [];
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    // Not Linux: no children, and sampleProcess will find nothing either.
  }
  for (const pidText of pids) {
    const pid = Number(pidText);
    if (byPid.has(pid)) continue;
    const parentPid = Number(statFields(pid)?.[4 - 3]);
    const parent = byPid.get(parentPid);
    if (parent) children.push({ role: parent.role, name: `${parent.name}/${pid}`, pid });
  }
  return [...listed, ...children];
}

/** Samples every process now; the map holds only processes that exist. */
export function sampleAll(processes: readonly MeasuredProcess[]): Map<number, ProcessSample & { rssPeakBytes: number }> {
  const samples = new Map<number, ProcessSample & { rssPeakBytes: number }>();
  for (const process of processes) {
    const sample = sampleProcess(process.pid);
    if (sample) samples.set(process.pid, sample);
  }
  return samples;
}

/** CPU spent between two samples and RSS at both ends, for processes alive at both. */
export function usageBetween(
  processes: readonly MeasuredProcess[],
  start: ReadonlyMap<number, ProcessSample & { rssPeakBytes: number }>,
  end: ReadonlyMap<number, ProcessSample & { rssPeakBytes: number }>,
): ProcessUsage[] {
  const usage: ProcessUsage[] = [];
  for (const process of processes) {
    const before = start.get(process.pid);
    const after = end.get(process.pid);
    if (!before || !after) continue;
    usage.push({
      role: process.role,
      name: process.name,
      pid: process.pid,
      cpuSeconds: Math.round((after.cpuSeconds - before.cpuSeconds) * 100) / 100,
      rssStartBytes: before.rssBytes,
      rssEndBytes: after.rssBytes,
      rssPeakBytes: after.rssPeakBytes,
    });
  }
  return usage;
}
