// Exits 0 when node_modules holds what package-lock.json asks for, 1 when
// `npm ci` must run. Decided on content, not on file times: a fresh clone or
// checkout gives package-lock.json a newer mtime than an installed
// node_modules, and comparing times reinstalled everything on every run.
// npm writes what it installed to node_modules/.package-lock.json (its
// "hidden lockfile"): every entry there must equal the lockfile's, and the
// lockfile's entries missing there may only be the root and optional
// packages of other platforms (esbuild's, for one).
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';

function packagesOf(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8')).packages ?? {};
  } catch {
    return undefined;
  }
}

const wanted = packagesOf('package-lock.json');
const installed = packagesOf('node_modules/.package-lock.json');
if (wanted === undefined || installed === undefined) process.exit(1);
const matches =
  Object.entries(installed).every(([path, entry]) => isDeepStrictEqual(entry, wanted[path])) &&
  Object.entries(wanted).every(([path, entry]) => path === '' || path in installed || entry.optional === true);
process.exit(matches ? 0 : 1);
