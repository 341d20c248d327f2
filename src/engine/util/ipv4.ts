// IPv4 address arithmetic on 32-bit unsigned integers.

export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  base: number;
  bits: number;
}

export function parseCidr(s: string): Cidr | undefined {
  const [ip, len] = s.split('/');
  const base = ip === undefined ? undefined : parseIPv4(ip);
  const bits = len === undefined ? 32 : Number(len);
  if (base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  return { base: (base & mask(bits)) >>> 0, bits };
}

export function mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ((ip & mask(c.bits)) >>> 0) === c.base;
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.bits}`;
}

/** The k-th subnet of size `bits` inside `c` (e.g. the /24s of 10.244.0.0/16). */
export function subnet(c: Cidr, bits: number, k: number): Cidr {
  return { base: (c.base + k * 2 ** (32 - bits)) >>> 0, bits };
}

export function hostIn(c: Cidr, k: number): string {
  return formatIPv4((c.base + k) >>> 0);
}
