import { describe, expect, it } from 'vitest';
import { defaultScenario } from '../../scenarios/default.ts';
import { nodePortScenario } from '../../scenarios/nodePort.ts';
import { loadSnapshot } from '../snapshot.ts';
import { traceFlow } from '../trace/trace.ts';
import type { Packet } from '../types.ts';
import { checksumProblems, decodePacket, encodePacket, internetChecksum } from './bytes.ts';
import { pcapFile, tracePcap } from './pcap.ts';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const unhex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((x) => parseInt(x, 16)));

describe('the Internet checksum', () => {
  it('matches a known IPv4 header (192.168.0.1 → 192.168.0.199, checksum 0xb861)', () => {
    const header = unhex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
    expect(internetChecksum(header).toString(16)).toBe('b861');
  });
});

describe('packets as bytes', () => {
  const mode = (m: string) => `---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ${m}\n`;
  const traces = [defaultScenario, nodePortScenario, defaultScenario + mode('nftables'), nodePortScenario + mode('ipvs')].flatMap((text) => {
    const s = loadSnapshot(text, 1);
    return Array.from({ length: 6 }, (_, seed) => traceFlow(s.topology, s.flows[0]!, seed));
  });
  const packets = traces.flatMap((t) => t.hops.flatMap((h) => [h.before, h.after]));

  it('every packet of every hop round-trips byte-exactly, with the length the trace states and valid checksums', () => {
    expect(packets.length).toBeGreaterThan(500);
    for (const p of packets) {
      const b = encodePacket(p);
      expect(b.length).toBe(p.length);
      expect(decodePacket(b)).toEqual(p);
      expect(encodePacket(decodePacket(b))).toEqual(b);
      expect(checksumProblems(b)).toEqual([]);
    }
  });

  it('a SYN is laid out as Linux sends it: 74 bytes, DF, TTL 64, 20 bytes of options', () => {
    const syn = encodePacket(traces[0]!.hops[0]!.after);
    expect(syn.length).toBe(74);
    const h = hex(syn);
    expect(h.slice(24, 28)).toBe('0800'); // EtherType IPv4
    expect(h.slice(28, 30)).toBe('45'); // version 4, IHL 5
    expect(h.slice(40, 44)).toBe('4000'); // DF
    expect(h.slice(44, 46)).toBe('40'); // TTL 64
    expect(h.slice(46, 48)).toBe('06'); // TCP
    expect(h.slice(92, 94)).toBe('a0'); // data offset 10 words
    expect(h.slice(94, 96)).toBe('02'); // SYN
    expect(h.slice(108, 120)).toBe('020405820402'); // mss 1410, sackOK
  });

  it('VXLAN: outer UDP to 8472 with checksum 0, VNI 1, the inner frame intact', () => {
    const t = traces.find((x) => x.hops.some((h) => h.mechanism.kind === 'vxlan-encap'))!;
    const hop = t.hops.find((h) => h.mechanism.kind === 'vxlan-encap')!;
    const outer = encodePacket(hop.after);
    const inner = encodePacket(hop.before);
    expect(outer.length - inner.length).toBe(50);
    const h = hex(outer);
    expect(h.slice(72, 76)).toBe('2118'); // UDP dport 8472
    expect(h.slice(80, 84)).toBe('0000'); // UDP checksum: none
    expect(h.slice(84, 100)).toBe('0800000000000100'); // VXLAN flags I, VNI 1
    expect(hex(outer.subarray(50))).toBe(hex(encodePacket({ ...hop.before, headers: hop.after.headers.slice(4) })));
  });

  it('ARP, ICMP, IP-in-IP, DNS and HTTP round-trip too', () => {
    const eth = { proto: 'ethernet', src: '02:00:00:00:00:01', dst: 'ff:ff:ff:ff:ff:ff', etherType: 'IPv4' } as const;
    const v4 = (protocol: 'TCP' | 'UDP' | 'ICMP' | 'IPIP', totalLength: number, src = '10.0.0.1', dst = '10.0.0.2') => ({ proto: 'ipv4', src, dst, ttl: 64, protocol, totalLength, df: false, id: 7, tos: 0 }) as const;
    const cases: Packet[] = [
      { headers: [{ ...eth, etherType: 'ARP' }, { proto: 'arp', op: 'request', senderMac: '02:00:00:00:00:01', senderIp: '10.0.0.1', targetMac: '00:00:00:00:00:00', targetIp: '10.0.0.2' }], length: 42 },
      { headers: [eth, v4('ICMP', 28), { proto: 'icmp', type: 8, code: 0, rest: 0x00010001 }], length: 42 },
      { headers: [eth, v4('IPIP', 48, '192.168.1.11', '192.168.1.12'), v4('ICMP', 28), { proto: 'icmp', type: 0, code: 0, rest: 5 }], length: 62 },
      { headers: [eth, v4('UDP', 20 + 8 + 12 + 39 + 49), { proto: 'udp', srcPort: 40000, dstPort: 53, length: 8 + 12 + 39 + 49 }, { proto: 'dns', id: 0x1234, flags: 0x8180, questions: ['my-nginx.k8snet.svc.cluster.local A'], answers: ['my-nginx.k8snet.svc.cluster.local A 30 10.97.159.217'] }], length: 14 + 20 + 8 + 12 + 39 + 49 },
      { headers: [eth, v4('TCP', 20 + 20 + 47), { proto: 'tcp', srcPort: 40000, dstPort: 80, flags: ['PSH', 'ACK'], seq: 1, ack: 1, window: 502, options: [] }, { proto: 'http', firstLine: 'GET / HTTP/1.1', headers: [['Host', 'my-nginx'], ['Accept', '*/*']] }], length: 14 + 20 + 20 + 47 },
    ];
    for (const p of cases) {
      const b = encodePacket(p);
      expect(b.length).toBe(p.length);
      expect(decodePacket(b)).toEqual(p);
      expect(checksumProblems(b)).toEqual([]);
    }
  });

  it('a flipped byte is caught by the checksum check', () => {
    const b = encodePacket(traces[0]!.hops[0]!.after);
    b[40]! ^= 0x01; // inside the TCP header
    expect(checksumProblems(b)).toEqual([expect.stringMatching(/^TCP checksum wrong/)]);
    b[40]! ^= 0x01;
    b[20]! ^= 0x01; // inside the IPv4 header
    expect(checksumProblems(b)[0]).toMatch(/^IPv4 header checksum wrong/);
  });
});

describe('pcap', () => {
  it('writes the libpcap header and one record per distinct frame, deterministically', () => {
    const s = loadSnapshot(defaultScenario, 1);
    const t = traceFlow(s.topology, s.flows[0]!, 1);
    const a = tracePcap(t);
    expect(hex(a.subarray(0, 24))).toBe('d4c3b2a1020004000000000000000000ffff000001000000');
    expect(tracePcap(traceFlow(s.topology, s.flows[0]!, 1))).toEqual(a);
    // Records: walk the file by their lengths; each frame decodes.
    let o = 24;
    let n = 0;
    while (o < a.length) {
      const len = new DataView(a.buffer, a.byteOffset + o).getUint32(8, true);
      decodePacket(a.subarray(o + 16, o + 16 + len));
      o += 16 + len;
      n++;
    }
    expect(o).toBe(a.length);
    expect(n).toBeGreaterThan(10);
    expect(n).toBeLessThan(t.hops.length);
    expect(pcapFile([]).length).toBe(24);
  });
});
