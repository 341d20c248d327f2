import { describe, expect, it } from 'vitest';
import { defaultScenario } from '../../scenarios/default.ts';
import { nodePortScenario } from '../../scenarios/nodePort.ts';
import { loadSnapshot } from '../snapshot.ts';
import type { Hop, IPv4Header, Trace, UdpHeader, VxlanHeader } from '../types.ts';
import { traceFlow } from './trace.ts';

const snap = loadSnapshot(defaultScenario, 1);
const flow = snap.flows[0]!;
const svc = snap.topology.services[0]!;
const client = snap.topology.nodes.flatMap((n) => n.pods).find((p) => p.name === 'inspector')!;

const traces = Array.from({ length: 40 }, (_, seed) => traceFlow(snap.topology, flow, seed));
const crossNode = traces.find((t) => t.backend && t.backend.node !== client.node)!;
const sameNode = traces.find((t) => t.backend && t.backend.node === client.node)!;
const titles = (t: Trace, dir: Hop['direction']) => t.hops.filter((h) => h.direction === dir).map((h) => h.mechanism.title);
const ipOf = (h: Hop, which: 'before' | 'after', n = 0) => h[which].headers.filter((x): x is IPv4Header => x.proto === 'ipv4')[n]!;

describe('client pod → ClusterIP → backend on another node (flannel VXLAN, kube-proxy iptables)', () => {
  it('is deterministic for a seed, and the seeds reach both endpoints', () => {
    expect(traceFlow(snap.topology, flow, 5)).toEqual(traces[5]);
    expect(new Set(traces.map((t) => t.backend?.podId)).size).toBe(2);
    expect(crossNode).toBeDefined();
    expect(sameNode).toBeDefined();
  });

  it('walks the request through the mechanisms in order', () => {
    const order = [
      /^connect\(my-nginx:80\)/,
      /^veth pair: pod eth0 → veth[0-9a-f]{8}$/,
      /^cni0: frame for the bridge's own MAC/,
      /^nat PREROUTING → KUBE-SERVICES → KUBE-SVC-[A-Z2-7]{16} → KUBE-SEP-[A-Z2-7]{16} DNAT → 10\.244\.\d+\.\d+:80$/,
      /^route 10\.244\.\d+\.0\/24 via 10\.244\.\d+\.0 dev flannel\.1 onlink$/,
      /^filter FORWARD: ACCEPT/,
      /^nat POSTROUTING/,
      /^flannel\.1: VXLAN encapsulation \(VNI 1, UDP \d+ → 8472\)/,
      /^eth0 out/,
      /^node network/,
      /^eth0 in/,
      /^flannel\.1: VXLAN decapsulation/,
      /^nat PREROUTING: no kube-proxy rule matched/,
      /^route 10\.244\.\d+\.0\/24 dev cni0/,
      /^filter FORWARD: ACCEPT/,
      /^nat POSTROUTING/,
      /^cni0 → veth/,
      /^veth pair: veth[0-9a-f]{8} → pod eth0$/,
      /^delivered to my-nginx-/,
    ];
    const got = titles(crossNode, 'request');
    expect(got).toHaveLength(order.length);
    got.forEach((t, i) => expect(t).toMatch(order[i]!));
  });

  it('DNATs to the chosen endpoint with the rule kube-proxy wrote', () => {
    const dnat = crossNode.hops.find((h) => h.mechanism.title.includes('DNAT'))!;
    expect(ipOf(dnat, 'before').dst).toBe(svc.clusterIP);
    expect(ipOf(dnat, 'after').dst).toBe(crossNode.backend!.ip);
    const acted = dnat.mechanism.rules!.filter((r) => r.matched).map((r) => r.text);
    expect(acted[acted.length - 1]).toMatch(new RegExp(`-j DNAT --to-destination ${crossNode.backend!.ip.replace(/\./g, '\\.')}:80$`));
  });

  it('encapsulates in VXLAN: node to node, UDP 8472, VNI 1, 50 bytes more', () => {
    const encap = crossNode.hops.find((h) => h.mechanism.kind === 'vxlan-encap')!;
    const [outerEth, outerIp, udp, vxlan, innerEth, innerIp] = encap.after.headers;
    expect(outerEth!.proto).toBe('ethernet');
    expect((outerIp as IPv4Header).src).toBe('192.168.1.12');
    expect((outerIp as IPv4Header).dst).toBe(snap.topology.nodes.find((n) => n.name === crossNode.backend!.node)!.ip);
    expect((udp as UdpHeader).dstPort).toBe(8472);
    expect((udp as UdpHeader).srcPort).toBeGreaterThanOrEqual(32768);
    expect(vxlan as VxlanHeader).toEqual({ proto: 'vxlan', flags: 0x08, vni: 1 });
    expect(innerEth!.proto).toBe('ethernet');
    expect((innerIp as IPv4Header).src).toBe(client.ip);
    expect(encap.after.length - encap.before.length).toBe(50);
    expect((outerIp as IPv4Header).totalLength).toBe(encap.after.length - 14);
    const decap = crossNode.hops.find((h) => h.mechanism.kind === 'vxlan-decap')!;
    expect(decap.after.length).toBe(encap.before.length);
  });

  it('brings the reply back with the ClusterIP restored as its source', () => {
    const reply = crossNode.hops.filter((h) => h.direction === 'reply');
    expect(reply[0]!.mechanism.title).toMatch(/SYN-ACK/);
    const reverse = reply.find((h) => h.mechanism.title.startsWith('conntrack: reverse DNAT'))!;
    expect(reverse.node).toBe(client.node);
    expect(ipOf(reverse, 'before').src).toBe(crossNode.backend!.ip);
    expect(ipOf(reverse, 'after').src).toBe(svc.clusterIP);
    const last = reply[reply.length - 1]!;
    expect(last.at).toBe(`pod:${client.id}:eth0`);
    expect(ipOf(last, 'after').src).toBe(svc.clusterIP);
    expect(crossNode.verdict.kind).toBe('delivered');
    // Only the first packet walks nat: the reply's PREROUTING hops are conntrack hits.
    expect(reply.filter((h) => h.mechanism.title.startsWith('conntrack: reply of a known connection'))).toHaveLength(2);
  });

  it('a backend on the client\'s own node is reached without VXLAN, and the bridged reply is de-NATed', () => {
    expect(sameNode.hops.some((h) => h.mechanism.kind.startsWith('vxlan'))).toBe(false);
    const reply = sameNode.hops.filter((h) => h.direction === 'reply');
    expect(reply.some((h) => h.mechanism.title.includes('switched by the bridge'))).toBe(true);
    expect(ipOf(reply[reply.length - 1]!, 'after').src).toBe(svc.clusterIP);
  });
});

