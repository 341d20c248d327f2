import { describe, expect, it } from 'vitest';
import { encodePacket } from '../../engine/packet/bytes.ts';
import { setAddresses, tcpSegment, vxlanDecap, vxlanEncap } from '../../engine/packet/packet.ts';
import type { ByteState, HexRow } from './hexView.ts';
import { compareFromEnd, countStates, hexRows, markAfter, markBefore } from './hexView.ts';

const syn = tcpSegment({
  srcMac: '1a:23:e6:f3:1f:20',
  dstMac: 'b6:9e:46:09:34:d9',
  src: '10.244.1.3',
  dst: '10.97.159.217',
  sport: 40000,
  dport: 80,
  flags: ['SYN'],
  seq: 1,
  ack: 0,
  mtu: 1450,
});
const encap = vxlanEncap(syn, { srcMac: 'c6:5f:69:5d:43:39', dstMac: '7a:6a:61:96:61:16', src: '192.168.1.12', dst: '192.168.1.13', sport: 48183, dport: 8472, vni: 1 });

const text = (row: HexRow) => row.hex.map((s) => s.text).join('');
const marked = (rows: HexRow[], state: ByteState) =>
  rows.flatMap((r) => r.hex.filter((s) => s.state === state).map((s) => s.text.replace(/ /g, ''))).join('');

describe('compareFromEnd', () => {
  it('marks the 50 bytes VXLAN puts in front as added and the inner frame as the same', () => {
    const before = encodePacket(syn);
    const after = encodePacket(encap);
    expect([before.length, after.length]).toEqual([74, 124]);
    const states = markAfter(before, after);
    expect(states.slice(0, 50).every((s) => s === 'added')).toBe(true);
    expect(states.slice(50).every((s) => s === 'same')).toBe(true);
    expect(countStates(states)).toEqual({ same: 74, changed: 0, added: 50, removed: 0 });
  });

  it('marks the headers decapsulation takes off as removed on the frame before', () => {
    const before = encodePacket(encap);
    const after = encodePacket(vxlanDecap(encap));
    expect(countStates(markBefore(before, after))).toEqual({ same: 74, changed: 0, added: 0, removed: 50 });
    expect(countStates(markAfter(before, after))).toEqual({ same: 74, changed: 0, added: 0, removed: 0 });
  });

  it('marks a DNAT as the destination address, the IP checksum and the TCP checksum', () => {
    const before = encodePacket(syn);
    const after = encodePacket(setAddresses(syn, { dst: '10.244.2.2' }));
    const states = markAfter(before, after);
    const changedAt = states.flatMap((s, i) => (s === 'changed' ? [i] : []));
    // 10.97.159.217 → 10.244.2.2: bytes 31–33 of the IPv4 destination (30–33; the first, 10, stays).
    for (const i of [31, 32, 33]) expect(changedAt).toContain(i);
    // The IPv4 header checksum (14 + 10) and the TCP checksum (34 + 16) follow the address.
    expect(changedAt.some((i) => i === 24 || i === 25)).toBe(true);
    expect(changedAt.some((i) => i === 50 || i === 51)).toBe(true);
    expect(changedAt.every((i) => [24, 25, 31, 32, 33, 50, 51].includes(i))).toBe(true);
  });

  it('compares byte by byte when the lengths are equal', () => {
    expect(compareFromEnd(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 9, 3), 'added')).toEqual(['same', 'changed', 'same']);
  });
});

describe('hexRows', () => {
  it('lays out 124 bytes as 7 full rows and one of 12, xxd -g2 style', () => {
    const after = encodePacket(encap);
    const rows = hexRows(after, markAfter(encodePacket(syn), after));
    expect(rows.map((r) => r.offset)).toEqual(['0000', '0010', '0020', '0030', '0040', '0050', '0060', '0070']);
    expect(rows.map((r) => text(r).replace(/ /g, '').length / 2)).toEqual([16, 16, 16, 16, 16, 16, 16, 12]);
    // The outer Ethernet header: destination MAC, source MAC, EtherType 0x0800; two groups of 8 bytes.
    expect(text(rows[0]!)).toBe('7a6a 6196 6116 c65f  695d 4339 0800 4500');
    // The outer UDP destination port 8472 = 0x2118, at offset 36.
    expect(text(rows[2]!)).toMatch(/^\S{4} \S{4} 2118 /);
    // The short last row is padded, so every row's hex is as wide.
    expect(new Set(rows.map((r) => text(r).length))).toEqual(new Set([40]));
    expect(marked(rows, 'added')).toHaveLength(100);
    expect(marked(rows, 'changed')).toBe('');
  });

  it('joins a run of marked bytes across group gaps but not into the gap after it', () => {
    const states: ByteState[] = ['added', 'added', 'added', 'same', 'changed'];
    const [row] = hexRows(Uint8Array.of(0x45, 0, 0, 0x3c, 0x41), states);
    expect(row!.hex).toEqual([
      { text: '4500 00', state: 'added' },
      // the gap between bytes in different states stays plain
      { text: '3c ', state: 'same' },
      { text: '41', state: 'changed' },
      { text: ' '.repeat(40 - 12), state: 'same' },
    ]);
    expect(row!.ascii).toEqual([
      { text: 'E..', state: 'added' },
      { text: '<', state: 'same' },
      { text: 'A', state: 'changed' },
    ]);
  });

  it('shows non-printable bytes as dots and an empty frame as no rows', () => {
    expect(hexRows(Uint8Array.of(0x00, 0x7f, 0x20, 0x7e))[0]!.ascii).toEqual([{ text: '.. ~', state: 'same' }]);
    expect(hexRows(new Uint8Array(0))).toEqual([]);
  });
});
