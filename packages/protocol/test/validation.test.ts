import { expect } from 'chai';
import { ChatError } from '../src/errors.js';
import {
  parseClientId,
  parseIntegerParameter,
  parseMessageText,
  parseNickname,
  parseRoomName,
} from '../src/validation.js';

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).to.be.instanceOf(ChatError);
    return (error as ChatError).code;
  }
  return 'accepted';
}

describe('validation', () => {
  describe('room names', () => {
    it('accepts 1-64 of a-z, 0-9, _ and - starting with a letter or digit', () => {
      for (const name of ['a', 'lobby', '0day', 'dev_ops-2', 'a'.repeat(64)]) expect(parseRoomName(name)).to.equal(name);
    });

    it('refuses everything else with invalid_room', () => {
      for (const name of ['', 'Lobby', '_a', '-a', 'a b', 'a/b', '..', 'a'.repeat(65), 'café', 'a\u0000', 7, null]) {
        expect(codeOf(() => parseRoomName(name)), String(name)).to.equal('invalid_room');
      }
    });
  });

  describe('nicknames', () => {
    it('trims and accepts 1-32 printable characters, emoji included', () => {
      expect(parseNickname('  alice ')).to.equal('alice');
      expect(parseNickname('😀'.repeat(32))).to.equal('😀'.repeat(32));
      expect(parseNickname('Zoë')).to.equal('Zoë');
    });

    it('refuses empty, overlong, non-string, control and bidi nicknames', () => {
      for (const value of ['', '   ', 'a'.repeat(33), 'a\nb', 'a\u0007', 'a\u202eb', 'a\u2066b', '\ud800x', 42, null, ['a']]) {
        expect(codeOf(() => parseNickname(value)), JSON.stringify(value)).to.equal('invalid_nickname');
      }
    });
    it('refuses nicknames that are invisible or hide invisible characters', () => {
      const cases = {
        'only U+200B': '\u200b',
        'only U+3164': '\u3164',
        'only U+115F U+1160': '\u115f\u1160',
        'only U+FFA0': '\uffa0',
        'soft hyphen': 'al\u00adice',
        ZWJ: 'al\u200dice',
        ZWNJ: 'al\u200cice',
        'U+2060': 'al\u2060ice',
        'U+061C': 'a\u061cb',
        'U+200E': 'a\u200eb',
        'U+2067': 'a\u2067b',
        'U+180E': 'a\u180eb',
        'only a tag': '\u{e0041}',
      };
      for (const [what, value] of Object.entries(cases)) {
        expect(codeOf(() => parseNickname(value)), what).to.equal('invalid_nickname');
      }
    });

    it('accepts emoji sequences that need joiners, variation selectors and tags', () => {
      for (const value of ['👨\u200d👩\u200d👧', '❤\ufe0f', '1\ufe0f\u20e3', '🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}', 'bob 👍🏽']) {
        expect(parseNickname(value), JSON.stringify(value)).to.equal(value);
      }
    });
  });

  describe('message text', () => {
    it('accepts 1-2000 characters with newlines and tabs', () => {
      expect(parseMessageText('hi\n\tthere')).to.equal('hi\n\tthere');
      expect(parseMessageText('x'.repeat(2000))).to.have.length(2000);
      expect(parseMessageText('<img src=x onerror=alert(1)>')).to.equal('<img src=x onerror=alert(1)>');
    });

    it('refuses text that is only invisible characters, and U+061C', () => {
      for (const value of ['\u200b', '\u200b\u200c\u200d', ' \u2060 \n', '\u3164', '\u00ad', '\ufe0f', 'a\u061cb']) {
        expect(codeOf(() => parseMessageText(value)), JSON.stringify(value)).to.equal('invalid_text');
      }
    });

    it('keeps invisible characters inside visible text', () => {
      expect(parseMessageText('co\u00adoperate')).to.equal('co\u00adoperate');
    });

    it('refuses empty, blank, overlong, control and bidi text', () => {
      for (const value of ['', ' \n ', 'x'.repeat(2001), 'a\u0000b', 'a\u001bb', 'a\u202eb', 'a\udc00', 5, undefined]) {
        expect(codeOf(() => parseMessageText(value)), JSON.stringify(value)).to.equal('invalid_text');
      }
    });
  });

  describe('client ids', () => {
    it('accepts absence and 1-64 URL-safe characters', () => {
      expect(parseClientId(undefined)).to.equal(undefined);
      expect(parseClientId('abc-DEF_123')).to.equal('abc-DEF_123');
    });

    it('refuses everything else with invalid_client_id', () => {
      for (const value of ['', 'a b', 'x'.repeat(65), 12, {}, 'ü']) {
        expect(codeOf(() => parseClientId(value)), JSON.stringify(value)).to.equal('invalid_client_id');
      }
    });
  });

  describe('integer parameters', () => {
    it('parses whole numbers within bounds and passes absence through', () => {
      expect(parseIntegerParameter('limit', '50', { min: 1, max: 200 })).to.equal(50);
      expect(parseIntegerParameter('limit', undefined, { min: 1, max: 200 })).to.equal(undefined);
    });

    it('refuses non-numbers, out-of-range and repeated parameters', () => {
      for (const value of ['', '-1', '1.5', '0x10', '1e3', '201', '0', ' 5', ['1', '2']]) {
        expect(codeOf(() => parseIntegerParameter('limit', value, { min: 1, max: 200 })), JSON.stringify(value)).to.equal(
          'invalid_parameter',
        );
      }
    });
  });
});
