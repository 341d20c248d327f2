// Header representations and the packet operations the trace needs. Each function returns a new
// packet; packets are never mutated (a hop keeps its "before" and "after").

import type { EthernetHeader, Header, IPv4Header, Packet, TcpHeader, UdpHeader, VxlanHeader, GeneveHeader } from '../types.ts';
import { fnv1a32 } from '../util/hash.ts';

export const ETH_LEN = 14;
export const IPV4_LEN = 20;
export const UDP_LEN = 8;
export const VXLAN_LEN = 8;
/** Linux SYN and SYN-ACK carry MSS, SACK-permitted, timestamps and window scale: 20 bytes of options. */
export const TCP_SYN_LEN = 40;

/**
 * A connection's first segments as Linux sends them (net/ipv4/tcp_output.c, tcp_minisocks.c):
 * options "mss, sackOK, TS val/ecr, nop, wscale 7" (20 bytes); the window is the receive space
 * (65536 with the default tcp_rmem) rounded down to a multiple of the MSS (tcp_select_initial_window),
 * the SYN-ACK's MSS less the 12 bytes of timestamps; MSS = MTU − 40. DF is set (path MTU
 * discovery); window scale 7 = ilog2(tcp_rmem[2]) − 15 for the long-standing 6 MiB tcp_rmem max
 * (Linux 6.17+ defaults to 32 MiB, scale 10); the SYN's IP ID is the socket's random start, the SYN-ACK's is 0
 * (ip_build_and_send_pkt). TS val starts at a per-connection random offset. The "random" values
 * come from a hash of the connection, so a trace stays deterministic.
 */
export function tcpSegment(o: {
  srcMac: string;
  dstMac: string;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: string[];
  seq: number;
  ack: number;
  /** The sender's interface MTU (flannel's pods: 1450). */
  mtu?: number;
  /** For a SYN-ACK: the TS val of the SYN it answers. */
  tsEcr?: number;
}): Packet {
  const ipLen = IPV4_LEN + TCP_SYN_LEN;
  const mss = (o.mtu ?? 1500) - 40;
  const synAck = o.flags.includes('ACK');
  const conn = `${o.src}|${o.sport}|${o.dst}|${o.dport}`;
  const window = Math.floor(65536 / (synAck ? mss - 12 : mss)) * (synAck ? mss - 12 : mss);
  const tsVal = fnv1a32(`${conn}|ts`) >>> 0;
  return {
    headers: [
      { proto: 'ethernet', src: o.srcMac, dst: o.dstMac, etherType: 'IPv4' },
      // Linux sets DF on TCP (path MTU discovery) and starts with TTL 64 (net.ipv4.ip_default_ttl).
      { proto: 'ipv4', src: o.src, dst: o.dst, ttl: 64, protocol: 'TCP', totalLength: ipLen, df: true, id: synAck ? 0 : fnv1a32(`${conn}|id`) & 0xffff, tos: 0 },
      { proto: 'tcp', srcPort: o.sport, dstPort: o.dport, flags: o.flags, seq: o.seq, ack: o.ack, window, options: [`mss ${mss}`, 'sackOK', `TS val ${tsVal} ecr ${o.tsEcr ?? 0}`, 'nop', 'wscale 7'] },
    ],
    length: ETH_LEN + ipLen,
  };
}

/** The TS val a segment carries (its "TS val N ecr M" option), for the answer's echo. */
export function tsValOf(p: Packet): number {
  const opt = tcp(p).options.find((x) => x.startsWith('TS val '));
  return opt ? Number(opt.split(' ')[2]) : 0;
}

function replaceFirst<T extends Header>(p: Packet, proto: T['proto'], f: (h: T) => T): Packet {
  let done = false;
  return {
    ...p,
    headers: p.headers.map((h) => {
      if (done || h.proto !== proto) return h;
      done = true;
      return f(h as T);
    }),
  };
}

export const eth = (p: Packet) => p.headers.find((h): h is EthernetHeader => h.proto === 'ethernet')!;
export const ip = (p: Packet) => p.headers.find((h): h is IPv4Header => h.proto === 'ipv4')!;
export const tcp = (p: Packet) => p.headers.find((h): h is TcpHeader => h.proto === 'tcp')!;

export function setEthernet(p: Packet, src: string, dst: string): Packet {
  return replaceFirst<EthernetHeader>(p, 'ethernet', (h) => ({ ...h, src, dst }));
}

export function setAddresses(p: Packet, a: { src?: string; dst?: string; sport?: number; dport?: number }): Packet {
  let q = replaceFirst<IPv4Header>(p, 'ipv4', (h) => ({ ...h, src: a.src ?? h.src, dst: a.dst ?? h.dst }));
  q = replaceFirst<TcpHeader>(q, 'tcp', (h) => ({ ...h, srcPort: a.sport ?? h.srcPort, dstPort: a.dport ?? h.dstPort }));
  return q;
}

/** ip_forward(): a router decrements the TTL of every packet it forwards. */
export function decrementTtl(p: Packet): Packet {
  return replaceFirst<IPv4Header>(p, 'ipv4', (h) => ({ ...h, ttl: h.ttl - 1 }));
}

/**
 * VXLAN encapsulation (RFC 7348; Linux drivers/net/vxlan): the whole inner Ethernet frame becomes
 * the payload of outer Ethernet / IPv4 / UDP / VXLAN headers, 50 bytes in all.
 */
