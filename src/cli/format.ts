import type { Header, Packet } from '../engine/index.ts';

/** One line per packet: "eth a→b | ipv4 10.0.0.1→10.0.0.2 ttl 64 | tcp 1234→80 [SYN]". */
export function formatHeader(h: Header): string {
  switch (h.proto) {
    case 'ethernet': return `eth ${h.src}→${h.dst}`;
    case 'ipv4': return `ipv4 ${h.src}→${h.dst} ttl ${h.ttl} len ${h.totalLength}`;
    case 'tcp': return `tcp ${h.srcPort}→${h.dstPort} [${h.flags.join(',')}]`;
    case 'udp': return `udp ${h.srcPort}→${h.dstPort}`;
    case 'vxlan': return `vxlan vni ${h.vni}`;
    case 'http': return `http ${h.firstLine}`;
  }
}

export function formatHeaders(p: Packet): string {
  return `${p.headers.map(formatHeader).join(' | ')} (${p.length} B)`;
}
