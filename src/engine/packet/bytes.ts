// Packets as bytes: emit a packet's headers in wire format and parse them back. Layouts and
// checksums from the RFCs: Ethernet II, ARP (RFC 826), IPv4 (RFC 791, header checksum RFC 1071),
// ICMP (RFC 792), UDP (RFC 768), TCP (RFC 9293; options RFC 7323, RFC 2018), VXLAN (RFC 7348),
// IP-in-IP (RFC 2003), DNS (RFC 1035), HTTP/1.1 (RFC 9112). Checksums are computed on emit;
// `checksumProblems` re-checks a frame as a receiver would. Outer UDP of VXLAN carries checksum 0,
// as Linux's vxlan driver sends IPv4 by default (udp_csum off; drivers/net/vxlan).

import type { ArpHeader, DnsPayload, EthernetHeader, GeneveHeader, Header, HttpPayload, IcmpHeader, IPv4Header, Packet, RawPayload, TcpHeader, UdpHeader, VxlanHeader } from '../types.ts';

const ETHERTYPES = { IPv4: 0x0800, ARP: 0x0806 } as const;
const IP_PROTOCOLS = { ICMP: 1, IPIP: 4, TCP: 6, UDP: 17 } as const;
const TCP_FLAGS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];
/** UDP ports decoded as VXLAN: IANA's 4789 and flannel's 8472 (the Linux kernel's old default). */
export const VXLAN_PORTS = new Set([4789, 8472]);
/** Geneve's IANA port (RFC 8926), Cilium's default for tunnel-protocol geneve. */
export const GENEVE_PORT = 6081;

class Writer {
  private buf: number[] = [];
  get length() {
    return this.buf.length;
  }
  u8(v: number) {
    this.buf.push(v & 0xff);
  }
  u16(v: number) {
    this.u8(v >>> 8);
    this.u8(v);
  }
  u32(v: number) {
    this.u16(v >>> 16);
    this.u16(v);
  }
  bytes(b: ArrayLike<number>) {
    for (let i = 0; i < b.length; i++) this.buf.push(b[i]!);
  }
  set16(at: number, v: number) {
    this.buf[at] = (v >>> 8) & 0xff;
    this.buf[at + 1] = v & 0xff;
  }
  slice(from: number, to = this.buf.length) {
    return this.buf.slice(from, to);
  }
  done() {
    return Uint8Array.from(this.buf);
  }
}

