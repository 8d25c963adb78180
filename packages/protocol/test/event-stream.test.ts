import { expect } from 'chai';
import { EventStreamParser } from '../src/event-stream.js';

describe('EventStreamParser', () => {
  it('reads messages split anywhere across chunks, with ids, named events, retry and comments', () => {
    const text = 'retry: 1000\nevent: ready\nid: lobby:3\ndata: {"cursor":"lobby:3"}\n\n:\n\nid: lobby:4\ndata: {"seq":4}\n\n';
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new EventStreamParser();
      const messages = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      expect(messages).to.deep.equal([
        { event: 'ready', id: 'lobby:3', data: '{"cursor":"lobby:3"}' },
        { event: 'message', id: 'lobby:4', data: '{"seq":4}' },
      ]);
      expect(parser.retryMs).to.equal(1000);
      expect(parser.comments).to.equal(1);
      expect(parser.lastEventId).to.equal('lobby:4');
    }
  });

  it('accepts CRLF and CR line ends and joins several data lines', () => {
    const parser = new EventStreamParser();
    expect(parser.push('data: a\r\ndata:b\r\rdata: c\r')).to.deep.equal([{ event: 'message', id: '', data: 'a\nb' }]);
    expect(parser.push('\n\n')).to.deep.equal([{ event: 'message', id: '', data: 'c' }]);
  });
});
