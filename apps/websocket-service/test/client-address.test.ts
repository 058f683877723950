import { describe, expect, it } from 'vitest';
import {
  addressGroup,
  clientAddress,
  normalizeAddress,
  parseAddressRange,
  trustedProxies,
} from '../src/limits/client-address.js';

describe('clientAddress', () => {
  const proxies = trustedProxies(['10.0.0.100']);

  it('is the peer address, whatever X-Forwarded-For claims, unless the peer is a trusted proxy', () => {
    expect(clientAddress('203.0.113.7', '198.51.100.1', proxies)).toBe('203.0.113.7');
    expect(clientAddress('::ffff:203.0.113.7', undefined, proxies)).toBe('203.0.113.7');
  });

  it('takes the last untrusted hop from a trusted proxy', () => {
    expect(clientAddress('10.0.0.100', 'spoofed, 198.51.100.1', proxies)).toBe('198.51.100.1');
    expect(clientAddress('10.0.0.100', ['198.51.100.1', '10.0.0.100'], proxies)).toBe(
      '198.51.100.1',
    );
    expect(clientAddress('10.0.0.100', undefined, proxies)).toBe('10.0.0.100');
  });

  it('uses the peer address when a hop on the way to the client is not an IP address', () => {
    expect(clientAddress('10.0.0.100', '198.51.100.1, <script>', proxies)).toBe('10.0.0.100');
    expect(clientAddress('10.0.0.100', 'unknown', proxies)).toBe('10.0.0.100');
    expect(clientAddress('10.0.0.100', '2001:db8::1', proxies)).toBe('2001:db8::1');
  });

  it('trusts whole CIDR ranges, IPv4 and IPv6', () => {
    const ranges = trustedProxies(['10.0.0.0/8', 'fd00::/8', '192.0.2.1']);
    expect(clientAddress('10.1.2.3', '10.200.0.1, 203.0.113.9, 10.9.9.9', ranges)).toBe(
      '203.0.113.9',
    );
    expect(clientAddress('fd12::1', '2001:db8::7', ranges)).toBe('2001:db8::7');
    expect(clientAddress('::ffff:192.0.2.1', '198.51.100.4', ranges)).toBe('198.51.100.4');
    expect(clientAddress('11.0.0.1', '198.51.100.4', ranges)).toBe('11.0.0.1');
  });

  it('normalizes IPv4-mapped IPv6 addresses only', () => {
    expect(normalizeAddress('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeAddress('::1')).toBe('::1');
  });
});

describe('parseAddressRange', () => {
  it('reads addresses and CIDR ranges, and says what is wrong with anything else', () => {
    expect(parseAddressRange('10.0.0.0/8')).toEqual({
      network: '10.0.0.0',
      prefix: 8,
      family: 'ipv4',
    });
    expect(parseAddressRange('2001:db8::/32')).toEqual({
      network: '2001:db8::',
      prefix: 32,
      family: 'ipv6',
    });
    expect(parseAddressRange('192.0.2.1')).toMatchObject({ prefix: 32 });
    expect(parseAddressRange('lb.internal')).toBe('not an IP address');
    expect(parseAddressRange('10.0.0.0/33')).toMatch(/from 0 to 32/);
    expect(parseAddressRange('fd00::/129')).toMatch(/from 0 to 128/);
    expect(parseAddressRange('10.0.0.0/x')).toMatch(/whole number/);
  });
});

describe('addressGroup', () => {
  it('groups IPv6 addresses by their prefix and leaves IPv4 addresses alone', () => {
    expect(addressGroup('2001:db8:0:1::1', 64)).toBe('2001:db8:0:1:0:0:0:0/64');
    expect(addressGroup('2001:db8:0:1:ffff:ffff:ffff:ffff', 64)).toBe('2001:db8:0:1:0:0:0:0/64');
    expect(addressGroup('2001:db8:0:2::1', 64)).not.toBe(addressGroup('2001:db8:0:1::1', 64));
    expect(addressGroup('2001:db8:abcd:12ff::1', 56)).toBe('2001:db8:abcd:1200:0:0:0:0/56');
    expect(addressGroup('2001:db8::1', 128)).toBe('2001:db8::1');
    expect(addressGroup('::1', 64)).toBe('0:0:0:0:0:0:0:0/64');
    expect(addressGroup('203.0.113.7', 64)).toBe('203.0.113.7');
  });
});
