import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** A TypeScript child process (run with tsx) that talks in lines on stdin and stdout. */
export interface LineChild {
  child: ChildProcess;
  stderr(): string;
  /** Resolves with each stdout line in turn; rejects (with the child's stderr) after `timeoutMs`. */
  nextLine(timeoutMs: number): Promise<string>;
}

/** Starts `node --import tsx SCRIPT ...args` from the repository root. */
export function startLineChild(script: string, args: readonly string[], label: string): LineChild {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let buffered = '';
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  const nextLine = (timeoutMs: number): Promise<string> => {
    const ready = lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label} printed nothing in ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
      waiting.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  };
  return { child, stderr: () => stderr, nextLine };
}
