// Builds what the web tier serves besides its code: every packages/web/ui/*.ts
// entry becomes packages/web/dist/public/<name>.js (one self-contained,
// minified script each: the chat pages and badge.js), ui/*.css and ui/*.svg
// (the favicon) are copied, and
// docs/openapi.yaml becomes packages/web/dist/openapi.json (GET /api/openapi.json).
// Prints each file's gzipped size, since the badge is meant to stay small.
import { build } from 'esbuild';
import { parse } from 'yaml';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const uiDir = join(root, 'packages/web/ui');
const outDir = join(root, 'packages/web/dist/public');
mkdirSync(outDir, { recursive: true });

const files = readdirSync(uiDir);
const entryPoints = files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts')).map((file) => join(uiDir, file));
if (entryPoints.length > 0) {
  await build({
    entryPoints,
    outdir: outDir,
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    platform: 'browser',
    legalComments: 'none',
    logLevel: 'warning',
    // See ui/lib/no-entities.ts: markdown-it's entity table is unused by the page.
    alias: { entities: join(uiDir, 'lib/no-entities.ts') },
  });
}
for (const file of files.filter((name) => name.endsWith('.css') || name.endsWith('.svg'))) copyFileSync(join(uiDir, file), join(outDir, file));

for (const file of readdirSync(outDir).sort()) {
  const bytes = readFileSync(join(outDir, file));
  console.log(`ui: ${file} ${bytes.length} B, ${gzipSync(bytes, { level: 9 }).length} B gzipped`);
}

// The contract as JSON, converted once here so the web tier needs no YAML parser.
const openApi = parse(readFileSync(join(root, 'docs/openapi.yaml'), 'utf8'), { uniqueKeys: true });
writeFileSync(join(root, 'packages/web/dist/openapi.json'), `${JSON.stringify(openApi)}\n`);
console.log(`ui: openapi.json ${Object.keys(openApi.paths).length} paths`);
