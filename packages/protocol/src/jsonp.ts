import { ChatError } from './errors.js';

const CALLBACK_NAME = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;
/** Longest accepted JSONP callback name. */
export const MAX_CALLBACK_LENGTH = 128;

/** Headers of every JSONP answer: script type, no sniffing, never cached. */
export const JSONP_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/javascript; charset=utf-8',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
});

// A reserved word cannot start a call expression: `do(...)` is a syntax error,
// and `import(...)` or `new(...)` would mean something else than a call. After
// a dot any word is a plain property name (`Parley.new` is fine).
const RESERVED_WORDS = new Set(
  ('await break case catch class const continue debugger default delete do else enum export extends false finally ' +
    'for function if implements import in instanceof interface let new null package private protected public return ' +
    'static super switch this throw true try typeof var void while with yield arguments eval')
    .split(' '),
);

/**
 * Is `name` an acceptable JSONP callback: an identifier path (`a.b_c$`, ≤128
 * chars) whose first name is not a reserved word?
 */
export function isCallbackName(name: unknown): name is string {
  if (typeof name !== 'string' || name.length > MAX_CALLBACK_LENGTH || !CALLBACK_NAME.test(name)) return false;
  const dot = name.indexOf('.');
  return !RESERVED_WORDS.has(dot === -1 ? name : name.slice(0, dot));
}

/** Validates a JSONP callback name or throws `invalid_callback`. */
export function parseCallbackName(name: unknown): string {
  if (!isCallbackName(name)) {
    throw new ChatError('invalid_callback', 'callback must be a JavaScript identifier path of at most 128 characters');
  }
  return name;
}

/**
 * Wraps a JSON text as a JSONP script: `/**\/NAME({...});`. The leading comment
 * defeats the Rosetta-Flash family of content-sniffing attacks; U+2028 and
 * U+2029 are legal in JSON but ended string literals in older JavaScript.
 * The callback must already be validated.
 */
export function wrapJsonp(callback: string, json: string): string {
  return `/**/${callback}(${escapeLineSeparators(json)});`;
}

/** Escapes U+2028 and U+2029 so JSON text is also a valid JavaScript literal. */
export function escapeLineSeparators(json: string): string {
  return json.replace(/[\u2028\u2029]/g, (char) => (char === '\u2028' ? '\\u2028' : '\\u2029'));
}
