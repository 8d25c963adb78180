import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../src/supervisor.js';

// ajv-formats is CommonJS: under ESM its function is the default export's `default`.
const addFormats = ((addFormatsModule as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

/** An answer as the contract checks it. */
export interface ContractAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** The methods an OpenAPI path item may hold. */
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

// The slices of an OpenAPI 3.1 document this checker reads. Schemas are JSON
// Schema 2020-12, so they stay `object` and go to Ajv as they are.
interface MediaType {
  schema?: object;
  /** Ours: the schema of the JSON inside a JSONP answer (`/**\/NAME(<json>);`). */
  'x-jsonp-payload'?: object;
}
interface Header {
  required?: boolean;
  schema?: object;
}
interface Response {
  description?: string;
  headers?: Record<string, Header | Reference>;
  content?: Record<string, MediaType>;
}
interface Reference {
  $ref: string;
  description?: string;
}
interface Operation {
  responses: Record<string, Response | Reference>;
}
type PathItem = Partial<Record<(typeof HTTP_METHODS)[number], Operation>> & { 'x-served-by'?: string };
/** The parts of the document the contract test reads. */
export interface OpenApiDocument {
  info: { version: string };
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, object>;
    responses: Record<string, Response>;
    headers: Record<string, Header>;
  };
}

// The components' schemas become one Ajv schema; `#/components/schemas/X`
// references are pointed at it.
const SCHEMAS_ID = 'https://parley.invalid/openapi/schemas';
const JSONP = /^\/\*\*\/[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*\((.*)\);$/s;

function isReference(value: object): value is Reference {
  return '$ref' in value;
}

/** `application/json; charset=utf-8` → `application/json`. */
function mediaTypeOf(contentType: string | null): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase() || undefined;
}

/**
 * docs/openapi.yaml as an oracle: `check` validates a real answer of an
 * operation (status, required headers, content type, body) with Ajv against
 * the document and fails on a status the operation does not list;
 * `unexercised` lists every documented (operation, status, media type) no
 * `check` has seen, so a status documented but never produced fails too.
 */
export class OpenApiContract {
  readonly document: OpenApiDocument;
  readonly #ajv: Ajv2020;
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #seen = new Set<string>();

  constructor(document: OpenApiDocument) {
    this.document = document;
    this.#ajv = new Ajv2020({ allErrors: true, discriminator: true, strictTypes: false });
    addFormats(this.#ajv);
    this.#ajv.addSchema({ $id: SCHEMAS_ID, $defs: this.#pointRefs(document.components.schemas) });
  }

  /** Reads the repository's `docs/openapi.yaml`. */
  static load(file = join(REPO_ROOT, 'docs/openapi.yaml')): OpenApiContract {
    return new OpenApiContract(parse(readFileSync(file, 'utf8'), { uniqueKeys: true }) as OpenApiDocument);
  }

  /** Every operation as `METHOD /path/{template}`, in document order. */
  operations(): string[] {
    const names: string[] = [];
    for (const [path, item] of Object.entries(this.document.paths)) {
      for (const method of HTTP_METHODS) if (item[method] !== undefined) names.push(`${method.toUpperCase()} ${path}`);
    }
    return names;
  }

  /** A reusable response of `components/responses`. */
  componentResponse(name: string): Response {
    const response = this.document.components.responses[name];
    if (response === undefined) throw new Error(`components/responses/${name} is not in the document`);
    return response;
  }

  /**
   * Validates `answer` as an answer of `operation` (`POST /api/session`);
   * throws an Error naming every mismatch. Records the (operation, status,
   * media type) as exercised.
   */
  check(operation: string, answer: ContractAnswer): void {
    const [method = '', path = ''] = operation.split(' ');
    const item = this.document.paths[path];
    const found = item?.[method.toLowerCase() as (typeof HTTP_METHODS)[number]];
    if (found === undefined) throw new Error(`${operation} is not in docs/openapi.yaml`);
    const documented = found.responses[String(answer.status)];
    if (documented === undefined) {
      throw new Error(`${operation} answered ${answer.status}, which docs/openapi.yaml does not list (${Object.keys(found.responses).join(', ')}): ${answer.text.slice(0, 300)}`);
    }
    const mediaType = this.checkResponse(`${operation} ${answer.status}`, this.#resolve(documented), answer);
    this.#seen.add(`${operation} ${answer.status} ${mediaType ?? '(no body)'}`);
  }

  /**
   * Validates `answer` against one response object; returns the media type
   * it matched (`undefined` for a response without content).
   */
  checkResponse(label: string, response: Response, answer: ContractAnswer): string | undefined {
    const problems: string[] = [];
    for (const [name, declared] of Object.entries(response.headers ?? {})) {
      const header = isReference(declared) ? this.#componentHeader(declared.$ref) : declared;
      const value = answer.headers.get(name);
      if (value === null) {
        if (header.required === true) problems.push(`header ${name} is missing`);
        continue;
      }
      if (header.schema !== undefined) problems.push(...this.#validate(`header ${name}`, header.schema, value));
    }
    const content = response.content;
    let mediaType: string | undefined;
    if (content === undefined) {
      if (answer.text !== '') problems.push(`a body where none is documented: ${answer.text.slice(0, 200)}`);
    } else {
      mediaType = mediaTypeOf(answer.headers.get('content-type'));
      const documented = mediaType === undefined ? undefined : content[mediaType];
      if (documented === undefined) {
        problems.push(`content type ${String(answer.headers.get('content-type'))}, documented: ${Object.keys(content).join(', ')}`);
      } else {
        problems.push(...this.#checkBody(mediaType as string, documented, answer.text));
      }
    }
    if (problems.length > 0) throw new Error(`${label} does not match docs/openapi.yaml:\n  ${problems.join('\n  ')}\n  body: ${answer.text.slice(0, 500)}`);
    return mediaType;
  }

  /** Documented (operation, status, media type) triples never seen by `check`. */
  unexercised(): string[] {
    const missing: string[] = [];
    for (const operation of this.operations()) {
      const [method = '', path = ''] = operation.split(' ');
      const found = this.document.paths[path]?.[method.toLowerCase() as (typeof HTTP_METHODS)[number]];
      for (const [status, documented] of Object.entries(found?.responses ?? {})) {
        const mediaTypes = Object.keys(this.#resolve(documented).content ?? { '(no body)': {} });
        for (const mediaType of mediaTypes) {
          const key = `${operation} ${status} ${mediaType}`;
          if (!this.#seen.has(key)) missing.push(key);
        }
      }
    }
    return missing;
  }

  #checkBody(mediaType: string, documented: MediaType, text: string): string[] {
    if (mediaType === 'application/json') {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return [`the body is not JSON`];
      }
      return documented.schema === undefined ? [] : this.#validate('body', documented.schema, value);
    }
    const problems = documented.schema === undefined ? [] : this.#validate('body', documented.schema, text);
    const payloadSchema = documented['x-jsonp-payload'];
    if (payloadSchema !== undefined) {
      const match = JSONP.exec(text);
      if (match?.[1] === undefined) return [...problems, 'not a JSONP script'];
      problems.push(...this.#validate('JSONP payload', payloadSchema, JSON.parse(match[1]) as unknown));
    }
    return problems;
  }

  #validate(what: string, schema: object, value: unknown): string[] {
    const key = JSON.stringify(schema);
    let validate = this.#validators.get(key);
    if (validate === undefined) {
      validate = this.#ajv.compile(this.#pointRefs(schema));
      this.#validators.set(key, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((error) => `${what}${error.instancePath}: ${error.message ?? 'invalid'} ${JSON.stringify(error.params)}`);
  }

  /** A response or a reference to one of `components/responses` (siblings of `$ref` win, as OpenAPI 3.1 says). */
  #resolve(response: Response | Reference): Response {
    if (!isReference(response)) return response;
    const { $ref, ...overrides } = response;
    return { ...this.componentResponse($ref.replace('#/components/responses/', '')), ...overrides };
  }

  #componentHeader(ref: string): Header {
    const header = this.document.components.headers[ref.replace('#/components/headers/', '')];
    if (header === undefined) throw new Error(`${ref} is not in the document`);
    return header;
  }

  #pointRefs<T extends object>(schema: T): T {
    return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${SCHEMAS_ID}#/$defs/`)) as T;
  }
}
