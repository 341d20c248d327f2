// Route lookup: longest-prefix match over a node's main table (Linux fib_lookup, main table only).

import type { RouteEntry } from '../types.ts';
import { cidrContains, parseCidr, parseIPv4 } from '../util/ipv4.ts';

export function lookupRoute(routes: RouteEntry[], dst: string): RouteEntry | undefined {
  const ip = parseIPv4(dst);
  if (ip === undefined) return undefined;
  let best: RouteEntry | undefined;
  let bestBits = -1;
  for (const r of routes) {
    // A bare address ("10.244.0.65 dev cali…", as ip route prints a /32) is a host route.
    const c = r.dst === 'default' ? { base: 0, bits: 0 } : parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
    if (c && c.bits > bestBits && cidrContains(c, ip)) {
      best = r;
      bestBits = c.bits;
    }
  }
  return best;
}

export function inSubnet(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const n = parseIPv4(ip);
  return c !== undefined && n !== undefined && cidrContains(c, n);
}
