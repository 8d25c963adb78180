import { request as httpRequest } from 'node:http';
import { expect } from 'chai';
import { call, newSession, snapshot, startHarness, uniqueRoom, type Harness } from './harness.js';

interface RawAnswer {
  status: number;
  body: string;
}

/** A POST with a chunked body (no Content-Length), written in 1 KiB pieces. */
function chunkedPost(harness: Harness, path: string, session: string, totalBytes: number): Promise<RawAnswer> {
  const url = new URL(path, harness.baseUrl);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${session}` },
        timeout: 5000,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.on('timeout', () => request.destroy(new Error('timed out')));
    const piece = Buffer.alloc(1024, 'x');
    for (let written = 0; written < totalBytes; written += piece.length) request.write(piece);
    request.end();
  });
}

describe('JSON request bodies', () => {
  let harness: Harness;
  let session: string;
  let room: string;

  before(async () => {
    harness = await startHarness({ seams: 'memory' });
    session = await newSession(harness, 'alice');
    room = uniqueRoom();
    await call(harness, 'POST', `/api/rooms/${room}/enter`, { session });
  });

  after(async () => {
    await harness?.close();
  });

  const endpoints = () => [
    { path: '/api/session', valid: { nickname: 'zed' } },
    { path: '/api/nick', valid: { nickname: 'alice' } },
    { path: `/api/rooms/${room}/enter`, valid: {} },
    { path: `/api/rooms/${room}/leave`, valid: {} },
    { path: `/api/rooms/${room}/say`, valid: { text: 'hi' } },
  ];
  const names = ['/api/session', '/api/nick', 'enter', 'leave', 'say'];

  const cases: Array<{ label: string; status: number; code: string; body: (valid: object) => string | Uint8Array; type?: string }> = [
    { label: 'malformed JSON', status: 400, code: 'invalid_json', body: () => '{"text": "hi",' },
    { label: 'a wrong content type', status: 415, code: 'unsupported_media_type', type: 'text/plain', body: (valid) => JSON.stringify(valid) },
    { label: 'a form content type', status: 415, code: 'unsupported_media_type', type: 'application/x-www-form-urlencoded', body: () => 'text=hi' },
    { label: 'a non-UTF-8 charset', status: 415, code: 'unsupported_media_type', type: 'application/json; charset=latin1', body: (valid) => JSON.stringify(valid) },
    { label: 'a 17 KiB body', status: 413, code: 'payload_too_large', body: () => JSON.stringify({ text: 'x'.repeat(17 * 1024) }) },
    { label: 'invalid UTF-8 bytes', status: 400, code: 'invalid_json', body: () => Uint8Array.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]) },
    { label: 'a JSON array', status: 400, code: 'invalid_body', body: () => '[]' },
    { label: 'JSON null', status: 400, code: 'invalid_body', body: () => 'null' },
    { label: 'a JSON string', status: 400, code: 'invalid_body', body: () => '"hi"' },
  ];

  for (const [index, name] of names.entries()) {
    for (const testCase of cases) {
      it(`refuses ${testCase.label} on ${name} with ${testCase.status} ${testCase.code} and changes nothing`, async () => {
        const endpoint = endpoints()[index]!;
        const before = await snapshot(harness, room);
        const answer = await call(harness, 'POST', endpoint.path, {
          session,
          body: testCase.body(endpoint.valid),
          headers: { 'content-type': testCase.type ?? 'application/json' },
        });
        expect(answer.status).to.equal(testCase.status);
        expect(answer.json).to.deep.equal({ error: { code: testCase.code, message: answer.json.error.message } });
        expect(await snapshot(harness, room)).to.deep.equal(before);
      });
    }
  }

  it('refuses a chunked body that grows past 16 KiB with 413 payload_too_large', async () => {
    const before = await snapshot(harness, room);
    const answer = await chunkedPost(harness, `/api/rooms/${room}/say`, session, 64 * 1024);
    expect(answer.status).to.equal(413);
    expect(JSON.parse(answer.body).error.code).to.equal('payload_too_large');
    expect(await snapshot(harness, room)).to.deep.equal(before);
  });

  it('accepts application/json with a UTF-8 charset', async () => {
    const answer = await call(harness, 'POST', `/api/rooms/${room}/say`, {
      session,
      body: JSON.stringify({ text: 'charset ok' }),
      headers: { 'content-type': 'Application/JSON; charset="UTF-8"' },
    });
    expect(answer.status).to.equal(201);
  });

  it('refuses an empty body where one is required with 400 invalid_json', async () => {
    const answer = await call(harness, 'POST', `/api/rooms/${room}/say`, {
      session,
      body: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(answer.status).to.equal(400);
    expect(answer.json.error.code).to.equal('invalid_json');
  });

  it('treats an empty body as {} on enter', async () => {
    const answer = await call(harness, 'POST', `/api/rooms/${uniqueRoom()}/enter`, { session });
    expect(answer.status).to.equal(200);
  });
});
