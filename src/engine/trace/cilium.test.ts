import { describe, expect, it } from 'vitest';
import { defaultScenario } from '../../scenarios/default.ts';
import { nodePortScenario } from '../../scenarios/nodePort.ts';
import { withCni } from '../../scenarios/cniDocs.ts';
import { lxcName } from '../dataplane/cilium.ts';
import { formatRoute } from '../dataplane/flannel.ts';
import { iptablesSave } from '../dataplane/iptablesSave.ts';
import { checksumProblems, decodePacket, encodePacket } from '../packet/bytes.ts';
import { loadSnapshot } from '../snapshot.ts';
import type { IPv4Header, Trace } from '../types.ts';
import { traceFlow } from './trace.ts';

const config = (data: Record<string, string>) => `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cilium-config
  namespace: kube-system
data:
${Object.entries(data)
  .map(([k, v]) => `  ${k}: "${v}"`)
  .join('\n')}
`;
const base = { 'cluster-pool-ipv4-cidr': '10.244.0.0/16', 'cluster-pool-ipv4-mask-size': '24' };
const kpr = (more: Record<string, string> = {}) => config({ ...base, 'routing-mode': 'tunnel', 'tunnel-protocol': 'vxlan', 'kube-proxy-replacement': 'true', ...more });
const load = (text: string) => {
  const s = loadSnapshot(text, 1);
  expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return s;
};
const traces = (text: string, to?: string) => {
  const s = load(text);
  const flow = to ? { ...s.flows[0]!, to } : s.flows[0]!;
  return { s, all: Array.from({ length: 12 }, (_, seed) => traceFlow(s.topology, flow, seed)) };
};
const crossNode = (all: Trace[]) => all.find((t) => t.backend && t.hops[0]!.node !== t.backend.node)!;
const sameNode = (all: Trace[]) => all.find((t) => t.backend && t.hops[0]!.node === t.backend.node)!;
const ips = (h: { headers: unknown[] }) => h.headers.filter((x): x is IPv4Header => (x as IPv4Header).proto === 'ipv4');
const titles = (t: Trace) => t.hops.map((h) => h.mechanism.title);

