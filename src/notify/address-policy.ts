import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Which addresses a notify URL may reach. Clients choose their notify URL, so without this check
 * the gateway could be made to POST into its own network: loopback, private ranges, CGNAT (which
 * holds Alibaba Cloud's metadata service at 100.100.100.200), link-local (cloud metadata at
 * 169.254.169.254), unique-local IPv6 (AWS's fd00:ec2::254) and the rest of the special-purpose
 * ranges that never belong to a public web server.
 */
const IPV4_FORBIDDEN: [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

const IPV6_FORBIDDEN: [string, number][] = [
  // Unspecified, loopback and the deprecated IPv4-compatible addresses.
  ['::', 96],
  ['100::', 64],
  // Teredo tunnels (they embed an obfuscated IPv4 address) and documentation.
  ['2001::', 32],
  ['2001:db8::', 32],
  ['64:ff9b:1::', 48],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
];

function hexPair(a: number, b: number): string {
  return ((a << 8) | b).toString(16);
}

function buildBlockList(): BlockList {
  const list = new BlockList();
  for (const [net, prefix] of IPV4_FORBIDDEN) {
    list.addSubnet(net, prefix, 'ipv4');
    // The same ranges reached through NAT64 (64:ff9b::/96) and 6to4 (2002::/16), which embed an
    // IPv4 address in an IPv6 one. IPv4-mapped addresses (::ffff:a.b.c.d) BlockList maps itself.
    const [a = 0, b = 0, c = 0, d = 0] = net.split('.').map(Number);
    list.addSubnet(`64:ff9b::${hexPair(a, b)}:${hexPair(c, d)}`, 96 + prefix, 'ipv6');
    list.addSubnet(`2002:${hexPair(a, b)}:${hexPair(c, d)}::`, 16 + prefix, 'ipv6');
  }
  for (const [net, prefix] of IPV6_FORBIDDEN) list.addSubnet(net, prefix, 'ipv6');
  return list;
}

const FORBIDDEN = buildBlockList();

/** True for any address that is not a public unicast address (see the ranges above). */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** A connection refused because the notify URL's host is, or resolves to, a forbidden address. */
export class BlockedAddressError extends Error {
  readonly code = 'ERR_NOTIFY_ADDRESS_BLOCKED';
  constructor(readonly address: string) {
    super(`notify URL host resolves to a non-public address (${address})`);
    this.name = 'BlockedAddressError';
  }
}

export type NotifyUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

const MAX_URL_LENGTH = 2048;

/**
 * Checks a notify URL when it is configured: https only (http too when private networks are
 * allowed, for local development and tests), no credentials, and a host that is not and does not
 * resolve to a forbidden address. The sender checks the address again on every connection,
 * because DNS may answer differently by then.
 */
export async function checkNotifyUrl(raw: string, allowPrivateNetworks: boolean): Promise<NotifyUrlCheck> {
  if (raw.length > MAX_URL_LENGTH) return { ok: false, reason: `longer than ${MAX_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a valid URL' };
  }
  const protocols = allowPrivateNetworks ? ['https:', 'http:'] : ['https:'];
  if (!protocols.includes(url.protocol)) return { ok: false, reason: `must use ${protocols.join(' or ')}` };
  if (url.username || url.password) return { ok: false, reason: 'must not contain credentials' };
  if (allowPrivateNetworks) return { ok: true, url: url.toString() };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    return isForbiddenAddress(host)
      ? { ok: false, reason: 'host is not a public address' }
      : { ok: true, url: url.toString() };
  }
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true });
  } catch {
    return { ok: false, reason: 'host could not be resolved' };
  }
  if (addresses.length === 0 || addresses.some((a) => isForbiddenAddress(a.address))) {
    return { ok: false, reason: 'host resolves to a non-public address' };
  }
  return { ok: true, url: url.toString() };
}
