// Address parsing and printing as Go's net/netip does it, for the CIDR lists istio-iptables reads:
// it parses them with netip.ParsePrefix and prints them with Prefix.String() (tools/istio-iptables/
// pkg/capture/run.go, separateV4V6), so "9.9.0.0/16" stays as written and IPv6 comes out in the
// canonical RFC 5952 form.

export interface NetipPrefix {
  /** 4 bytes (IPv4) or 16 bytes (IPv6). */
  bytes: number[];
  bits: number;
}

const DEC = /^(0|[1-9]\d{0,2})$/;

function parseV4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4 || !parts.every((p) => DEC.test(p))) return undefined;
  const out = parts.map(Number);
  return out.every((n) => n <= 255) ? out : undefined;
}

function parseV6(s: string): number[] | undefined {
  if (s.includes('%')) return undefined; // netip.ParsePrefix rejects zones
  let text = s;
  // A dotted IPv4 tail ("::ffff:1.2.3.4") stands for the last two 16-bit groups.
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.slice(lastColon + 1).includes('.')) {
    const v4 = parseV4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    text = `${text.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const all = [...head, ...rest];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const known = all.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  const words = [...head.map((g) => parseInt(g, 16)), ...Array<number>(8 - known).fill(0), ...rest.map((g) => parseInt(g, 16))];
  return words.flatMap((w) => [w >> 8, w & 255]);
}

/** netip.ParseAddr: dotted IPv4 without leading zeros, or IPv6 (no zone). */
export function parseAddr(s: string): number[] | undefined {
  return s.includes(':') ? parseV6(s) : parseV4(s);
}

/** netip.ParsePrefix: "addr/bits" with a decimal bit count in range; undefined when invalid. */
export function parsePrefix(s: string): NetipPrefix | undefined {
  const slash = s.lastIndexOf('/');
  if (slash < 0) return undefined;
  const bytes = parseAddr(s.slice(0, slash));
  const bitsText = s.slice(slash + 1);
  if (!bytes || !/^(0|[1-9]\d*)$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  return bits <= bytes.length * 8 ? { bytes, bits } : undefined;
}

const isV4Mapped = (b: number[]) => b.length === 16 && b.slice(0, 10).every((x) => x === 0) && b[10] === 255 && b[11] === 255;

/** Addr.Is4 (an IPv4-mapped IPv6 address is not). */
export const is4 = (b: number[]) => b.length === 4;

/** Addr.IsLoopback: 127.0.0.0/8 (also IPv4-mapped) or ::1. */
export function isLoopback(b: number[]): boolean {
  if (b.length === 4) return b[0] === 127;
  if (isV4Mapped(b)) return b[12] === 127;
  return b.slice(0, 15).every((x) => x === 0) && b[15] === 1;
}

/** Addr.String: dotted IPv4; IPv6 in RFC 5952 form ("::ffff:a.b.c.d" for IPv4-mapped). */
export function formatAddr(b: number[]): string {
  if (b.length === 4) return b.join('.');
  if (isV4Mapped(b)) return `::ffff:${b.slice(12).join('.')}`;
  const words = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  // The longest run of two or more zero words (the first one on a tie) becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}

/** Prefix.String: the address as given (not masked) and the bit count. */
export const formatPrefix = (p: NetipPrefix) => `${formatAddr(p.bytes)}/${p.bits}`;
