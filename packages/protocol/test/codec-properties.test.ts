import { expect } from 'chai';
import fc from 'fast-check';
import { formatCursor, parseCursor, MAX_CURSOR_ROOMS } from '../src/cursor.js';
import { ChatError } from '../src/errors.js';
import { isCallbackName, wrapJsonp } from '../src/jsonp.js';
import { isRoomName, parseMessageText, parseNickname } from '../src/validation.js';

const roomName = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,63}$/);
const seq = fc.oneof(fc.constant(null), fc.nat({ max: 999_999_999_999_999 }));
const cursorEntries = fc.uniqueArray(fc.tuple(roomName, seq), {
  minLength: 1,
  maxLength: MAX_CURSOR_ROOMS,
  selector: ([room]) => room,
});

/** Runs `parse` and says whether it accepted, or which protocol error it threw; anything else fails. */
function outcome(parse: () => unknown): 'accepted' | string {
  try {
    parse();
    return 'accepted';
  } catch (error) {
    expect(error).to.be.instanceOf(ChatError);
    return (error as ChatError).code;
  }
}

describe('codec properties (fast-check)', () => {
  it('parses every formatted cursor back to the same rooms and seqs in order', () => {
    fc.assert(
      fc.property(cursorEntries, (entries) => {
        const cursor = new Map(entries);
        const parsed = parseCursor(formatCursor(cursor));
        expect([...parsed]).to.deep.equal(entries);
      }),
    );
  });

  it('answers any string given as a cursor with a cursor or invalid_cursor, never anything else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const result = outcome(() => parseCursor(text));
        expect(['accepted', 'invalid_cursor']).to.include(result);
        if (result === 'accepted') {
          for (const [room, value] of parseCursor(text)) {
            expect(isRoomName(room)).to.equal(true);
            if (value !== null) expect(Number.isSafeInteger(value) && value >= 0).to.equal(true);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('wraps any JSON so that the script parses and hands the same value to the callback', () => {
    fc.assert(
      // A "__proto__" key means something else in an object literal than in JSON.parse;
      // Parley's answers never use it as a key (user text is only ever a value).
      fc.property(fc.jsonValue().filter((value) => !JSON.stringify(value).includes('"__proto__":')), (value) => {
        let received: unknown = 'not called';
        new Function('cb', wrapJsonp('cb', JSON.stringify(value)))((answer: unknown) => {
          received = answer;
        });
        expect(received).to.deep.equal(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });

  it('accepts as a callback only names a script can call without running anything else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 140 }), (name) => {
        if (!isCallbackName(name)) return;
        // An accepted name is a plain property path: calling it through the wrapper reaches our function.
        const root: Record<string, unknown> = {};
        const path = name.split('.');
        let node = root;
        for (const part of path.slice(0, -1)) node = (node[part] = {}) as Record<string, unknown>;
        let called = false;
        node[path[path.length - 1]!] = () => {
          called = true;
        };
        new Function(path[0]!, wrapJsonp(name, '{}'))(root[path[0]!]);
        expect(called).to.equal(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps every accepted nickname within 1-32 characters and free of controls and bidi overrides', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (value) => {
        const result = outcome(() => parseNickname(value));
        expect(['accepted', 'invalid_nickname']).to.include(result);
        if (result !== 'accepted') return;
        const nickname = parseNickname(value);
        expect([...nickname].length).to.be.within(1, 32);
        expect(nickname).to.not.match(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
        expect(nickname).to.equal(nickname.trim());
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts message texts only within 1-2000 characters, with no lone surrogate', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 2100 }), (value) => {
        const result = outcome(() => parseMessageText(value));
        expect(['accepted', 'invalid_text']).to.include(result);
        if (result !== 'accepted') return;
        const text = parseMessageText(value);
        expect([...text].length).to.be.within(1, 2000);
        expect(text).to.not.match(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
      }),
      { numRuns: 500 },
    );
  });
});
