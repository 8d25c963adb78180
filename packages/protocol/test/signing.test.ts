import { expect } from 'chai';
import { ChatError } from '../src/errors.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signRequest, verifySignedRequest } from '../src/signing.js';

const secret = 's'.repeat(40);
const request = { method: 'POST', path: '/internal/notify', body: '{"events":[]}' };

function verifyError(
  headers: { timestamp: string | undefined; signature: string | undefined },
  options: { now?: number; secret?: string; request?: typeof request } = {},
): string {
  try {
    verifySignedRequest(options.secret ?? secret, options.request ?? request, headers, options.now === undefined ? {} : { now: options.now });
  } catch (error) {
    expect(error).to.be.instanceOf(ChatError);
    return `${(error as ChatError).status} ${(error as ChatError).code}`;
  }
  return 'accepted';
}

describe('request signing', () => {
  const now = 1_763_740_000_000;
  const signed = signRequest(secret, request, now);
  const headers = { timestamp: signed[TIMESTAMP_HEADER], signature: signed[SIGNATURE_HEADER] };

  it('accepts its own signature within the window', () => {
    expect(verifyError(headers, { now: now + 29_000 })).to.equal('accepted');
  });

  it('refuses a request without signature headers with 401', () => {
    expect(verifyError({ timestamp: undefined, signature: undefined }, { now })).to.equal('401 signature_required');
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

  it('refuses a replayed signature under a new timestamp', () => {
    expect(verifyError({ ...headers, timestamp: String(now + 1) }, { now })).to.equal('403 bad_signature');
  });

  it('refuses malformed signature headers with 403', () => {
    expect(verifyError({ timestamp: 'yesterday', signature: headers.signature }, { now })).to.equal('403 bad_signature');
    expect(verifyError({ timestamp: headers.timestamp, signature: 'abc' }, { now })).to.equal('403 bad_signature');
  });
});
