import { expect } from 'chai';
import { isLiveMessage, type ChatEvent } from '@parley/protocol';
import { collectEvents, createCookieSession, createSession, enterRoom, request, uniqueRoom } from './helpers/api.js';
import { useCluster } from './helpers/cluster-fixture.js';

describe('cluster: abuse limits, logout and headers across two web processes', function () {
  this.timeout(45_000);
  const fixture = useCluster({ env: { PARLEY_RATE_SAY_PER_SESSION: '3' } });

  /** `http://127.0.0.1:PORT` of web-1 and web-2, bypassing nginx. */
  function webUrls(): string[] {
    return fixture.cluster
      .processes()
      .filter((entry) => entry.role === 'web')
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((entry) => `http://127.0.0.1:${entry.port}`);
  }

  it('shares a session\'s say limit between the web processes, through Redis', async () => {
    const { publicUrl } = fixture.cluster;
    const [web1, web2] = webUrls() as [string, string];
    const room = uniqueRoom('limit');
    const alice = await createSession(publicUrl, 'alice');
    await enterRoom(publicUrl, alice, room);
    const say = (base: string, text: string) =>
      request(`${base}/api/rooms/${room}/say`, { method: 'POST', session: alice, body: { text } });
    expect((await say(web1, 'one')).status).to.equal(201);
    expect((await say(web2, 'two')).status).to.equal(201);
    expect((await say(publicUrl, 'three')).status).to.equal(201);
    for (const base of [publicUrl, web1, web2]) {
      const refused = await say(base, 'too many');
      expect(refused.status, base).to.equal(429);
      expect(JSON.parse(refused.text).error.code).to.equal('rate_limited');
      expect(Number(refused.headers.get('retry-after'))).to.be.within(1, 60);
    }
    const history = await request(`${publicUrl}/api/rooms/${room}/events?after=0`);
    const texts = (JSON.parse(history.text).events as ChatEvent[]).flatMap((event) => (isLiveMessage(event) ? [event.text] : []));
    expect(texts).to.deep.equal(['one', 'two', 'three']);
  });

  it('logs out everywhere: the token is refused by every web process, the cookie cleared, the rooms left', async () => {
    const { publicUrl } = fixture.cluster;
    const room = uniqueRoom('logout');
    const { session, cookie } = await createCookieSession(publicUrl, 'leaving');
    const head = await enterRoom(publicUrl, session, room);
    const leave = collectEvents(publicUrl, `${room}:${head}`, (events) => events.length >= 1, 20_000);

    const answer = await request(`${publicUrl}/api/session`, {
      method: 'DELETE',
      headers: { cookie, 'x-requested-with': 'XMLHttpRequest' },
    });
    expect(answer.status).to.equal(204);
    expect(answer.headers.get('set-cookie')).to.match(/^parley_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Lax/);

    for (const base of [publicUrl, ...webUrls()]) {
      const bearer = await request(`${base}/api/session`, { session });
      expect(bearer.status, base).to.equal(401);
      expect(JSON.parse(bearer.text).error.code).to.equal('unauthorized');
      const byCookie = await request(`${base}/api/session`, { headers: { cookie } });
      expect(byCookie.status, base).to.equal(401);
    }
    const events = await leave;
    expect(events.map((event) => `${event.type}:${event.nickname}`)).to.deep.equal(['leave:leaving']);
    const detail = await request(`${publicUrl}/api/rooms/${room}`);
    expect(JSON.parse(detail.text).occupants).to.deep.equal([]);
  });

  it('answers no metrics without PARLEY_METRICS_TOKEN: /metrics in any spelling, through nginx and on each web port', async () => {
    for (const base of [fixture.cluster.publicUrl, ...webUrls()]) {
      for (const path of ['/metrics', '/METRICS', '/Metrics', '/metrics/', '/metrics?name=parley_says_total']) {
        const answer = await request(`${base}${path}`, { headers: { authorization: 'Bearer ' } });
        expect(answer.status, `${base}${path}`).to.equal(404);
        expect(answer.text, `${base}${path}`).not.to.include('parley_');
      }
    }
  });

  it('sends the security headers through nginx, without the nginx version', async () => {
    const { publicUrl } = fixture.cluster;
    for (const path of ['/', '/api/rooms', '/api/observe?rooms=lobby&wait=0']) {
      const answer = await request(`${publicUrl}${path}`);
      expect(answer.status, path).to.equal(200);
      expect(answer.headers.get('x-content-type-options'), path).to.equal('nosniff');
      expect(answer.headers.get('referrer-policy'), path).to.equal('same-origin');
      expect(answer.headers.get('x-frame-options'), path).to.equal('DENY');
      expect(answer.headers.get('server'), path).to.equal('nginx');
      expect(answer.headers.get('strict-transport-security'), path).to.equal(null);
    }
  });
});
