import { describe, expect, it } from 'vitest';
import { checkNotifyUrl, isForbiddenAddress } from '../../../src/notify/address-policy.js';

describe('isForbiddenAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'CGNAT'],
    ['100.100.100.200', 'Alibaba Cloud metadata (CGNAT)'],
    ['169.254.169.254', 'cloud metadata (link-local)'],
    ['0.0.0.0', 'this network'],
    ['192.0.0.192', 'IETF protocol assignments'],
    ['198.18.0.1', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd00:ec2::254', 'AWS metadata (unique-local)'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata'],
    ['64:ff9b::a00:1', 'NAT64 of 10.0.0.1'],
    ['2002:c0a8:101::1', '6to4 of 192.168.1.1'],
    ['2001:db8::1', 'documentation'],
    ['not-an-ip', 'not an address'],
  ])('refuses %s (%s)', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '47.96.79.204',
    '100.63.255.255',
    '100.128.0.1',
    '172.32.0.1',
    '2400:3200::1',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('allows the public address %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(false);
  });
});

describe('checkNotifyUrl', () => {
  it.each([
    ['http://8.8.8.8/hook', 'must use https:'],
    ['ftp://8.8.8.8/hook', 'must use https:'],
    ['https://user:pw@8.8.8.8/hook', 'must not contain credentials'],
    ['https://127.0.0.1/hook', 'host is not a public address'],
    ['https://127.1/hook', 'host is not a public address'],
    ['https://[::1]:8443/hook', 'host is not a public address'],
    ['https://[fd00:ec2::254]/latest', 'host is not a public address'],
    ['https://100.100.100.200/latest/meta-data', 'host is not a public address'],
    ['https://localhost/hook', 'host resolves to a non-public address'],
    ['https://no-such-host.invalid/hook', 'host could not be resolved'],
    ['not a url', 'not a valid URL'],
    [`https://8.8.8.8/${'x'.repeat(2050)}`, 'longer than 2048 characters'],
  ])('refuses %s: %s', async (url, reason) => {
    expect(await checkNotifyUrl(url, false)).toEqual({ ok: false, reason });
  });

  it('accepts an https URL on a public address', async () => {
    expect(await checkNotifyUrl('https://8.8.8.8/hooks/etc?tenant=1', false)).toEqual({
      ok: true,
      url: 'https://8.8.8.8/hooks/etc?tenant=1',
    });
  });

  it('allows http and loopback when private networks are allowed, but still not other schemes', async () => {
    expect(await checkNotifyUrl('http://127.0.0.1:9000/hook', true)).toEqual({
      ok: true,
      url: 'http://127.0.0.1:9000/hook',
    });
    expect(await checkNotifyUrl('ftp://127.0.0.1/hook', true)).toEqual({
      ok: false,
      reason: 'must use https: or http:',
    });
  });
});
