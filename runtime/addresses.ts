// Which network addresses a source URL may reach. A pipeline spec is written by whoever may create
// pipelines, and the worker fetches it from inside the platform's network: without this, a URL reaches the
// platform's own ports, the cloud metadata service or any internal host. Everything not public is refused,
// unless an operator allowlists the host or network (SOURCE_URL_ALLOW).
import { isIP } from 'node:net';

/** 4 bytes (IPv4) or 16 (IPv6). */
type Ip = Uint8Array;

function parseIPv4(s: string): Ip | null {
  if (isIP(s) !== 4) return null;
  return Uint8Array.from(s.split('.').map(Number));
}

function parseIPv6(s: string): Ip | null {
  let text = s.replace(/%.*$/, '');
  if (isIP(text) !== 6) return null;
  let tail: Ip | null = null;
  if (text.includes('.')) {
    const at = text.lastIndexOf(':');
    tail = parseIPv4(text.slice(at + 1));
    if (!tail) return null;
    text = `${text.slice(0, at + 1)}0:0`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const split = (part: string) => (part ? part.split(':') : []);
  const groups = rest === undefined
    ? split(head)
    : [...split(head), ...Array<string>(8 - split(head).length - split(rest).length).fill('0'), ...split(rest)];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    bytes[2 * i] = v >> 8;
    bytes[2 * i + 1] = v & 0xff;
  });
  if (tail) bytes.set(tail, 12);
  return bytes;
}

/** An IP address (IPv6 with or without brackets) as bytes; null when the text is not one. */
export function parseIp(text: string): Ip | null {
  const s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  return parseIPv4(s) ?? parseIPv6(s);
}

interface Net { bytes: Ip; prefix: number }

function parseCidr(text: string): Net | null {
  const [addr, bits, extra] = text.split('/');
  if (extra !== undefined) return null;
  const bytes = parseIp(addr);
  if (!bytes) return null;
  const max = bytes.length * 8;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return null;
  return { bytes, prefix };
}