const mac = (s: string) => s.split(':').map((x) => parseInt(x, 16));
const ip4 = (s: string) => s.split('.').map(Number);
const macStr = (b: Uint8Array, o: number) => Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
const ipStr = (b: Uint8Array, o: number) => Array.from(b.subarray(o, o + 4)).join('.');
const u16 = (b: Uint8Array, o: number) => ((b[o]! << 8) | b[o + 1]!) >>> 0;
const u32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
const hex = (b: ArrayLike<number>) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s: string) => Array.from({ length: s.length / 2 }, (_, i) => parseInt(s.slice(i * 2, i * 2 + 2), 16));
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** The Internet checksum (RFC 1071): one's complement of the one's-complement sum of 16-bit words. */
export function internetChecksum(data: ArrayLike<number>, initial = 0): number {
  let sum = initial;
  for (let i = 0; i < data.length; i += 2) sum += ((data[i]! << 8) | (data[i + 1] ?? 0)) >>> 0;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The IPv4 pseudo-header's sum for TCP / UDP checksums. */
function pseudoSum(src: string, dst: string, protocol: number, length: number): number {
  const s = ip4(src);
  const d = ip4(dst);
  return ((s[0]! << 8) | s[1]!) + ((s[2]! << 8) | s[3]!) + ((d[0]! << 8) | d[1]!) + ((d[2]! << 8) | d[3]!) + protocol + length;
}

// ---------------------------------------------------------------------------------------------
// Emit

/** A packet in wire format (Ethernet frame without FCS). */
export function encodePacket(p: Packet): Uint8Array {
  const w = new Writer();
  emitFrom(p.headers, 0, w);
  return w.done();
}

function emitFrom(hs: Header[], i: number, w: Writer, pseudo?: { src: string; dst: string }): void {
  const h = hs[i];
  if (!h) return;
  switch (h.proto) {
    case 'ethernet':
      w.bytes(mac(h.dst));
      w.bytes(mac(h.src));
      w.u16(ETHERTYPES[h.etherType]);
      return emitFrom(hs, i + 1, w);
    case 'arp':
      w.u16(1); // hardware: Ethernet
      w.u16(0x0800);
      w.u8(6);
      w.u8(4);
      w.u16(h.op === 'request' ? 1 : 2);
      w.bytes(mac(h.senderMac));
      w.bytes(ip4(h.senderIp));
      w.bytes(mac(h.targetMac));
      w.bytes(ip4(h.targetIp));
      return;
    case 'ipv4': {
      const start = w.length;
      w.u8(0x45);
      w.u8(h.tos);
      w.u16(h.totalLength);
      w.u16(h.id);
      w.u16(h.df ? 0x4000 : 0);
      w.u8(h.ttl);
      w.u8(IP_PROTOCOLS[h.protocol]);
      w.u16(0);
      w.bytes(ip4(h.src));
      w.bytes(ip4(h.dst));
      w.set16(start + 10, internetChecksum(w.slice(start)));
      return emitFrom(hs, i + 1, w, { src: h.src, dst: h.dst });
    }
    case 'icmp': {
      const start = w.length;
      w.u8(h.type);
      w.u8(h.code);
      w.u16(0);
      w.u32(h.rest);
      emitFrom(hs, i + 1, w);
      w.set16(start + 2, internetChecksum(w.slice(start)));
      return;
    }
    case 'udp': {
      const start = w.length;
      w.u16(h.srcPort);
      w.u16(h.dstPort);
      w.u16(h.length);
      w.u16(0);
      emitFrom(hs, i + 1, w);
      // VXLAN's outer UDP: checksum 0 ("none"), as the Linux vxlan driver sends IPv4 by default.
      // Cilium's tunnel key asks for the same (BPF_F_ZERO_CSUM_TX), for Geneve too.
      if (hs[i + 1]?.proto !== 'vxlan' && hs[i + 1]?.proto !== 'geneve' && pseudo) {
        const c = internetChecksum(w.slice(start), pseudoSum(pseudo.src, pseudo.dst, 17, h.length));
        w.set16(start + 6, c === 0 ? 0xffff : c);
      }
      return;
    }
    case 'tcp': {
      const start = w.length;
      const opts = tcpOptions(h.options);
      w.u16(h.srcPort);
      w.u16(h.dstPort);
      w.u32(h.seq);
      w.u32(h.ack);
      w.u8(((20 + opts.length) / 4) << 4);
      w.u8(TCP_FLAGS.reduce((f, name, bit) => (h.flags.includes(name) ? f | (1 << bit) : f), 0));
      w.u16(h.window);
      w.u16(0);
      w.u16(0); // urgent pointer
      w.bytes(opts);
      emitFrom(hs, i + 1, w);
      if (pseudo) w.set16(start + 16, internetChecksum(w.slice(start), pseudoSum(pseudo.src, pseudo.dst, 6, w.length - start)));
      return;
    }
    case 'vxlan':
      w.u8(h.flags);
      w.u8(0);
      w.u16(0);
      w.u16(h.vni >>> 8);
      w.u8(h.vni & 0xff);
      w.u8(0);
      return emitFrom(hs, i + 1, w);
    case 'geneve':
      w.u8(0); // version 0, no options
      w.u8(0); // O and C bits clear
      w.u16(h.protocolType);
      w.u16(h.vni >>> 8);
      w.u8(h.vni & 0xff);
      w.u8(0);
      return emitFrom(hs, i + 1, w);
    case 'http':
      w.bytes(ascii(`${h.firstLine}\r\n${h.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`));
      return;
    case 'dns':
      return emitDns(h, w);
    case 'raw':
      w.bytes(unhex(h.hex));
      return;
  }
}

/** TCP options from tcpdump's notation. Padding NOPs, if any, are part of the list (as on the wire). */
function tcpOptions(options: string[]): number[] {
  const out: number[] = [];
  for (const o of options) {
    const [kind, ...a] = o.split(' ');
    if (kind === 'nop') out.push(1);
    else if (kind === 'mss') out.push(2, 4, (Number(a[0]) >>> 8) & 0xff, Number(a[0]) & 0xff);
    else if (kind === 'wscale') out.push(3, 3, Number(a[0]));
    else if (kind === 'sackOK') out.push(4, 2);
    else if (kind === 'TS') {
      // "TS val V ecr E"
      const v = Number(a[1]);
      const e = Number(a[3]);
      out.push(8, 10, (v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff, (e >>> 24) & 0xff, (e >>> 16) & 0xff, (e >>> 8) & 0xff, e & 0xff);
    } else throw new Error(`unknown TCP option "${o}"`);
  }
  if (out.length % 4) throw new Error(`TCP options take ${out.length} bytes, not a multiple of 4: pad them with nop`);
  return out;
}

const DNS_TYPES: Record<string, number> = { A: 1, CNAME: 5, AAAA: 28 };
const DNS_TYPE_NAMES = Object.fromEntries(Object.entries(DNS_TYPES).map(([k, v]) => [v, k]));

function dnsName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.replace(/\.$/, '').split('.').filter(Boolean)) out.push(label.length, ...ascii(label));
  out.push(0);
  return out;
}

