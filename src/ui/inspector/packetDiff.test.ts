import { describe, expect, it } from 'vitest';
import type { Packet } from '../../engine/types.ts';
import { diffPackets } from './packetDiff.ts';

const inner: Packet = {
  length: 74,
  headers: [
    { proto: 'ethernet', src: 'a', dst: 'b', etherType: 'IPv4' },
    { proto: 'ipv4', src: '10.244.1.3', dst: '10.96.0.100', ttl: 64, protocol: 'TCP', totalLength: 60, df: true, id: 0, tos: 0 },
    { proto: 'tcp', srcPort: 40000, dstPort: 80, flags: ['SYN'], seq: 1, ack: 0, window: 64240, options: [] },
  ],
};

describe('diffPackets', () => {
  it('marks a DNAT as a changed destination', () => {
    const after: Packet = { ...inner, headers: inner.headers.map((h) => (h.proto === 'ipv4' ? { ...h, dst: '10.244.2.2' } : h)) };
    const v = diffPackets(inner, after);
    const ip = v.find((h) => h.label === 'IPv4')!;
    expect(ip.fields.find((f) => f.name === 'dst')!.state).toBe('changed');
    expect(ip.fields.find((f) => f.name === 'src')!.state).toBe('same');
  });

  it('marks VXLAN encapsulation headers as added and keeps the inner frame as is', () => {
    const after: Packet = {
      length: 124,
      headers: [
        { proto: 'ethernet', src: 'x', dst: 'y', etherType: 'IPv4' },
        { proto: 'ipv4', src: '192.168.1.12', dst: '192.168.1.13', ttl: 64, protocol: 'UDP', totalLength: 110, df: false, id: 0, tos: 0 },
        { proto: 'udp', srcPort: 51234, dstPort: 8472, length: 90 },
        { proto: 'vxlan', flags: 8, vni: 1 },
        ...inner.headers,
      ],
    };
    const v = diffPackets(inner, after);
    expect(v.map((h) => h.state)).toEqual(['added', 'added', 'added', 'added', 'same', 'same', 'same']);
    expect(v[3]!.fields.find((f) => f.name === 'flags')!.value).toBe('0x08');
  });

  it('shows decapsulated headers as removed', () => {
    const outer: Packet = { length: 124, headers: [{ proto: 'udp', srcPort: 1, dstPort: 8472, length: 90 }, ...inner.headers] };
    const v = diffPackets(outer, inner);
    expect(v[0]!.state).toBe('removed');
    expect(v.slice(1).every((h) => h.state === 'same')).toBe(true);
  });
});
