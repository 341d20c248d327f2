// Which header fields a hop changed: pairs headers from the innermost outwards (encapsulation adds
// headers in front, decapsulation removes them) and compares field by field. Pure.
import type { Header, Packet } from '../../engine/types.ts';

export type FieldState = 'same' | 'changed' | 'added';

export interface FieldView {
  name: string;
  value: string;
  state: FieldState;
}

export interface HeaderView {
  label: string;
  state: 'same' | 'added' | 'removed';
  fields: FieldView[];
}

const LABELS: Record<Header['proto'], string> = {
  ethernet: 'Ethernet',
  ipv4: 'IPv4',
  tcp: 'TCP',
  udp: 'UDP',
  vxlan: 'VXLAN',
  geneve: 'Geneve',
  http: 'HTTP',
  arp: 'ARP',
  icmp: 'ICMP',
  dns: 'DNS',
  raw: 'Data',
};

function fieldValue(v: unknown): string {
  if (Array.isArray(v)) {
    return v.map((x) => (Array.isArray(x) ? x.join(': ') : String(x))).join(v.every(Array.isArray) ? '\n' : ', ');
  }
  return String(v);
}

function fieldsOf(h: Header): [string, string][] {
  return Object.entries(h)
    .filter(([k]) => k !== 'proto')
    .map(([k, v]) => [k, k === 'flags' && typeof v === 'number' ? `0x${v.toString(16).padStart(2, '0')}` : fieldValue(v)]);
}

/** The `after` packet's headers, each field marked against `before`; removed headers appended. */
export function diffPackets(before: Packet, after: Packet): HeaderView[] {
  const offset = after.headers.length - before.headers.length;
  const views: HeaderView[] = [];
  after.headers.forEach((h, i) => {
    const old = before.headers[i - offset];
    if (!old || old.proto !== h.proto) {
      views.push({ label: LABELS[h.proto], state: 'added', fields: fieldsOf(h).map(([name, value]) => ({ name, value, state: 'added' })) });
      return;
    }
    const oldFields = new Map(fieldsOf(old));
    views.push({
      label: LABELS[h.proto],
      state: 'same',
      fields: fieldsOf(h).map(([name, value]) => ({ name, value, state: oldFields.get(name) === value ? 'same' : 'changed' })),
    });
  });
  if (offset < 0) {
    before.headers.slice(0, -offset).forEach((h) => {
      views.unshift({ label: LABELS[h.proto], state: 'removed', fields: fieldsOf(h).map(([name, value]) => ({ name, value, state: 'same' })) });
    });
  }
  return views;
}

/** The `before` packet, plain. */
export function viewPacket(p: Packet): HeaderView[] {
  return p.headers.map((h) => ({ label: LABELS[h.proto], state: 'same', fields: fieldsOf(h).map(([name, value]) => ({ name, value, state: 'same' })) }));
}