function emitDns(h: DnsPayload, w: Writer) {
  w.u16(h.id);
  w.u16(h.flags);
  w.u16(h.questions.length);
  w.u16(h.answers.length);
  w.u16(0);
  w.u16(0);
  for (const q of h.questions) {
    const [name, type] = q.split(' ');
    w.bytes(dnsName(name!));
    w.u16(DNS_TYPES[type!]!);
    w.u16(1); // class IN
  }
  for (const a of h.answers) {
    const [name, type, ttl, data] = a.split(' ');
    w.bytes(dnsName(name!));
    w.u16(DNS_TYPES[type!]!);
    w.u16(1);
    w.u32(Number(ttl));
    const rdata = type === 'A' ? ip4(data!) : dnsName(data!);
    w.u16(rdata.length);
    w.bytes(rdata);
  }
}

// ---------------------------------------------------------------------------------------------
// Parse

/** Parse a frame back into headers (the inverse of encodePacket for everything it emits). */
export function decodePacket(b: Uint8Array): Packet {
  const headers: Header[] = [];
  parseEthernet(b, 0, headers);
  return { headers, length: b.length };
}

function parseEthernet(b: Uint8Array, o: number, out: Header[]) {
  const type = u16(b, o + 12);
  const etherType = type === ETHERTYPES.ARP ? 'ARP' : 'IPv4';
  if (type !== ETHERTYPES.IPv4 && type !== ETHERTYPES.ARP) throw new Error(`EtherType 0x${type.toString(16)} is not decoded`);
  out.push({ proto: 'ethernet', dst: macStr(b, o), src: macStr(b, o + 6), etherType } satisfies EthernetHeader);
  if (etherType === 'ARP') {
    out.push({ proto: 'arp', op: u16(b, o + 20) === 1 ? 'request' : 'reply', senderMac: macStr(b, o + 22), senderIp: ipStr(b, o + 28), targetMac: macStr(b, o + 32), targetIp: ipStr(b, o + 38) } satisfies ArpHeader);
    return;
  }
  parseIPv4(b, o + 14, out);
}

