import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadAssets } from '../src/assets.js';
import { escapeXml, estimateTextWidth, renderBadgeSvg } from '../src/badge-routes.js';
import { call, newSession, startHarness, uniqueRoom, type Answer, type Harness } from './harness.js';

const BADGE_SCRIPT = '(()=>{document.title="badge"})();';

/** The visible texts of a badge image (the second <text> of each pair; the first is its shadow). */
function badgeTexts(svg: string): string[] {
  return [...svg.matchAll(/<text x="[\d.]+" y="14">([^<]*)<\/text>/g)].map((match) => match[1] ?? '');
}

/** Fill colour of the badge's right half. */
function rightColour(svg: string): string | undefined {
  return /<rect x="\d+" width="\d+" height="20" fill="([^"]+)"\/>/.exec(svg)?.[1];
}

function expectEmbeddable(answer: Answer): void {
  expect(answer.headers.get('access-control-allow-origin')).to.equal('*');
  expect(answer.headers.get('cross-origin-resource-policy')).to.equal('cross-origin');
}

describe('badge routes', () => {
  let harness: Harness;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-badge-'));
    writeFileSync(join(dir, 'badge.js'), BADGE_SCRIPT);
    harness = await startHarness({ seams: 'memory', assets: loadAssets(dir) });
  });

  after(async () => {
    await harness?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function roomWith(occupants: number): Promise<string> {
    const room = uniqueRoom();
    for (let index = 0; index < occupants; index++) {
      const session = await newSession(harness, `person ${index}`);
      const entered = await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
      expect(entered.status).to.equal(200);
    }
    return room;
  }

  describe('GET /badge/:room.svg', () => {
    it('draws "room | N online" with a green right half when people are in the room', async () => {
      const room = await roomWith(3);
      const answer = await call(harness, 'GET', `/badge/${room}.svg`);
      expect(answer.status).to.equal(200);
      expect(answer.text).to.match(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="20"/);
      expect(badgeTexts(answer.text)).to.deep.equal([room, '3 online']);
      expect(answer.text).to.include(`<title>${room}: 3 online</title>`);
      expect(rightColour(answer.text)).to.equal('#4c1');
    });

    it('draws 0 online in grey for a room that everyone left', async () => {
      const room = uniqueRoom();
      const session = await newSession(harness);
      await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
      await call(harness, 'POST', `/api/rooms/${room}/leave`, { session });
      const answer = await call(harness, 'GET', `/badge/${room}.svg`);
      expect(badgeTexts(answer.text)).to.deep.equal([room, '0 online']);
      expect(rightColour(answer.text)).to.equal('#9f9f9f');
    });

    it('answers an unknown room with the same image at 0 online (status 200) and creates no room', async () => {
      const room = uniqueRoom();
      const answer = await call(harness, 'GET', `/badge/${room}.svg`);
      expect(answer.status).to.equal(200);
      expect(badgeTexts(answer.text)).to.deep.equal([room, '0 online']);
      expect(await harness.store.roomSummary(room)).to.equal(undefined);
    });

    it('sends the image type, a short public cache, nosniff and cross-origin headers', async () => {
      const answer = await call(harness, 'GET', `/badge/${uniqueRoom()}.svg`);
      expect(answer.headers.get('content-type')).to.equal('image/svg+xml; charset=utf-8');
      expect(answer.headers.get('cache-control')).to.equal('public, max-age=30');
      expect(answer.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(answer.headers.get('etag')).to.match(/^"[\w-]{22}"$/);
      expectEmbeddable(answer);
    });

    it('answers 304 to a matching If-None-Match, and a new image once the count changes', async () => {
      const room = await roomWith(1);
      const first = await call(harness, 'GET', `/badge/${room}.svg`);
      const etag = first.headers.get('etag') ?? '';
      const again = await call(harness, 'GET', `/badge/${room}.svg`, { headers: { 'if-none-match': etag } });
      expect(again.status).to.equal(304);
      expect(again.text).to.equal('');
      expect(again.headers.get('etag')).to.equal(etag);
      expectEmbeddable(again);

      const session = await newSession(harness, 'late');
      await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
      const changed = await call(harness, 'GET', `/badge/${room}.svg`, { headers: { 'if-none-match': etag } });
      expect(changed.status).to.equal(200);
      expect(changed.headers.get('etag')).to.not.equal(etag);
      expect(badgeTexts(changed.text)).to.deep.equal([room, '2 online']);
    });

    it('refuses an invalid room name with 400 invalid_room as JSON', async () => {
      for (const name of ['Lobby', '-lobby', 'a%20b', 'x'.repeat(65), '%3Cscript%3E']) {
        const answer = await call(harness, 'GET', `/badge/${name}.svg`);
        expect(answer.status, name).to.equal(400);
        expect(answer.headers.get('content-type'), name).to.match(/^application\/json/);
        expect(answer.json?.error?.code, name).to.equal('invalid_room');
      }
    });

    it('answers 404 for a badge path without the .svg suffix', async () => {
      const answer = await call(harness, 'GET', '/badge/lobby.png');
      expect(answer.status).to.equal(404);
      expect(answer.json?.error?.code).to.equal('not_found');
    });
  });

  describe('renderBadgeSvg', () => {
    it('escapes every XML-special character of both texts and the colour', () => {
      const svg = renderBadgeSvg({ label: `<script>&"'`, message: '</text><a href="x">', colour: '"/><x y="' });
      expect(svg).to.not.include('<script>');
      expect(svg).to.not.include('<a ');
      expect(svg).to.not.include('<x ');
      expect(svg).to.include('&lt;script&gt;&amp;&quot;&apos;');
      expect(svg).to.include('&lt;/text&gt;&lt;a href=&quot;x&quot;&gt;');
      expect(badgeTexts(svg)).to.deep.equal(['&lt;script&gt;&amp;&quot;&apos;', '&lt;/text&gt;&lt;a href=&quot;x&quot;&gt;']);
    });

    it('makes each half as wide as its text plus padding', () => {
      const short = renderBadgeSvg({ label: 'a', message: '1 online', colour: '#4c1' });
      const long = renderBadgeSvg({ label: 'a-much-longer-room-name', message: '1 online', colour: '#4c1' });
      const width = (svg: string): number => Number(/width="(\d+)"/.exec(svg)?.[1]);
      expect(width(long) - width(short)).to.equal(estimateTextWidth('a-much-longer-room-name') - estimateTextWidth('a'));
      expect(estimateTextWidth('mmmm')).to.be.greaterThan(estimateTextWidth('iiii'));
    });

    it('leaves plain text unchanged when escaping', () => {
      expect(escapeXml('lobby_2-dev')).to.equal('lobby_2-dev');
    });
  });

  describe('GET /badge.js', () => {
    it('serves the built badge script, cacheable for five minutes, to any origin', async () => {
      const answer = await call(harness, 'GET', '/badge.js');
      expect(answer.status).to.equal(200);
      expect(answer.text).to.equal(BADGE_SCRIPT);
      expect(answer.headers.get('content-type')).to.equal('application/javascript; charset=utf-8');
      expect(answer.headers.get('cache-control')).to.equal('public, max-age=300');
      expect(answer.headers.get('etag')).to.match(/^"[\w-]{22}"$/);
      expect(answer.headers.get('x-content-type-options')).to.equal('nosniff');
      expectEmbeddable(answer);
    });

    it('answers 304 to a matching If-None-Match', async () => {
      const first = await call(harness, 'GET', '/badge.js');
      const again = await call(harness, 'GET', '/badge.js', { headers: { 'if-none-match': first.headers.get('etag') ?? '' } });
      expect(again.status).to.equal(304);
      expect(again.text).to.equal('');
    });

    it('answers 404 JSON when the UI was not built', async () => {
      const bare = await startHarness({ seams: 'memory', assets: new Map() });
      try {
        const answer = await call(bare, 'GET', '/badge.js');
        expect(answer.status).to.equal(404);
        expect(answer.json?.error?.code).to.equal('not_found');
      } finally {
        await bare.close();
      }
    });
  });
});
