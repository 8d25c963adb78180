import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';

const ROOT = join(import.meta.dirname, '../../..');

interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  types?: string;
  files?: string[];
  exports: Record<string, { types: string; default: string }>;
  dependencies?: Record<string, string>;
}

function readPackage(name: string): PackageJson {
  return JSON.parse(readFileSync(join(ROOT, 'packages', name, 'package.json'), 'utf8')) as PackageJson;
}

describe('@parley/client as a published package', () => {
  const client = readPackage('client');
  const protocol = readPackage('protocol');

  it('carries the version of the API it speaks: info.version of docs/openapi.yaml', () => {
    const document = parse(readFileSync(join(ROOT, 'docs/openapi.yaml'), 'utf8')) as { info: { version: string } };
    expect(client.version).to.equal(document.info.version);
  });

  it('is publishable with its types, README and the protocol version it was built with', () => {
    expect(client.private).to.equal(undefined);
    expect(protocol.private).to.equal(undefined);
    expect(client.files).to.include.members(['dist', 'README.md']);
    expect(client.types).to.equal(client.exports['.']?.types);
    expect(client.dependencies).to.deep.equal({ '@parley/protocol': protocol.version });
    expect(existsSync(join(ROOT, 'packages/client/README.md'))).to.equal(true);
    expect(readFileSync(join(ROOT, 'packages/client/README.md'), 'utf8')).to.include("from '@parley/client'");
  });
});
