// Family-neutral address checks (IPv4 and IPv6), for rules and sets that may hold either.

import { cidrContains, parseCidr, parseIPv4 } from './ipv4.ts';

/** An IPv6 address as a 128-bit integer (with "::" compression and an IPv4 tail), or undefined. */
export function parseIPv6(s: string): bigint | undefined {
  if (!s.includes(':')) return undefined;
  let text = s;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = parseIPv4(v4[1]!);
    if (n === undefined) return undefined;
    text = text.slice(0, -v4[1]!.length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let out = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    out = (out << 16n) | BigInt(parseInt(g, 16));
  }
  return out;
}

export const isIPv6 = (s: string) => parseIPv6(s) !== undefined;

/** Whether `ip` is inside `cidr` (or equal to a bare address); false across families. */
export function ipInCidr(ip: string, cidr: string): boolean {
  const [addr, len] = cidr.split('/');
  if (addr!.includes(':')) {
    const a = parseIPv6(ip);
    const b = parseIPv6(addr!);
    const bits = len === undefined ? 128 : Number(len);
    if (a === undefined || b === undefined || !(bits >= 0 && bits <= 128)) return false;
    const shift = BigInt(128 - bits);
    return a >> shift === b >> shift;
  }
  const c = parseCidr(cidr);
  const n = parseIPv4(ip);
  return c !== undefined && n !== undefined && cidrContains(c, n);
}
