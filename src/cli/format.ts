import type { Header, Packet } from '../engine/index.ts';

/** One line per packet: "eth a→b | ipv4 10.0.0.1→10.0.0.2 ttl 64 | tcp 1234→80 [SYN]". */
export function formatHeader(h: Header): string {
  switch (h.proto) {
    case 'ethernet': return `eth ${h.src}→${h.dst}`;
    case 'ipv4': return `ipv4 ${h.src}→${h.dst} ttl ${h.ttl} len ${h.totalLength}`;
    case 'tcp': return `tcp ${h.srcPort}→${h.dstPort} [${h.flags.join(',')}]`;
    case 'udp': return `udp ${h.srcPort}→${h.dstPort}`;
    case 'vxlan': return `vxlan vni ${h.vni}`;
    case 'geneve': return `geneve vni ${h.vni}`;
    case 'http': return `http ${h.firstLine}`;
    case 'arp': return `arp ${h.op} who-has ${h.targetIp} tell ${h.senderIp}`;
    case 'icmp': return `icmp type ${h.type} code ${h.code}`;
    case 'dns': return `dns ${h.flags & 0x8000 ? 'response' : 'query'} ${[...h.questions, ...h.answers].join('; ')}`;
    case 'raw': return `data ${h.hex.length / 2} B`;
  }
}

export function formatHeaders(p: Packet): string {
  return `${p.headers.map(formatHeader).join(' | ')} (${p.length} B)`;
}
