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

/** Is `name` an acceptable JSONP callback (`a.b_c$`, ≤128 chars)? */
export function isCallbackName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_CALLBACK_LENGTH && CALLBACK_NAME.test(name);
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