describe('Cilium: configuration and devices', () => {
  it('names the host side of a pod veth "lxc" + 12 hex of sha256("<container ID>:eth0")', () => {
    expect(lxcName('0123456789abcdef')).toBe('lxc36c836995d35'); // python3: hashlib.sha256(b"0123456789abcdef:eth0")
  });

  it('reads cilium-config with the chart defaults: tunnel, vxlan, kube-proxy kept, 10.0.0.0/8 — and warns that the pool overlaps the Service CIDR', () => {
    const s = loadSnapshot(defaultScenario + config({}), 1);
    const cni = s.topology.settings.cni;
    expect(cni).toMatchObject({ plugin: 'cilium', routing: 'tunnel', tunnelProtocol: 'vxlan', kubeProxyReplacement: false, socketLB: false, port: 8472, mtu: 1450, device: 'cilium_vxlan' });
    expect(s.topology.settings.podCIDR).toBe('10.0.0.0/8');
    expect(s.diagnostics.find((d) => d.message.includes('overlaps the Service CIDR'))).toMatchObject({ severity: 'warning' });
  });

  it('reads the removed keys with a warning, and reports a bad value on its line', () => {
    const s = loadSnapshot(defaultScenario + config({ ...base, tunnel: 'geneve', 'kube-proxy-replacement': 'strict' }), 1);
    expect(s.topology.settings.cni).toMatchObject({ routing: 'tunnel', tunnelProtocol: 'geneve', port: 6081, device: 'cilium_geneve', kubeProxyReplacement: true });
    expect(s.diagnostics.filter((d) => d.code === 'PP004').map((d) => d.message)).toEqual([expect.stringContaining('removed in 1.15'), expect.stringContaining('removed in Cilium 1.15')]);
    const bad = loadSnapshot(defaultScenario + config({ ...base, 'routing-mode': 'overlay' }), 1);
    const d = bad.diagnostics.find((x) => x.message.startsWith('routing-mode must be'))!;
    expect(d.severity).toBe('error');
    const lines = (defaultScenario + config({ ...base, 'routing-mode': 'overlay' })).split('\n');
    expect(d.line).toBe(lines.findIndex((l) => l.includes('routing-mode: "overlay"')) + 1);
  });

  it('a node: no bridge, cilium_host holds a random router IP of its /24, cilium_vxlan has no address; routes via cilium_host with MTU 1450', () => {
    const s = load(defaultScenario + kpr());
    const n2 = s.topology.nodes[1]!;
    expect(n2.podCIDR).toBe('10.244.1.0/24');
    expect(n2.interfaces.map((i) => i.name)).toEqual(['eth0', 'cilium_host', 'cilium_net', 'cilium_vxlan']);
    expect(n2.interfaces.some((i) => i.kind === 'bridge')).toBe(false);
    const router = n2.interfaces.find((i) => i.name === 'cilium_host')!.address!;
    expect(router).toMatch(/^10\.244\.1\.\d+\/32$/);
    const r = router.split('/')[0]!;
    expect(n2.interfaces.find((i) => i.name === 'cilium_vxlan')!.address).toBeUndefined();
    const routes = n2.routes.map(formatRoute);
    expect(routes).toContain(`10.244.2.0/24 via ${r} dev cilium_host proto kernel src ${r} mtu 1450`);
    expect(routes).toContain(`10.244.1.0/24 via ${r} dev cilium_host proto kernel src ${r}`);
    for (const p of n2.pods) {
      expect(p.hostVeth.name).toMatch(/^lxc[0-9a-f]{12}$/);
      expect(p.eth0.address).toBe(`${p.ip}/32`);
      expect(p.ip).not.toBe(r);
      expect(p.identity).toBeGreaterThanOrEqual(256);
      expect(p.identity).toBeLessThanOrEqual(65535);
    }
    // Pods with the same identity labels share one identity; different labels get different ones.
    const pods = s.topology.nodes.flatMap((n) => n.pods);
    const nginx = pods.filter((p) => p.labels.run === 'my-nginx');
    expect(new Set(nginx.map((p) => p.identity)).size).toBe(1);
    expect(pods.find((p) => p.labels.run !== 'my-nginx')!.identity).not.toBe(nginx[0]!.identity);
  });

  it('native routing: routes to the other nodes pod CIDRs via their addresses on eth0, no tunnel device', () => {
    const s = load(defaultScenario + config({ ...base, 'routing-mode': 'native', 'ipv4-native-routing-cidr': '10.244.0.0/16', 'auto-direct-node-routes': 'true', 'kube-proxy-replacement': 'true' }));
    const n2 = s.topology.nodes[1]!;
    expect(n2.interfaces.map((i) => i.name)).toEqual(['eth0', 'cilium_host', 'cilium_net']);
    expect(n2.routes.map(formatRoute)).toContain('10.244.2.0/24 via 192.168.1.13 dev eth0 proto kernel');
  });

  it("with kube-proxy replacement no kube-proxy rule exists on a node: only Cilium's chains", () => {
    const s = load(defaultScenario + kpr());
    const save = iptablesSave(s.topology, 'node-2');
    expect(save).not.toContain('KUBE-');
    expect(save).toContain('-A CILIUM_POST_nat -s 10.244.1.0/24 ! -d 10.244.1.0/24 ! -o cilium_+ -m comment --comment "cilium masquerade non-cluster" -j MASQUERADE');
    const kept = load(defaultScenario + config({ ...base, 'kube-proxy-replacement': 'false' }));
    expect(iptablesSave(kept.topology, 'node-2')).toContain('-A KUBE-SERVICES');
  });
});