describe('when things go wrong', () => {
  it('a Service without endpoints is rejected by KUBE-SERVICES in the filter table', () => {
    const s = loadSnapshot(defaultScenario.replace('    run: my-nginx\n  ports:', '    run: nobody\n  ports:'), 1);
    const t = traceFlow(s.topology, s.flows[0]!, 1);
    expect(t.verdict.kind).toBe('rejected');
    expect(t.verdict.message).toMatch(/has no endpoints/);
  });

  it('an unknown name fails DNS with the search list it tried', () => {
    const t = traceFlow(snap.topology, { ...flow, to: 'nope:80' }, 1);
    expect(t.verdict.kind).toBe('unreachable');
    expect(t.verdict.message).toContain('nope.k8snet.svc.cluster.local');
  });

  it('a pod IP is reached directly, without any DNAT', () => {
    const target = crossNode.backend!;
    const t = traceFlow(snap.topology, { ...flow, to: `${target.ip}:80` }, 1);
    expect(t.verdict.kind).toBe('delivered');
    expect(t.hops.some((h) => h.mechanism.title.includes('DNAT'))).toBe(false);
  });
});

describe('from outside the cluster to a NodePort (cndjp4 step 4)', () => {
  const s = loadSnapshot(nodePortScenario, 1);
  const nodePort = s.topology.services.find((x) => x.name === 'my-nginx-nodeport')!.ports[0]!.nodePort;
  const traces = Array.from({ length: 20 }, (_, seed) => traceFlow(s.topology, { name: 'np', from: 'external', to: `node-2:${nodePort}`, protocol: 'TCP' }, seed));

  it('reaches both backends and the client sees the node address it dialled', () => {
    expect(new Set(traces.map((t) => t.backend?.podId)).size).toBe(2);
    for (const t of traces) {
      expect(t.verdict.kind).toBe('delivered');
      const last = t.hops[t.hops.length - 1]!;
      expect(last.at).toBe('ext:client');
      expect(ipOf(last, 'after').src).toBe('192.168.1.12');
    }
  });

  it('walks KUBE-NODEPORTS → KUBE-EXT (mark) → KUBE-SVC → KUBE-SEP, then masquerades and undoes both NATs on the way back', () => {
    const t = traces.find((x) => x.backend!.node === 'node-3')!;
    const titles = t.hops.map((h) => h.mechanism.title);
    expect(titles.find((x) => x.includes('DNAT'))).toMatch(/KUBE-SERVICES → KUBE-NODEPORTS → KUBE-EXT-\w+ → KUBE-MARK-MASQ → KUBE-SVC-\w+ → KUBE-SEP-\w+ DNAT/);
    expect(titles).toContainEqual(expect.stringMatching(/^filter FORWARD: ACCEPT \(KUBE-FORWARD\)$/));
    expect(titles).toContainEqual(expect.stringMatching(/MASQUERADE — source 198\.51\.100\.7:\d+ → 10\.244\.1\.0:\d+$/));
    expect(titles).toContainEqual(expect.stringMatching(/reverse SNAT, destination 10\.244\.1\.0:\d+ → 198\.51\.100\.7:\d+$/));
    expect(titles).toContainEqual(expect.stringMatching(new RegExp(`reverse DNAT — source 10\\.244\\.2\\.2:80 → 192\\.168\\.1\\.12:${nodePort}$`)));
  });

  it('a ClusterIP is not reachable from outside', () => {
    const t = traceFlow(s.topology, { name: 'x', from: 'external', to: `${svc.clusterIP}:80`, protocol: 'TCP' }, 1);
    expect(t.verdict.kind).toBe('unreachable');
    expect(t.verdict.message).toMatch(/not routed outside the cluster/);
  });
});

