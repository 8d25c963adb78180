import { expect } from 'chai';
import { formatCursor, parseCursor, readCursor } from '../src/cursor.js';
import { ChatError } from '../src/errors.js';

function cursorError(text: unknown, maxRooms?: number): string {
  try {
    parseCursor(text, maxRooms);
  } catch (error) {
    expect(error).to.be.instanceOf(ChatError);
    return (error as ChatError).code;
  }
  throw new Error(`parseCursor accepted ${JSON.stringify(text)}`);
}

describe('cursor codec', () => {
  it('parses room:seq pairs in the order given', () => {
    const cursor = parseCursor('lobby:41,dev:17');
    expect([...cursor]).to.deep.equal([
      ['lobby', 41],
      ['dev', 17],
    ]);
  });

  it('parses a bare room as "from now"', () => {
    expect([...parseCursor('lobby,dev:0')]).to.deep.equal([
      ['lobby', null],
      ['dev', 0],
    ]);
  });

  it('formats what it parses back to the same text', () => {
    for (const text of ['lobby:41,dev:17', 'a', 'a:0,b,c-d_e:999999999999999']) {
      expect(formatCursor(parseCursor(text))).to.equal(text);
    }
  });

  it('refuses a missing or empty cursor', () => {
    expect(cursorError(undefined)).to.equal('invalid_cursor');
    expect(cursorError('')).to.equal('invalid_cursor');
  });

  it('refuses bad room names, seqs and separators', () => {
    for (const text of [
      'Lobby:1',
      '-lobby:1',
      'lobby:-1',
      'lobby:1.5',
      'lobby:01',
      'lobby:',
      'lobby:1:2',
      'lobby:1,',
      ',lobby',
      'lob by',
      'lobby:1e3',
      'lobby:9999999999999999',
      '../etc:1',
      `${'a'.repeat(65)}:1`,
    ]) {
      expect(cursorError(text), text).to.equal('invalid_cursor');
    }
  });

  it('refuses a room named twice', () => {
    expect(cursorError('lobby:1,lobby:2')).to.equal('invalid_cursor');
  });

  it('refuses more rooms than allowed', () => {
    const rooms = Array.from({ length: 4 }, (_, index) => `r${index}:1`).join(',');
    expect(cursorError(rooms, 3)).to.equal('invalid_cursor');
    expect(parseCursor(rooms, 4).size).to.equal(4);
  });

  it('refuses a huge hostile cursor before splitting it', () => {
    expect(cursorError('a:1,'.repeat(1_000_000), 50)).to.equal('invalid_cursor');
  });

  it('readCursor reads what parseCursor accepts and gives undefined where it throws', () => {
    expect([...(readCursor('lobby:41,dev') ?? [])]).to.deep.equal([
      ['lobby', 41],
      ['dev', null],
    ]);
    for (const text of ['', 'Lobby:1', 'lobby:1,lobby:2', 'lobby:01']) expect(readCursor(text), text).to.equal(undefined);
    expect(readCursor('a:1,b:2', 1)).to.equal(undefined);
  });
});
