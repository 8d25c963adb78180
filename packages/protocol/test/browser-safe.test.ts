import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { expect } from 'chai';
import { build, type Plugin } from 'esbuild';

const SRC = join(import.meta.dirname, '../src');
const NODE_BUILTINS = new Set(builtinModules);

/** Bundles `entry` for the browser; records every Node built-in it reaches instead of failing on the first. */
async function bundleForBrowser(entry: string): Promise<{ code: string; nodeImports: string[] }> {
  const nodeImports: string[] = [];
  const recordNodeImports: Plugin = {
    name: 'record-node-imports',
    setup(plugin) {
      plugin.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.replace(/^node:/, '').split('/')[0] ?? '';
        if (!args.path.startsWith('node:') && !NODE_BUILTINS.has(bare)) return undefined;
        nodeImports.push(`${args.path} (from ${args.importer.slice(SRC.length + 1)})`);
        return { path: args.path, external: true };
      });
    },
  };
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'iife',
    globalName: 'ParleyProtocol',
    target: ['es2020'],
    logLevel: 'silent',
    plugins: [recordNodeImports],
  });
  return { code: result.outputFiles[0]?.text ?? '', nodeImports };
}

describe('@parley/protocol root is browser-safe', () => {
  it('reaches no Node built-in module from src/index.ts, directly or transitively', async () => {
    const { nodeImports } = await bundleForBrowser(join(SRC, 'index.ts'));
    expect(nodeImports).to.deep.equal([]);
  });

  it('runs with only the language built-ins: no Buffer, process or require', async () => {
    const { code } = await bundleForBrowser(join(SRC, 'index.ts'));
    // A fresh context has Map, RegExp, JSON… but none of Node's globals.
    const sandbox: { ParleyProtocol?: Record<string, (...args: unknown[]) => unknown> } = {};
    runInNewContext(`${code}\nthis.ParleyProtocol = ParleyProtocol;`, sandbox);
    const protocol = sandbox.ParleyProtocol;
    if (protocol === undefined) throw new Error('the bundle defined no ParleyProtocol');
    expect(protocol.formatCursor?.(protocol.parseCursor?.('lobby:41,dev'))).to.equal('lobby:41,dev');
    expect(protocol.wrapJsonp?.('Parley.cb', '{"text":"\u2028"}')).to.equal('/**/Parley.cb({"text":"\\u2028"});');
    expect(protocol.isRoomName?.('lobby')).to.equal(true);
    const event = { room: 'lobby', seq: 1, type: 'enter', at: 1, id: 'x', nickname: 'alice' };
    expect(protocol.isChatEvent?.(event)).to.equal(true);
  });

  it('catches a Node import when one creeps in (the check itself works)', async () => {
    const { nodeImports } = await bundleForBrowser(join(SRC, 'node/index.ts'));
    expect(nodeImports.some((line) => line.startsWith('node:crypto'))).to.equal(true);
  });
});