function parseIPv4(b: Uint8Array, o: number, out: Header[]) {
  const ihl = (b[o]! & 0x0f) * 4;
  const totalLength = u16(b, o + 2);
  const pnum = b[o + 9]!;
  const protocol = (Object.entries(IP_PROTOCOLS).find(([, v]) => v === pnum)?.[0] ?? 'UDP') as IPv4Header['protocol'];
  out.push({ proto: 'ipv4', src: ipStr(b, o + 12), dst: ipStr(b, o + 16), ttl: b[o + 8]!, protocol, totalLength, df: (u16(b, o + 6) & 0x4000) !== 0, id: u16(b, o + 4), tos: b[o + 1]! } satisfies IPv4Header);
  const end = o + totalLength;
  const p = o + ihl;
  if (pnum === IP_PROTOCOLS.IPIP) return parseIPv4(b, p, out);
  if (pnum === IP_PROTOCOLS.ICMP) {
    out.push({ proto: 'icmp', type: b[p]!, code: b[p + 1]!, rest: u32(b, p + 4) } satisfies IcmpHeader);
    return payload(b, p + 8, end, out, undefined);
  }
  if (pnum === IP_PROTOCOLS.UDP) {
    const h: UdpHeader = { proto: 'udp', srcPort: u16(b, p), dstPort: u16(b, p + 2), length: u16(b, p + 4) };
    out.push(h);
    if (VXLAN_PORTS.has(h.dstPort)) {
      out.push({ proto: 'vxlan', flags: b[p + 8]!, vni: (b[p + 12]! << 16) | (b[p + 13]! << 8) | b[p + 14]! } satisfies VxlanHeader);
      return parseEthernet(b, p + 16, out);
    }
    if (h.dstPort === GENEVE_PORT) {
      out.push({ proto: 'geneve', protocolType: u16(b, p + 10), vni: (b[p + 12]! << 16) | (b[p + 13]! << 8) | b[p + 14]! } satisfies GeneveHeader);
      return parseEthernet(b, p + 16 + (b[p + 8]! & 0x3f) * 4, out);
    }
    return payload(b, p + 8, p + h.length, out, h.srcPort === 53 || h.dstPort === 53 ? 'dns' : undefined);
  }
  if (pnum === IP_PROTOCOLS.TCP) {
    const off = (b[p + 12]! >> 4) * 4;
    const f = b[p + 13]!;
    out.push({
      proto: 'tcp',
      srcPort: u16(b, p),
      dstPort: u16(b, p + 2),
      seq: u32(b, p + 4),
      ack: u32(b, p + 8),
      flags: TCP_FLAGS.filter((_, bit) => f & (1 << bit)),
      window: u16(b, p + 14),
      options: parseTcpOptions(b.subarray(p + 20, p + off)),
    } satisfies TcpHeader);
    return payload(b, p + off, end, out, 'http');
  }
}

function parseTcpOptions(b: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < b.length; ) {
    const kind = b[i]!;
    if (kind === 0) break;
    if (kind === 1) {
      out.push('nop');
      i++;
      continue;
    }
    const len = b[i + 1]!;
    if (kind === 2) out.push(`mss ${u16(b, i + 2)}`);
    else if (kind === 3) out.push(`wscale ${b[i + 2]}`);
    else if (kind === 4) out.push('sackOK');
    else if (kind === 8) out.push(`TS val ${u32(b, i + 2)} ecr ${u32(b, i + 6)}`);
    else out.push(`opt${kind}`);
    i += Math.max(2, len);
  }
  return out;
}

function payload(b: Uint8Array, from: number, to: number, out: Header[], hint: 'dns' | 'http' | undefined) {
  if (to <= from) return;
  const data = b.subarray(from, to);
  if (hint === 'http') {
    const text = String.fromCharCode(...data);
    const end = text.indexOf('\r\n\r\n');
    if (/^(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS) \S+ HTTP\/1\.[01]\r\n|^HTTP\/1\.[01] \d{3}/.test(text) && end === text.length - 4) {
      const [firstLine, ...lines] = text.slice(0, end).split('\r\n');
      out.push({ proto: 'http', firstLine: firstLine!, headers: lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)] as [string, string]) } satisfies HttpPayload);
      return;
    }
  }
  if (hint === 'dns') {
    const dns = parseDns(data);
    if (dns) return void out.push(dns);
  }
  out.push({ proto: 'raw', hex: hex(data) } satisfies RawPayload);
}

