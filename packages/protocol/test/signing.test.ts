import { expect } from 'chai';
import { ChatError } from '../src/errors.js';
import {
  NONCE_HEADER,
  ReplayGuard,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  signRequest,
  signatureHeaders,
  verifySignedRequest,
  type SignatureHeaders,
} from '../src/node/signing.js';

const secret = 's'.repeat(40);
const request = { method: 'POST', path: '/internal/notify', body: '{"events":[]}' };

function verifyError(
  headers: SignatureHeaders,
  options: { now?: number; secret?: string; request?: typeof request; replayGuard?: ReplayGuard } = {},
): string {
  try {
    verifySignedRequest(options.secret ?? secret, options.request ?? request, headers, {
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.replayGuard === undefined ? {} : { replayGuard: options.replayGuard }),
    });
  } catch (error) {
    expect(error).to.be.instanceOf(ChatError);
    return `${(error as ChatError).status} ${(error as ChatError).code}`;
  }
  return 'accepted';
}

describe('request signing', () => {
  const now = 1_763_740_000_000;
  const signed = signRequest(secret, request, now);
  const headers = signatureHeaders(signed);

  it('sends a timestamp, a 32-hex-digit nonce and a signature', () => {
    expect(Object.keys(signed).sort()).to.deep.equal([NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER].sort());
    expect(signed[NONCE_HEADER]).to.match(/^[0-9a-f]{32}$/);
    expect(signRequest(secret, request, now)[NONCE_HEADER]).to.not.equal(signed[NONCE_HEADER]);
  });

  it('accepts its own signature within the window', () => {
    expect(verifyError(headers, { now: now + 29_000 })).to.equal('accepted');
  });

  it('refuses a request without signature headers with 401', () => {
    expect(verifyError({ timestamp: undefined, nonce: undefined, signature: undefined }, { now })).to.equal('401 signature_required');
    expect(verifyError({ ...headers, nonce: undefined }, { now })).to.equal('401 signature_required');
  });

  it('refuses a wrong secret, body, path or method with 403', () => {
    expect(verifyError(headers, { now, secret: 't'.repeat(40) })).to.equal('403 bad_signature');
    expect(verifyError(headers, { now, request: { ...request, body: '{"events":[1]}' } })).to.equal('403 bad_signature');
    expect(verifyError(headers, { now, request: { ...request, path: '/internal/other' } })).to.equal('403 bad_signature');
    expect(verifyError(headers, { now, request: { ...request, method: 'PUT' } })).to.equal('403 bad_signature');
  });

  it('refuses a stale or future timestamp with 403', () => {
    expect(verifyError(headers, { now: now + 31_000 })).to.equal('403 bad_signature');
    expect(verifyError(headers, { now: now - 31_000 })).to.equal('403 bad_signature');
  });

  it('refuses a replayed signature under a new timestamp or nonce', () => {
    expect(verifyError({ ...headers, timestamp: String(now + 1) }, { now })).to.equal('403 bad_signature');
    expect(verifyError({ ...headers, nonce: 'f'.repeat(32) }, { now })).to.equal('403 bad_signature');
  });

  it('refuses malformed signature headers with 403', () => {
    expect(verifyError({ ...headers, timestamp: 'yesterday' }, { now })).to.equal('403 bad_signature');
    expect(verifyError({ ...headers, signature: 'abc' }, { now })).to.equal('403 bad_signature');
    expect(verifyError({ ...headers, nonce: 'not-hex' }, { now })).to.equal('403 bad_signature');
  });
});

describe('replay guard', () => {
  const now = 1_763_740_000_000;

  it('accepts a signed request once and refuses it again with 403 replayed_request', () => {
    const replayGuard = new ReplayGuard();
    const headers = signatureHeaders(signRequest(secret, request, now));
    expect(verifyError(headers, { now, replayGuard })).to.equal('accepted');
    expect(verifyError(headers, { now: now + 1000, replayGuard })).to.equal('403 replayed_request');
    expect(verifyError(headers, { now: now + 30_000, replayGuard })).to.equal('403 replayed_request');
  });

  it('accepts the same request signed again (a retry gets a new nonce)', () => {
    const replayGuard = new ReplayGuard();
    expect(verifyError(signatureHeaders(signRequest(secret, request, now)), { now, replayGuard })).to.equal('accepted');
    expect(verifyError(signatureHeaders(signRequest(secret, request, now)), { now, replayGuard })).to.equal('accepted');
  });

  it('does not record the nonce of a request whose signature is wrong', () => {
    const replayGuard = new ReplayGuard();
    const headers = signatureHeaders(signRequest(secret, request, now));
    expect(verifyError(headers, { now, replayGuard, secret: 'x'.repeat(40) })).to.equal('403 bad_signature');
    expect(replayGuard.size).to.equal(0);
    expect(verifyError(headers, { now, replayGuard })).to.equal('accepted');
  });

  it('forgets nonces once their timestamp has left the window, and the window still refuses them', () => {
    const replayGuard = new ReplayGuard({ windowMs: 30_000 });
    const old = signatureHeaders(signRequest(secret, request, now));
    expect(verifyError(old, { now, replayGuard })).to.equal('accepted');
    expect(verifyError(signatureHeaders(signRequest(secret, request, now + 40_000)), { now: now + 40_000, replayGuard })).to.equal('accepted');
    expect(replayGuard.size).to.equal(1);
    expect(verifyError(old, { now: now + 40_000, replayGuard })).to.equal('403 bad_signature');
  });

  it('refuses new requests with 503 while its memory is full', () => {
    const replayGuard = new ReplayGuard({ maxEntries: 2 });
    for (let i = 0; i < 2; i++) {
      expect(verifyError(signatureHeaders(signRequest(secret, request, now)), { now, replayGuard })).to.equal('accepted');
    }
    expect(verifyError(signatureHeaders(signRequest(secret, request, now)), { now, replayGuard })).to.equal('503 unavailable');
    expect(verifyError(signatureHeaders(signRequest(secret, request, now + 31_000)), { now: now + 31_000, replayGuard })).to.equal('accepted');
  });
});
