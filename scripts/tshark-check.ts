// tshark as the judge of podpath's packets (`npm run test:tshark`, part of `npm test`). For the
// built-in scenarios (each kube-proxy mode, several seeds: same-node and cross-node backends) and
// each pod network (flannel VXLAN and host-gw, Calico IP-in-IP, VXLAN and BGP, Cilium VXLAN, Geneve
// and native routing), the trace is exported as a pcap exactly as the CLI and the UI export it, and tshark
// (Wireshark's dissectors, with IPv4 / TCP / UDP checksum validation on, UDP 8472 decoded as VXLAN, UDP 6081 as Geneve)
// must find no malformed frame and no error, and its fields — outer and inner addresses, TTL, IP
// ID, DF, lengths, UDP ports, VNI, TCP ports, flags, raw sequence numbers, window, options —
// must equal the engine's headers, frame by frame.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSnapshot, traceFlow, tracePcap, tracePcapFrames, type IPv4Header, type Packet, type TcpHeader } from '../src/engine/index.ts';
import { decodePacket } from '../src/engine/packet/bytes.ts';
import { defaultScenario } from '../src/scenarios/default.ts';
import { nodePortScenario } from '../src/scenarios/nodePort.ts';
import { withCni } from '../src/scenarios/cniDocs.ts';