export function vxlanEncap(inner: Packet, o: { srcMac: string; dstMac: string; src: string; dst: string; sport: number; dport: number; vni: number; geneve?: boolean }): Packet {
  const udpLen = UDP_LEN + VXLAN_LEN + inner.length;
  const outer: Header[] = [
    { proto: 'ethernet', src: o.srcMac, dst: o.dstMac, etherType: 'IPv4' },
    // The vxlan driver leaves DF clear unless the device is created with "df set", and copies no
    // TOS (flannel sets none); a packet without DF gets its IP ID from ip_select_ident's hashed
    // per-destination counter — here a hash of the inner frame's addresses.
    { proto: 'ipv4', src: o.src, dst: o.dst, ttl: 64, protocol: 'UDP', totalLength: IPV4_LEN + udpLen, df: false, id: fnv1a32(`${o.src}|${o.dst}|${o.sport}|${ip(inner).id}`) & 0xffff, tos: 0 },
    { proto: 'udp', srcPort: o.sport, dstPort: o.dport, length: udpLen } satisfies UdpHeader,
    // Flags 0x08: the "I" bit, VNI valid (RFC 7348 section 5). Geneve (RFC 8926) has the same
    // 8 bytes without options: version 0, protocol type 0x6558 (Transparent Ethernet Bridging).
    o.geneve ? ({ proto: 'geneve', vni: o.vni, protocolType: 0x6558 } satisfies GeneveHeader) : ({ proto: 'vxlan', flags: 0x08, vni: o.vni } satisfies VxlanHeader),
  ];
  return { headers: [...outer, ...inner.headers], length: ETH_LEN + IPV4_LEN + udpLen };
}

export function vxlanDecap(p: Packet): Packet {
  const i = p.headers.findIndex((h) => h.proto === 'vxlan' || h.proto === 'geneve');
  const headers = p.headers.slice(i + 1);
  return { headers, length: p.length - (ETH_LEN + IPV4_LEN + UDP_LEN + VXLAN_LEN) };
}

/**
 * The outer UDP source port: the vxlan driver hashes the inner flow into the port range
 * (udp_flow_src_port with the local port range 32768–60999 when no "srcport" range is set), so
 * one inner connection keeps one outer port and different connections spread over ECMP paths.
 */
export function vxlanSourcePort(inner: Packet, hash: (s: string) => number): number {
  const i = ip(inner);
  const t = tcp(inner);
  const h = hash(`${i.src}|${i.dst}|${t.srcPort}|${t.dstPort}|tcp`);
  return 32768 + (h % (60999 - 32768 + 1));
}

/**
 * IP-in-IP (RFC 2003; Linux net/ipv4/ipip.c): a new IPv4 header (protocol 4) in front of the inner
 * IPv4 packet, in a new Ethernet frame: 20 bytes more. The fallback device tunl0 has "ttl inherit"
 * and no fixed TOS, so ip_tunnel_xmit copies the inner TTL and DF bit; the IP ID comes from
 * __ip_select_ident's hashed counter (here a hash of the inner header).
 */
export function ipipEncap(inner: Packet, o: { srcMac: string; dstMac: string; src: string; dst: string }): Packet {
  const i = ip(inner);
  const innerHeaders = inner.headers.slice(1); // drop the inner Ethernet header
  const outer: Header[] = [
    { proto: 'ethernet', src: o.srcMac, dst: o.dstMac, etherType: 'IPv4' },
    { proto: 'ipv4', src: o.src, dst: o.dst, ttl: i.ttl, protocol: 'IPIP', totalLength: IPV4_LEN + i.totalLength, df: i.df, id: fnv1a32(`${o.src}|${o.dst}|${i.id}|ipip`) & 0xffff, tos: 0 },
  ];
  return { headers: [...outer, ...innerHeaders], length: inner.length + IPV4_LEN };
}

/** The receiving tunnel strips the outer IPv4 header; the inner packet gets the frame's Ethernet header. */
export function ipipDecap(p: Packet): Packet {
  const e = eth(p);
  return { headers: [e, ...p.headers.slice(2)], length: p.length - IPV4_LEN };
}

/**
 * A TCP segment carrying an HTTP/1.1 message (request or response head, no body) on an
 * established connection: PSH+ACK, Linux's "nop nop TS" options (12 bytes, so the TCP header is 32).
 */
export function httpSegment(o: { srcMac: string; dstMac: string; src: string; dst: string; sport: number; dport: number; seq: number; ack: number; firstLine: string; headers: [string, string][] }): Packet {
  const http = { proto: 'http' as const, firstLine: o.firstLine, headers: o.headers };
  const payload = `${o.firstLine}\r\n${o.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`.length;
  const ipLen = IPV4_LEN + 32 + payload;
  const conn = `${o.src}|${o.sport}|${o.dst}|${o.dport}`;
  return {
    headers: [
      { proto: 'ethernet', src: o.srcMac, dst: o.dstMac, etherType: 'IPv4' },
      { proto: 'ipv4', src: o.src, dst: o.dst, ttl: 64, protocol: 'TCP', totalLength: ipLen, df: true, id: fnv1a32(`${conn}|data`) & 0xffff, tos: 0 },
      { proto: 'tcp', srcPort: o.sport, dstPort: o.dport, flags: ['PSH', 'ACK'], seq: o.seq, ack: o.ack, window: 502, options: ['nop', 'nop', `TS val ${fnv1a32(`${conn}|ts`) >>> 0} ecr 0`] },
      http,
    ],
    length: ETH_LEN + ipLen,
  };
}
