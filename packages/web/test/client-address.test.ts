import { expect } from 'chai';
import { normalizeAddress, parseProxyEntry, trustedProxies } from '../src/client-address.js';

describe('client address', () => {
  it('trusts exactly the listed addresses and ranges', () => {
    const trusted = trustedProxies(['127.0.0.1', '::1', '172.16.0.0/12']);
    expect(trusted.has('127.0.0.1')).to.equal(true);
    expect(trusted.has('::1')).to.equal(true);
    expect(trusted.has('172.20.3.4')).to.equal(true);
    expect(trusted.has('172.32.0.1')).to.equal(false);
    expect(trusted.has('127.0.0.2')).to.equal(false);
    expect(trusted.has('10.0.0.1')).to.equal(false);
    expect(trusted.has('')).to.equal(false);
  });

  it('trusts no one with an empty list', () => {
    expect(trustedProxies([]).has('127.0.0.1')).to.equal(false);
  });

  it('spells an IPv4-mapped IPv6 address as IPv4', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).to.equal('127.0.0.1');
    expect(normalizeAddress('::1')).to.equal('::1');
  });

  it('refuses entries that are not an address or a CIDR range', () => {
    for (const entry of ['nginx', '10.0.0.0/33', '10.0.0.0/8/1', '::/129', '10.0.0.0/x']) {
      expect(() => parseProxyEntry(entry), entry).to.throw(/not an IP address or CIDR range/);
    }
    expect(parseProxyEntry('fd00::/8')).to.deep.equal({ address: 'fd00::', prefix: 8 });
  });
});
