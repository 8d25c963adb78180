/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves `true` when `promise` settles within `ms`, else `false`. The timer is
 * cleared either way, so a finished wait never keeps the process alive.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Answers once `GET url` returns 200 (with a body `accept` takes, when
 * given), polling every 100 ms; rejects after `timeoutMs` with the last
 * problem seen.
 */
export async function waitForHealthy(url: string, timeoutMs: number, accept?: (body: string) => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem: string;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = await response.text();
      if (response.status === 200 && (accept === undefined || accept(body))) return;
      lastProblem = response.status === 200 ? `answered by something else: ${body.slice(0, 100)}` : `status ${response.status}`;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`${url} not healthy after ${timeoutMs} ms: ${lastProblem}`);
    await sleep(100);
  }
}