function inNet(ip: Ip, net: Net): boolean {
  if (ip.length !== net.bytes.length) return false;
  for (let bit = 0; bit < net.prefix; bit += 8) {
    const take = Math.min(8, net.prefix - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((ip[bit / 8] & mask) !== (net.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

const net = (cidr: string): Net => parseCidr(cidr)!;

const IPV4_RANGES: [Net, string][] = [
  [net('0.0.0.0/8'), 'unspecified ("this network")'],
  [net('10.0.0.0/8'), 'private (RFC 1918)'],
  [net('100.64.0.0/10'), 'carrier-grade NAT (shared address space)'],
  [net('127.0.0.0/8'), 'loopback'],
  [net('169.254.0.0/16'), 'link-local (where cloud metadata services answer)'],
  [net('172.16.0.0/12'), 'private (RFC 1918)'],
  [net('192.0.0.0/24'), 'reserved (IETF protocol assignments)'],
  [net('192.0.2.0/24'), 'reserved (documentation)'],
  [net('192.168.0.0/16'), 'private (RFC 1918)'],
  [net('198.18.0.0/15'), 'reserved (benchmarking)'],
  [net('198.51.100.0/24'), 'reserved (documentation)'],
  [net('203.0.113.0/24'), 'reserved (documentation)'],
  [net('224.0.0.0/4'), 'multicast'],
  [net('240.0.0.0/4'), 'reserved (incl. broadcast)'],
];

/** IPv6 prefixes that carry an IPv4 address: the IPv4 address is what gets reached, so it is what is checked. */
const IPV6_EMBEDDING: [Net, number, string][] = [
  [net('::ffff:0:0/96'), 12, 'IPv4-mapped'],
  [net('64:ff9b::/96'), 12, 'NAT64'],
  [net('2002::/16'), 2, '6to4'],
];

const IPV6_RANGES: [Net, string][] = [
  [net('::/128'), 'unspecified'],
  [net('::1/128'), 'loopback'],
  [net('::/96'), 'reserved (IPv4-compatible)'],
  [net('64:ff9b:1::/48'), 'reserved (local-use NAT64)'],
  [net('100::/64'), 'reserved (discard)'],
  [net('2001::/32'), 'reserved (Teredo)'],
  [net('2001:db8::/32'), 'reserved (documentation)'],
  [net('fc00::/7'), 'private (unique local, fc00::/7)'],
  [net('fe80::/10'), 'link-local'],
  [net('fec0::/10'), 'reserved (site-local)'],
  [net('ff00::/8'), 'multicast'],
];

/**
 * Why an address is not public ("loopback", "private (RFC 1918)", …), or null when it is a public address.
 * IPv4 addresses inside IPv6 (mapped, NAT64, 6to4) are judged by the IPv4 address.
 */
export function nonPublicReason(address: string): string | null {
  const ip = parseIp(address);
  if (!ip) return 'not an IP address';
  if (ip.length === 4) return IPV4_RANGES.find(([n]) => inNet(ip, n))?.[1] ?? null;
  for (const [n, at, name] of IPV6_EMBEDDING) {
    if (inNet(ip, n)) {
      const reason = nonPublicReason(Array.from(ip.subarray(at, at + 4)).join('.'));
      return reason && `${name} ${reason}`;
    }
  }
  return IPV6_RANGES.find(([n]) => inNet(ip, n))?.[1] ?? null;
}

/** One SOURCE_URL_ALLOW entry: a host name or an IP network, optionally only on one port. */
export interface AllowRule {
  host?: string;
  net?: Net;
  port?: number;
  text: string;
}

/**
 * Parses `data.internal`, `data.internal:8080`, `10.1.2.3`, `10.0.0.0/8`, `127.0.0.1:8080`, `fd00::/8`,
 * `[::1]:8080`. Throws with a reason when the entry is none of these.
 */
export function parseAllowRule(entry: string): AllowRule {
  const text = entry.trim();
  let hostPart = text;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    hostPart = bracketed[1];
    port = bracketed[2] === undefined ? undefined : Number(bracketed[2]);
  } else if ((text.match(/:/g) ?? []).length === 1) {
    const [h, p] = text.split(':');
    if (!/^\d+$/.test(p)) throw new Error(`"${entry}": the part after ':' must be a port`);
    hostPart = h;
    port = Number(p);
  }
  if (port !== undefined && !(port >= 1 && port <= 65535)) throw new Error(`"${entry}": port out of range`);
  const looksNumeric = /^[\d./]+$/.test(hostPart) || hostPart.includes(':');
  if (looksNumeric) {
    const n = parseCidr(hostPart);
    if (!n) throw new Error(`"${entry}" is neither an IP address nor a CIDR network`);
    return { net: n, port, text };
  }
  if (!/^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/i.test(hostPart)) {
    throw new Error(`"${entry}" is not a host name, IP address or CIDR network`);
  }
  return { host: normalizeHost(hostPart), port, text };
}

export const normalizeHost = (host: string) => host.toLowerCase().replace(/\.$/, '');

/** Whether a rule lets the worker reach `address` for a URL naming `host` on `port`. */
export function allowedBy(rules: AllowRule[], target: { host: string; port: number; address: string }): AllowRule | undefined {
  const ip = parseIp(target.address);
  return rules.find((r) => {
    if (r.port !== undefined && r.port !== target.port) return false;
    if (r.host !== undefined) return r.host === normalizeHost(target.host);
    return ip !== null && r.net !== undefined && inNetOrMapped(ip, r.net);
  });
}

/** An IPv4 rule also covers the IPv4-mapped IPv6 form of its addresses. */
function inNetOrMapped(ip: Ip, n: Net): boolean {
  if (inNet(ip, n)) return true;
  return ip.length === 16 && n.bytes.length === 4 && inNet(ip, net('::ffff:0:0/96')) && inNet(ip.subarray(12), n);
}