function readName(b: Uint8Array, o: number): [string, number] {
  const labels: string[] = [];
  let i = o;
  let end = -1;
  for (let guard = 0; guard < 64; guard++) {
    const len = b[i]!;
    if (len === 0) {
      i++;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      // A compression pointer (RFC 1035 section 4.1.4).
      if (end < 0) end = i + 2;
      i = ((len & 0x3f) << 8) | b[i + 1]!;
      continue;
    }
    labels.push(String.fromCharCode(...b.subarray(i + 1, i + 1 + len)));
    i += 1 + len;
  }
  return [labels.join('.'), end < 0 ? i : end];
}

function parseDns(b: Uint8Array): DnsPayload | undefined {
  if (b.length < 12) return undefined;
  const qd = u16(b, 4);
  const an = u16(b, 6);
  let o = 12;
  const questions: string[] = [];
  const answers: string[] = [];
  for (let i = 0; i < qd; i++) {
    const [name, next] = readName(b, o);
    questions.push(`${name} ${DNS_TYPE_NAMES[u16(b, next)] ?? u16(b, next)}`);
    o = next + 4;
  }
  for (let i = 0; i < an; i++) {
    const [name, next] = readName(b, o);
    const type = DNS_TYPE_NAMES[u16(b, next)] ?? String(u16(b, next));
    const ttl = u32(b, next + 4);
    const len = u16(b, next + 8);
    const data = type === 'A' ? ipStr(b, next + 10) : readName(b, next + 10)[0];
    answers.push(`${name} ${type} ${ttl} ${data}`);
    o = next + 10 + len;
  }
  return { proto: 'dns', id: u16(b, 0), flags: u16(b, 2), questions, answers };
}

// ---------------------------------------------------------------------------------------------
// Checks

/** What a receiver would reject in a frame: bad IPv4 header, TCP, UDP or ICMP checksums, lengths. */
export function checksumProblems(b: Uint8Array): string[] {
  const problems: string[] = [];
  const walk = (o: number, isEth: boolean) => {
    if (isEth) {
      if (u16(b, o + 12) !== ETHERTYPES.IPv4) return;
      o += 14;
    }
    const ihl = (b[o]! & 0x0f) * 4;
    const total = u16(b, o + 2);
    if (o + total > b.length) problems.push(`IPv4 total length ${total} runs past the frame`);
    if (internetChecksum(b.subarray(o, o + ihl)) !== 0) problems.push(`IPv4 header checksum wrong at byte ${o}`);
    const p = o + ihl;
    const proto = b[o + 9]!;
    const src = ipStr(b, o + 12);
    const dst = ipStr(b, o + 16);
    if (proto === IP_PROTOCOLS.TCP && internetChecksum(b.subarray(p, o + total), pseudoSum(src, dst, 6, total - ihl)) !== 0) problems.push(`TCP checksum wrong at byte ${p}`);
    if (proto === IP_PROTOCOLS.ICMP && internetChecksum(b.subarray(p, o + total)) !== 0) problems.push(`ICMP checksum wrong at byte ${p}`);
    if (proto === IP_PROTOCOLS.UDP) {
      const len = u16(b, p + 4);
      if (len !== total - ihl) problems.push(`UDP length ${len} ≠ IPv4 payload ${total - ihl}`);
      if (u16(b, p + 6) !== 0 && internetChecksum(b.subarray(p, p + len), pseudoSum(src, dst, 17, len)) !== 0) problems.push(`UDP checksum wrong at byte ${p}`);
      if (VXLAN_PORTS.has(u16(b, p + 2)) || u16(b, p + 2) === GENEVE_PORT) walk(p + 16, true);
    }
    if (proto === IP_PROTOCOLS.IPIP) walk(p, false);
  };
  walk(0, true);
  return problems;
}