describe('IPVS mode (simulated)', () => {
  const ipvsText = `${defaultScenario}---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n`;
  const s = loadSnapshot(ipvsText, 1);
  const t = s.topology;
  const traces = Array.from({ length: 20 }, (_, seed) => traceFlow(t, s.flows[0]!, seed));

  it('delivers through a virtual server: local delivery on kube-ipvs0, then IPVS picks a real server', () => {
    expect(new Set(traces.map((x) => x.backend?.podId)).size).toBe(2);
    const tr = traces.find((x) => x.backend!.node !== client.node)!;
    const titles = tr.hops.map((h) => h.mechanism.title);
    expect(titles.some((x) => /DNAT → /.test(x))).toBe(false);
    expect(titles).toContainEqual(expect.stringMatching(/^local delivery: [\d.]+ is bound on kube-ipvs0 → filter INPUT: ACCEPT$/));
    expect(titles).toContainEqual(expect.stringMatching(/^IPVS: TCP [\d.]+:80 rr → real server 10\.244\.\d+\.\d+:80 \(Masq\)$/));
    expect(titles).toContainEqual(expect.stringMatching(/^IPVS: reply un-NATed — source 10\.244\.\d+\.\d+:80 → [\d.]+:80$/));
    expect(tr.verdict.kind).toBe('delivered');
    const input = tr.hops.find((h) => h.mechanism.title.startsWith('local delivery'))!;
    expect(input.mechanism.rules!.some((r) => r.matched && r.text.includes('--match-set KUBE-CLUSTER-IP dst,dst -j RETURN'))).toBe(true);
  });

  it('a NodePort from outside is marked by KUBE-NODE-PORT and masqueraded', () => {
    const np = loadSnapshot(`${nodePortScenario}---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: ipvs\n`, 1);
    const tr = traceFlow(np.topology, np.flows[0]!, 2);
    const titles = tr.hops.map((h) => h.mechanism.title);
    expect(titles).toContainEqual(expect.stringMatching(/KUBE-NODE-PORT → KUBE-MARK-MASQ: no DNAT in IPVS mode, marked for masquerade$/));
    expect(titles).toContainEqual(expect.stringMatching(/MASQUERADE — source 198\.51\.100\.7/));
    expect(tr.verdict.kind).toBe('delivered');
  });
});