const dir = mkdtempSync(join(tmpdir(), 'pp-tshark-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const prefs = ['-d', 'udp.port==8472,vxlan', '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];
const tshark = (args: string[]) => execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const FIELDS = ['frame.len', 'eth.src', 'eth.dst', 'ip.src', 'ip.dst', 'ip.proto', 'ip.ttl', 'ip.id', 'ip.flags.df', 'ip.len', 'ip.checksum.status', 'udp.srcport', 'udp.dstport', 'vxlan.vni', 'geneve.vni', 'geneve.proto_type', 'tcp.srcport', 'tcp.dstport', 'tcp.flags', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.window_size_value', 'tcp.options.mss_val', 'tcp.options.timestamp.tsval', 'tcp.options.timestamp.tsecr', 'tcp.options.wscale.shift', 'tcp.checksum.status'];
const TCP_BITS = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];

/** What tshark should print for a packet, field by field ("," joins the occurrences). */
function expected(p: Packet): string[] {
  const all = <T>(proto: string) => p.headers.filter((h) => h.proto === proto) as T[];
  const ips = all<IPv4Header>('ipv4');
  const t = all<TcpHeader>('tcp')[0];
  const opt = (name: string) => t?.options.find((o) => o.startsWith(name));
  const ts = opt('TS val ')?.split(' ');
  const udp = all<{ srcPort: number; dstPort: number }>('udp');
  return [
    String(p.length),
    all<{ src: string }>('ethernet').map((e) => e.src).join(','),
    all<{ dst: string }>('ethernet').map((e) => e.dst).join(','),
    ips.map((i) => i.src).join(','),
    ips.map((i) => i.dst).join(','),
    ips.map((i) => ({ ICMP: 1, IPIP: 4, TCP: 6, UDP: 17 })[i.protocol]).join(','),
    ips.map((i) => i.ttl).join(','),
    ips.map((i) => `0x${i.id.toString(16).padStart(4, '0')}`).join(','),
    ips.map((i) => (i.df ? 1 : 0)).join(','),
    ips.map((i) => i.totalLength).join(','),
    ips.map(() => 1).join(','), // checksum status: good
    udp.map((u) => u.srcPort).join(','),
    udp.map((u) => u.dstPort).join(','),
    all<{ vni: number }>('vxlan').map((v) => v.vni).join(','),
    all<{ vni: number }>('geneve').map((v) => `0x${v.vni.toString(16).padStart(6, '0')}`).join(','),
    all<{ protocolType: number }>('geneve').map((v) => `0x${v.protocolType.toString(16)}`).join(','),
    t ? String(t.srcPort) : '',
    t ? String(t.dstPort) : '',
    t ? `0x${TCP_BITS.reduce((f, n, b) => (t.flags.includes(n) ? f | (1 << b) : f), 0).toString(16).padStart(4, '0')}` : '',
    t ? String(t.seq) : '',
    t ? String(t.ack) : '',
    t ? String(t.window) : '',
    opt('mss ')?.split(' ')[1] ?? '',
    ts?.[2] ?? '',
    ts?.[4] ?? '',
    opt('wscale ')?.split(' ')[1] ?? '',
    t ? '1' : '',
  ];
}

let failures = 0;
let frames = 0;
const mode = (m: string) => `---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ${m}\n`;
const cases: { label: string; text: string; to?: string }[] = [
  { label: 'pod → ClusterIP (iptables)', text: defaultScenario },
  { label: 'pod → ClusterIP (nftables)', text: defaultScenario + mode('nftables') },
  { label: 'outside → NodePort (iptables)', text: nodePortScenario },
  { label: 'outside → NodePort (IPVS)', text: nodePortScenario + mode('ipvs') },
  { label: 'pod → ClusterIP (flannel host-gw)', text: withCni(defaultScenario, 'flannel-host-gw') },
  { label: 'pod → ClusterIP (Calico IP-in-IP)', text: withCni(defaultScenario, 'calico-ipip') },
  { label: 'pod → ClusterIP (Calico VXLAN)', text: withCni(defaultScenario, 'calico-vxlan') },
  { label: 'pod → ClusterIP (Calico BGP)', text: withCni(defaultScenario, 'calico-bgp') },
  { label: 'outside → NodePort (Calico IP-in-IP)', text: withCni(nodePortScenario, 'calico-ipip') },
  { label: 'pod → server outside (flannel masquerade)', text: defaultScenario, to: '198.51.100.80:80' },
  { label: 'pod → server outside (Calico natOutgoing)', text: withCni(defaultScenario, 'calico-ipip'), to: '198.51.100.80:80' },
  { label: 'pod → another node (flannel masquerade)', text: defaultScenario, to: '192.168.1.13:10250' },
  { label: 'pod → ClusterIP (Cilium VXLAN, socket LB)', text: withCni(defaultScenario, 'cilium-vxlan') },
  { label: 'pod → ClusterIP (Cilium Geneve, socket LB)', text: withCni(defaultScenario, 'cilium-geneve') },
  { label: 'pod → ClusterIP (Cilium native routing)', text: withCni(defaultScenario, 'cilium-native') },
  { label: 'outside → NodePort (Cilium VXLAN, BPF NodePort)', text: withCni(nodePortScenario, 'cilium-vxlan') },
  { label: 'pod → server outside (Cilium masquerade)', text: withCni(defaultScenario, 'cilium-vxlan'), to: '198.51.100.80:80' },
];
for (const c of cases) {
  const s = loadSnapshot(c.text, 1);
  for (const seed of [0, 1, 2, 3]) {
    const trace = traceFlow(s.topology, c.to ? { ...s.flows[0]!, to: c.to } : s.flows[0]!, seed);
    const label = `${c.label}, seed ${seed}`;
    const file = join(dir, 'trace.pcap');
    writeFileSync(file, tracePcap(trace));
    const bad = tshark(['-r', file, ...prefs, '-Y', '_ws.malformed || _ws.expert.severity == error']).trim();
    if (bad) {
      failures++;
      console.log(`FAIL ${label}: tshark reports malformed frames or errors:\n${bad}`);
      continue;
    }
    const rows = tshark(['-r', file, ...prefs, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', ...FIELDS.flatMap((f) => ['-e', f])]).trimEnd().split('\n');
    const ours = tracePcapFrames(trace);
    if (rows.length !== ours.length) {
      failures++;
      console.log(`FAIL ${label}: tshark read ${rows.length} frames, the engine wrote ${ours.length}`);
      continue;
    }
    let diffs = 0;
    rows.forEach((row, i) => {
      const got = row.split('\t');
      const want = expected(decodePacket(ours[i]!.frame.bytes));
      FIELDS.forEach((f, k) => {
        if ((got[k] ?? '') !== want[k]) {
          diffs++;
          if (diffs <= 5) console.log(`FAIL ${label}: frame ${i + 1} (hop ${ours[i]!.hop}) ${f}: tshark ${JSON.stringify(got[k])}, engine ${JSON.stringify(want[k])}`);
        }
      });
    });
    frames += rows.length;
    if (diffs) failures++;
    else console.log(`ok   tshark ${label}: ${rows.length} frames, no malformed frame or checksum error, ${FIELDS.length} fields per frame equal`);
  }
}
if (failures) {
  console.log(`${failures} tshark check(s) failed`);
  process.exit(1);
}
console.log(`tshark agreed on all ${frames} frames`);
