import { expect } from 'chai';
import { signRequest } from '@parley/protocol/node';
import { get, postNotify, SECRET, useChatFixture } from './support/harness.js';
import { messageEvent } from './support/web-stand-in.js';

describe('notify endpoint', () => {
  const { fixture } = useChatFixture();
  const body = JSON.stringify({ events: [messageEvent('lobby', 1)] });

  /** The lobby as an observer sees it now (the stand-in's lobby is empty). */
  async function lobbyNow(): Promise<unknown> {
    return JSON.parse((await get(fixture.observeUrl('rooms=lobby:0&wait=0'))).text);
  }

  it('accepts a signed notify with 204', async () => {
    expect(await postNotify(fixture.ports.internalPort, body)).to.equal(204);
    expect(await lobbyNow()).to.deep.equal({ events: [messageEvent('lobby', 1)], cursor: 'lobby:1' });
  });

  it('refuses an unsigned notify with 401 and changes nothing', async () => {
    expect(await postNotify(fixture.ports.internalPort, body, {})).to.equal(401);
    expect(await lobbyNow()).to.deep.equal({ events: [], cursor: 'lobby:0' });
  });

  it('refuses a notify signed with another secret with 403 and changes nothing', async () => {
    const headers = signRequest('another-secret'.padEnd(40, 'y'), { method: 'POST', path: '/internal/notify', body });
    expect(await postNotify(fixture.ports.internalPort, body, headers)).to.equal(403);
    expect(await lobbyNow()).to.deep.equal({ events: [], cursor: 'lobby:0' });
  });

  it('refuses a notify whose body differs from the signed one with 403 and changes nothing', async () => {
    const headers = signRequest(SECRET, { method: 'POST', path: '/internal/notify', body: '{"events":[]}' });
    expect(await postNotify(fixture.ports.internalPort, body, headers)).to.equal(403);
    expect(await lobbyNow()).to.deep.equal({ events: [], cursor: 'lobby:0' });
  });

  it('refuses a stale signature with 403 and changes nothing', async () => {
    const headers = signRequest(SECRET, { method: 'POST', path: '/internal/notify', body }, Date.now() - 60_000);
    expect(await postNotify(fixture.ports.internalPort, body, headers)).to.equal(403);
    expect(await lobbyNow()).to.deep.equal({ events: [], cursor: 'lobby:0' });
  });

  it('refuses a replayed notify with 403 replayed_request and changes nothing', async () => {
    const headers = signRequest(SECRET, { method: 'POST', path: '/internal/notify', body });
    expect(await postNotify(fixture.ports.internalPort, body, headers)).to.equal(204);
    const replayed = await fetch(`http://127.0.0.1:${fixture.ports.internalPort}/internal/notify`, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(5000),
    });
    expect(replayed.status).to.equal(403);
    expect(((await replayed.json()) as { error: { code: string } }).error.code).to.equal('replayed_request');
    expect(await lobbyNow()).to.deep.equal({ events: [messageEvent('lobby', 1)], cursor: 'lobby:1' });
  });

  for (const [what, badBody] of [
    ['not JSON', '{"events":['],
    ['without events', '{"event":[]}'],
    ['with an event without seq', JSON.stringify({ events: [{ ...messageEvent('lobby', 1), seq: undefined }] })],
    ['with an invalid room name', JSON.stringify({ events: [messageEvent('Lobby', 1)] })],
    ['with a message without text', JSON.stringify({ events: [{ ...messageEvent('lobby', 1), text: 5 }] })],
  ] as const) {
    it(`refuses a signed body ${what} with 400 invalid_body`, async () => {
      const response = await fetch(`http://127.0.0.1:${fixture.ports.internalPort}/internal/notify`, {
        method: 'POST',
        headers: signRequest(SECRET, { method: 'POST', path: '/internal/notify', body: badBody }),
        body: badBody,
        signal: AbortSignal.timeout(5000),
      });
      expect(response.status).to.equal(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).to.equal('invalid_body');
    });
  }

  it('refuses a body over 1 MiB with 413 payload_too_large', async () => {
    const big = JSON.stringify({ events: [messageEvent('lobby', 1, 'x'.repeat(1024 * 1024))] });
    expect(await postNotify(fixture.ports.internalPort, big)).to.equal(413);
  });

  it('refuses GET on the notify path with 405', async () => {
    const result = await get(`http://127.0.0.1:${fixture.ports.internalPort}/internal/notify`);
    expect(result.status).to.equal(405);
  });

  it('does not serve observe on the internal port', async () => {
    const result = await get(`http://127.0.0.1:${fixture.ports.internalPort}/api/observe?rooms=lobby`);
    expect(result.status).to.equal(404);
  });

  it('applies events of several rooms from one notify', async () => {
    const lobby = fixture.web.addMessages('lobby', 2);
    const dev = fixture.web.addMessages('dev', 1);
    expect(await fixture.notify([lobby[0]!, dev[0]!, lobby[1]!])).to.equal(204);
    const result = JSON.parse((await get(fixture.observeUrl('rooms=lobby:0,dev:0&wait=0'))).text);
    expect(result).to.deep.equal({ events: [...lobby, ...dev], cursor: 'lobby:2,dev:1' });
  });
});
