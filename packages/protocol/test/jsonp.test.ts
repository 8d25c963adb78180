import { expect } from 'chai';
import { ChatError } from '../src/errors.js';
import { JSONP_HEADERS, isCallbackName, parseCallbackName, wrapJsonp } from '../src/jsonp.js';

describe('JSONP codec', () => {
  it('accepts identifier paths', () => {
    for (const name of ['cb', '_cb', '$', 'jQuery123_456', 'a.b.c', 'Parley.badge$1', 'x'.repeat(128)]) {
      expect(isCallbackName(name), name).to.equal(true);
    }
  });

  it('refuses hostile callback names', () => {
    for (const name of [
      '',
      'alert(1)//',
      'a-b',
      '1abc',
      'a..b',
      'a.',
      '.a',
      'constructor[0]',
      'a b',
      'a;b',
      'a\u2028b',
      '<script>',
      'x'.repeat(129),
    ]) {
      expect(isCallbackName(name), JSON.stringify(name)).to.equal(false);
    }
    expect(isCallbackName(undefined)).to.equal(false);
    expect(isCallbackName(['cb'])).to.equal(false);
  });

  it('refuses a reserved word as the first name, not after a dot', () => {
    for (const name of ['do', 'import', 'new', 'this', 'eval', 'typeof', 'import.meta']) {
      expect(isCallbackName(name), name).to.equal(false);
    }
    expect(isCallbackName('Parley.new')).to.equal(true);
    expect(isCallbackName('done')).to.equal(true);
  });

  it('throws invalid_callback for a bad name', () => {
    expect(() => parseCallbackName('a-b')).to.throw(ChatError).with.property('code', 'invalid_callback');
  });

  it('wraps JSON in a commented call', () => {
    expect(wrapJsonp('cb', '{"a":1}')).to.equal('/**/cb({"a":1});');
  });

  it('escapes U+2028 and U+2029 so the script parses', () => {
    const json = JSON.stringify({ text: 'a\u2028b\u2029c' });
    const script = wrapJsonp('cb', json);
    expect(script).to.equal('/**/cb({"text":"a\\u2028b\\u2029c"});');
    let received: unknown;
    new Function('cb', script)((value: unknown) => {
      received = value;
    });
    expect(received).to.deep.equal({ text: 'a\u2028b\u2029c' });
  });

  it('declares a script type, nosniff and no caching', () => {
    expect(JSONP_HEADERS['content-type']).to.equal('application/javascript; charset=utf-8');
    expect(JSONP_HEADERS['x-content-type-options']).to.equal('nosniff');
    expect(JSONP_HEADERS['cache-control']).to.equal('no-store');
  });
});
