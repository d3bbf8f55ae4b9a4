// URL sources reach public addresses only: every address that is not public is named with its reason,
// IPv4 inside IPv6 is judged as IPv4, and SOURCE_URL_ALLOW rules open hosts, networks and ports.
import { describe, expect, it } from 'vitest';
import { allowedBy, nonPublicReason, parseAllowRule, parseIp } from '../../../runtime/addresses.js';

describe('nonPublicReason', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0.0.0.0', 'unspecified ("this network")'],
    ['::', 'unspecified'],
    ['10.1.2.3', 'private (RFC 1918)'],
    ['172.16.0.1', 'private (RFC 1918)'],
    ['172.31.255.255', 'private (RFC 1918)'],
    ['192.168.1.1', 'private (RFC 1918)'],
    ['fd12:3456::1', 'private (unique local, fc00::/7)'],
    ['fc00::1', 'private (unique local, fc00::/7)'],
    ['169.254.169.254', 'link-local (where cloud metadata services answer)'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT (shared address space)'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'reserved (incl. broadcast)'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback'],
    ['::ffff:169.254.169.254', 'IPv4-mapped link-local (where cloud metadata services answer)'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private (RFC 1918)'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 link-local (where cloud metadata services answer)'],
    ['2002:7f00:1::', '6to4 loopback'],
    ['::127.0.0.1', 'reserved (IPv4-compatible)'],
  ])('%s is %s', (address, reason) => {
    expect(nonPublicReason(address)).toBe(reason);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2a00:1450:4001::200e'])('%s is public', (address) => {
    expect(nonPublicReason(address)).toBeNull();
  });

  it('parses every spelling of IPv6', () => {
    expect(Array.from(parseIp('1:2:3:4:5:6:7:8')!)).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
    expect(Array.from(parseIp('::ffff:1.2.3.4')!.subarray(10))).toEqual([255, 255, 1, 2, 3, 4]);
    expect(parseIp('localhost')).toBeNull();
    expect(parseIp('1.2.3')).toBeNull();
  });
});

describe('SOURCE_URL_ALLOW rules', () => {
  it('open a host name, a network or one port of an address, and nothing else', () => {
    const rules = ['data.internal', '10.2.0.0/16', '127.0.0.1:8080', '[::1]:9000', 'fd00::/8'].map(parseAllowRule);
    const at = (host: string, port: number, address: string) => allowedBy(rules, { host, port, address })?.text;
    expect(at('DATA.internal.', 443, '10.9.9.9')).toBe('data.internal');
    expect(at('other.internal', 443, '10.2.3.4')).toBe('10.2.0.0/16');
    expect(at('other.internal', 443, '10.3.0.1')).toBeUndefined();
    expect(at('127.0.0.1', 8080, '127.0.0.1')).toBe('127.0.0.1:8080');
    expect(at('127.0.0.1', 8081, '127.0.0.1')).toBeUndefined();
    expect(at('localhost', 8080, '::ffff:127.0.0.1')).toBe('127.0.0.1:8080');
    expect(at('::1', 9000, '::1')).toBe('[::1]:9000');
    expect(at('x', 1, 'fd00::5')).toBe('fd00::/8');
  });

  it.each(['10.0.0.0/33', 'not a host!', 'host:port', '1.2.3', 'a.b:70000'])('refuses %s', (entry) => {
    expect(() => parseAllowRule(entry)).toThrow();
  });
});