describe('nftables mode', () => {
  const mode = `---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: nftables\n`;
  const s = loadSnapshot(defaultScenario + mode, 1);
  const traces = Array.from({ length: 20 }, (_, seed) => traceFlow(s.topology, s.flows[0]!, seed));

  it('finds the Service with one verdict-map lookup and picks the endpoint with numgen', () => {
    expect(new Set(traces.map((x) => x.backend?.podId)).size).toBe(2);
    const tr = traces.find((x) => x.backend!.node !== client.node)!;
    const dnat = tr.hops.find((h) => h.mechanism.title.includes('dnat →'))!;
    expect(dnat.mechanism.title).toMatch(/^nftables prerouting → .*nat-prerouting → services → service-\w+-k8snet\/my-nginx\/tcp\/ → endpoint-\w+-k8snet\/my-nginx\/tcp\/__10\.244\.\d+\.\d+\/80: dnat → 10\.244\.\d+\.\d+:80$/);
    const effects = dnat.mechanism.rules!.filter((r) => r.matched).map((r) => r.effect);
    expect(effects).toContainEqual(expect.stringMatching(/^@service-ips\[[\d.]+ \. tcp \. 80\] → goto service-/));
    expect(effects).toContainEqual(expect.stringMatching(/^numgen [01] of 2 → goto endpoint-/));
    // No KUBE-* chain anywhere: the iptables rules are gone in this mode.
    expect(tr.hops.flatMap((h) => h.mechanism.rules ?? []).every((r) => r.table === 'ip kube-proxy')).toBe(true);
    expect(tr.verdict.kind).toBe('delivered');
    expect(titlesOf(tr)).toContainEqual(expect.stringMatching(/^conntrack: reverse DNAT — source 10\.244\.\d+\.\d+:80 → [\d.]+:80$/));
  });

  it('a NodePort from outside: service-nodeports map, mark-for-masquerade, masquerade fully-random, both NATs undone', () => {
    const np = loadSnapshot(nodePortScenario + mode, 1);
    const all = Array.from({ length: 12 }, (_, seed) => traceFlow(np.topology, np.flows[0]!, seed));
    expect(new Set(all.map((x) => x.backend?.podId)).size).toBe(2);
    for (const tr of all) expect(tr.verdict.kind).toBe('delivered');
    const titles = titlesOf(all[0]!);
    expect(titles.find((x) => x.includes('dnat →'))).toMatch(/services → external-\w+-k8snet\/my-nginx-nodeport\/tcp\/ → mark-for-masquerade → service-/);
    expect(titles).toContainEqual(expect.stringMatching(/^nftables postrouting → masquerading: masquerade — source 198\.51\.100\.7:\d+ → [\d.]+:\d+$/));
    expect(titles).toContainEqual(expect.stringMatching(/reverse SNAT, destination [\d.]+:\d+ → 198\.51\.100\.7:\d+$/));
  });

  it('a Service without endpoints is rejected through @no-endpoint-services', () => {
    const noEp = loadSnapshot(defaultScenario.replace(/replicas: 2/, 'replicas: 0') + mode, 1);
    const tr = traceFlow(noEp.topology, noEp.flows[0]!, 1);
    expect(tr.verdict.kind).toBe('rejected');
    const rules = tr.hops.flatMap((h) => h.mechanism.rules ?? []).filter((r) => r.matched);
    expect(rules.map((r) => r.effect)).toContainEqual(expect.stringMatching(/^@no-endpoint-services\[[\d.]+ \. tcp \. 80\] → goto reject-chain$/));
  });
});

function titlesOf(t: Trace): string[] {
  return t.hops.map((h) => h.mechanism.title);
}
