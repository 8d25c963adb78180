import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { ERROR_STATUS } from '../src/errors.js';

const DOCUMENT_FILE = join(import.meta.dirname, '../../../docs/openapi.yaml');

interface Document {
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
  components: { schemas: { ErrorCode: { enum: string[] } }; responses: Record<string, unknown> };
}

/** The codes an error response's schema allows (`…properties.error.properties.code` `enum` or `const`). */
function documentedCodes(response: unknown, components: Document['components']): string[] {
  let resolved = response as { $ref?: string; content?: Record<string, { schema?: unknown }> };
  if (resolved.$ref !== undefined) resolved = components.responses[resolved.$ref.replace('#/components/responses/', '')] as typeof resolved;
  const schema = resolved.content?.['application/json']?.schema as
    | { properties?: { error?: { properties?: { code?: { enum?: string[]; const?: string } } } } }
    | undefined;
  const code = schema?.properties?.error?.properties?.code;
  return code?.enum ?? (code?.const === undefined ? [] : [code.const]);
}

describe('docs/openapi.yaml and the error table', () => {
  const document = parse(readFileSync(DOCUMENT_FILE, 'utf8'), { uniqueKeys: true }) as Document;

  it('lists exactly the codes of ERROR_STATUS, in its order, as ErrorCode', () => {
    expect(document.components.schemas.ErrorCode.enum).to.deep.equal(Object.keys(ERROR_STATUS));
  });

  it('lists each code of an operation only under the status ERROR_STATUS gives it', () => {
    const misplaced: string[] = [];
    let checked = 0;
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const [status, response] of Object.entries(operation.responses ?? {})) {
          for (const code of documentedCodes(response, document.components)) {
            checked++;
            const table = ERROR_STATUS[code as keyof typeof ERROR_STATUS] as number | undefined;
            if (table !== Number(status)) misplaced.push(`${method.toUpperCase()} ${path} ${status}: ${code} is ${String(table)}`);
          }
        }
      }
    }
    expect(misplaced).to.deep.equal([]);
    // The walk found the codes (a change of the document's shape would make it find none).
    expect(checked).to.be.greaterThan(50);
  });
});