describe('Cilium: the eBPF datapath in the trace', () => {
  it('socket LB: connect() to the ClusterIP is translated before any packet exists — no DNAT hop, no iptables walk', () => {
    const { all } = traces(defaultScenario + kpr());
    for (const t of all) {
      expect(t.verdict.kind).toBe('delivered');
      expect(t.hops[0]!.mechanism.title).toMatch(/^cil_sock4_connect: connect\(10\.\d+\.\d+\.\d+:80\) → backend 10\.244\.\d+\.\d+:80/);
      const backend = t.backend!.ip;
      // Every IPv4 header of the request, inner or outer, names the backend or a node — never the ClusterIP.
      for (const h of t.hops.filter((x) => x.direction === 'request')) for (const i of ips(h.after)) expect([backend, '192.168.1.11', '192.168.1.12', '192.168.1.13']).toContain(i.dst);
      expect(t.hops.some((h) => h.mechanism.rules?.some((r) => r.text.includes('KUBE-')))).toBe(false);
      expect(t.verdict.kind === 'delivered' && t.verdict.message).toContain('getpeername() still reports');
    }
  });

  it('same node: cil_from_container → ipv4_local_delivery, TTL−1, MACs lxc → pod, straight into the pod', () => {
    const t = sameNode(traces(defaultScenario + kpr()).all);
    const kinds = t.hops.filter((h) => h.direction === 'request').map((h) => h.mechanism.kind);
    expect(kinds).toEqual(['ebpf', 'socket', 'ebpf', 'ebpf', 'deliver']);
    const deliver = t.hops.find((h) => h.mechanism.title.startsWith('ipv4_local_delivery'))!;
    expect(ips(deliver.after)[0]!.ttl).toBe(ips(deliver.before)[0]!.ttl - 1);
  });

  it('across nodes: VXLAN with the sender pod\'s identity as VNI, UDP 8472, inner frame untouched at the sender', () => {
    const { s, all } = traces(defaultScenario + kpr());
    const t = crossNode(all);
    expect(t.verdict.kind).toBe('delivered');
    const client = s.topology.nodes.flatMap((n) => n.pods).find((p) => p.id === s.flows[0]!.from)!;
    const encap = t.hops.find((h) => h.mechanism.kind === 'vxlan-encap' && h.direction === 'request')!;
    expect(encap.after.headers.find((h) => h.proto === 'vxlan')).toMatchObject({ vni: client.identity });
    expect(encap.after.headers.find((h) => h.proto === 'udp')).toMatchObject({ dstPort: 8472 });
    const [outer, inner] = ips(encap.after);
    expect(outer).toMatchObject({ ttl: 64, df: false });
    expect(inner).toEqual(ips(encap.before)[0]);
    expect(encap.after.headers.slice(4)).toEqual(encap.before.headers);
    for (const h of t.hops) {
      if (!h.after.headers.length) continue;
      const b = encodePacket(h.after);
      expect(checksumProblems(b)).toEqual([]);
      expect(decodePacket(b)).toEqual(h.after);
    }
    // The answer travels with the backend's identity.
    const back = t.hops.find((h) => h.mechanism.kind === 'vxlan-encap' && h.direction === 'reply')!;
    expect(back.after.headers.find((h) => h.proto === 'vxlan')).toMatchObject({ vni: s.topology.nodes.flatMap((n) => n.pods).find((p) => p.id === t.backend!.podId)!.identity });
  });

  it('Geneve: the same with a Geneve header on UDP 6081 that decodes byte for byte', () => {
    const t = crossNode(traces(defaultScenario + kpr({ 'tunnel-protocol': 'geneve' })).all);
    const encap = t.hops.find((h) => h.mechanism.kind === 'vxlan-encap')!;
    expect(encap.after.headers.find((h) => h.proto === 'geneve')).toMatchObject({ protocolType: 0x6558 });
    expect(encap.after.headers.find((h) => h.proto === 'udp')).toMatchObject({ dstPort: 6081 });
    const b = encodePacket(encap.after);
    expect(checksumProblems(b)).toEqual([]);
    expect(decodePacket(b)).toEqual(encap.after);
  });

  it('without kube-proxy replacement bpf_lxc load-balances per packet, and reverses it for the client', () => {
    const { all } = traces(defaultScenario + config({ ...base, 'kube-proxy-replacement': 'false' }));
    for (const t of all) {
      expect(t.verdict.kind).toBe('delivered');
      expect(titles(t)).toContainEqual(expect.stringMatching(/^bpf_lxc per-packet LB: /));
      expect(titles(t)).toContainEqual(expect.stringMatching(/^BPF rev-NAT: /));
      expect(t.hops.some((h) => h.mechanism.kind === 'netfilter' && /DNAT/.test(h.mechanism.title))).toBe(false);
    }
  });

  it('NodePort from outside: cil_from_netdev DNATs; a remote backend gets the router IP as source and VNI 2 (world); the reply is reverse-translated', () => {
    const { s, all } = traces(nodePortScenario + kpr());
    const t = crossNode(all.map((x) => ({ ...x, hops: x.hops.filter((h) => h.node !== undefined) })));
    const full = all.find((x) => x.seed === t.seed)!;
    expect(full.verdict.kind).toBe('delivered');
    expect(titles(full)).toContainEqual(expect.stringMatching(/^cil_from_netdev → nodeport_lb4: NodePort/));
    const lbNode = s.topology.nodes.find((n) => n.name === full.hops.find((h) => h.mechanism.title.startsWith('cil_from_netdev'))!.node)!;
    const router = lbNode.interfaces.find((i) => i.name === 'cilium_host')!.address!.split('/')[0];
    const nat = full.hops.find((h) => h.mechanism.title.startsWith('nodeport NAT'))!;
    expect(ips(nat.after)[0]!.src).toBe(router);
    expect(full.hops.find((h) => h.mechanism.kind === 'vxlan-encap')!.after.headers.find((h) => h.proto === 'vxlan')).toMatchObject({ vni: 2 });
    expect(titles(full)).toContainEqual(expect.stringMatching(/^rev_nodeport_lb4: /));
  });

  it('NetworkPolicy: a deny-all ingress policy drops the SYN in the backend\'s policy program, with the monitor\'s verdict line', () => {
    const deny = `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: k8snet
spec:
  podSelector:
    matchLabels:
      run: my-nginx
  policyTypes:
  - Ingress
`;
    for (const t of traces(defaultScenario + kpr() + deny).all) {
      expect(t.verdict.kind).toBe('dropped');
      expect(t.verdict.kind !== 'delivered' && t.verdict.message).toContain('Policy denied');
      const hop = t.hops.filter((h) => h.mechanism.kind === 'policy').pop()!;
      expect(hop.mechanism.detail).toMatch(/Policy verdict log: flow 0x0 local EP ID \d+, remote ID \d+, proto 6, ingress, action deny, auth: disabled, match none, /);
    }
  });

  it('pod → outside: the kernel forwards it and CILIUM_POST_nat masquerades it; the answer comes back through cilium_host', () => {
    const t = traces(defaultScenario + kpr(), '198.51.100.20:443').all[0]!;
    expect(t.verdict.kind).toBe('delivered');
    expect(titles(t)).toContainEqual(expect.stringMatching(/^nat POSTROUTING → CILIUM_POST_nat: MASQUERADE — source 10\.244\.\d+\.\d+:\d+ → 192\.168\.1\.\d+:/));
    expect(titles(t)).toContainEqual(expect.stringMatching(/^cilium_host: cil_from_host/));
  });

  it('native routing: across nodes through the kernel, no encapsulation, pod addresses on the wire', () => {
    const t = crossNode(traces(defaultScenario + config({ ...base, 'routing-mode': 'native', 'ipv4-native-routing-cidr': '10.244.0.0/16', 'auto-direct-node-routes': 'true', 'kube-proxy-replacement': 'true' })).all);
    expect(t.verdict.kind).toBe('delivered');
    expect(t.hops.some((h) => h.after.headers.some((x) => x.proto === 'vxlan' || x.proto === 'geneve'))).toBe(false);
    expect(titles(t)).toContainEqual(expect.stringMatching(/^route 10\.244\.\d\.0\/24 via 192\.168\.1\.1\d dev eth0/));
  });

  it('the picker writes a cilium-config that loads as it says', () => {
    for (const [choice, want] of [['cilium-vxlan', { routing: 'tunnel', tunnelProtocol: 'vxlan' }], ['cilium-geneve', { tunnelProtocol: 'geneve' }], ['cilium-native', { routing: 'native' }]] as const) {
      const s = load(withCni(defaultScenario, choice));
      expect(s.topology.settings.cni).toMatchObject({ plugin: 'cilium', kubeProxyReplacement: true, ...want });
      expect(traceFlow(s.topology, s.flows[0]!, 1).verdict.kind).toBe('delivered');
    }
  });
});
