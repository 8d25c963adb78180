// Self time per function of one V8 .cpuprofile, largest first, as a share of
// the busy samples (idle left out): `node bench/profile-top.mjs FILE [ROWS]`.
import { readFileSync } from 'node:fs';

const [file, rowsText] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/profile-top.mjs FILE.cpuprofile [ROWS]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const selfSamples = new Map();
let busy = 0;
for (const id of profile.samples) {
  const frame = nodes.get(id).callFrame;
  if (frame.functionName === '(idle)') continue;
  const where = frame.url === '' ? '' : ` ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
  const key = `${frame.functionName || '(anonymous)'}${where}`;
  selfSamples.set(key, (selfSamples.get(key) ?? 0) + 1);
  busy++;
}
const rows = [...selfSamples].sort((a, b) => b[1] - a[1]).slice(0, Number(rowsText ?? 25));
for (const [key, count] of rows) process.stdout.write(`${((100 * count) / busy).toFixed(1).padStart(5)} %  ${key}\n`);
process.stdout.write(`${busy} busy samples of ${profile.samples.length}\n`);
