import { types, type CustomTypesConfig } from 'pg';

const INT8_OID = 20;

function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} does not fit a JavaScript number exactly`);
  return value;
}

/**
 * `bigint` columns (times, seqs, ids, counts) as numbers, parsed exactly:
 * one beyond 2^53 fails its query instead of being rounded. Given to a pool
 * as its `types`, so nothing else in the process changes how `pg` reads int8.
 */
export const INT8_AS_NUMBER: CustomTypesConfig = {
  // `getTypeParser` is overloaded per format in pg-types' declarations; this one
  // answers for both, returning the library's own parser for every other type.
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : types.getTypeParser(oid, format ?? 'text')) as CustomTypesConfig['getTypeParser'],
};
