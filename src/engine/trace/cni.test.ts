import { describe, expect, it } from 'vitest';
import { defaultScenario } from '../../scenarios/default.ts';
import { nodePortScenario } from '../../scenarios/nodePort.ts';
import { caliVethName } from '../dataplane/calico.ts';
import { formatRoute } from '../dataplane/flannel.ts';
import { checksumProblems, decodePacket, encodePacket } from '../packet/bytes.ts';
import { loadSnapshot } from '../snapshot.ts';
import type { IPv4Header, Trace } from '../types.ts';
import { traceFlow } from './trace.ts';

const ippool = (ipip: string, vxlan: string) => `---
apiVersion: crd.projectcalico.org/v1
kind: IPPool
metadata:
  name: default-ipv4-ippool
spec:
  cidr: 10.244.0.0/16
  ipipMode: ${ipip}
  vxlanMode: ${vxlan}
  natOutgoing: true
`;
const flannelCfg = (type: string) => `---
apiVersion: v1
kind: ConfigMap
metadata:
  name: kube-flannel-cfg
  namespace: kube-flannel
data:
  net-conf.json: |
    { "Network": "10.244.0.0/16", "Backend": { "Type": "${type}" } }
`;
const traces = (text: string) => {
  const s = loadSnapshot(text, 1);
  expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return { s, all: Array.from({ length: 12 }, (_, seed) => traceFlow(s.topology, s.flows[0]!, seed)) };
};
const crossNode = (all: Trace[]) => all.find((t) => t.backend && t.hops[0]!.node !== t.backend.node)!;
const ips = (h: { headers: unknown[] }) => h.headers.filter((x): x is IPv4Header => (x as IPv4Header).proto === 'ipv4');

describe('Calico', () => {
  it('names the host side of a pod veth as its CNI plugin does: cali + 11 hex of sha1("<ns>.<pod>")', () => {
    expect(caliVethName('default', 'nginx')).toBe('calic440f455693'); // python3: hashlib.sha1(b"default.nginx")
  });

  it('IPIP: blocks per node, /32 pod routes, tunl0, and a cross-node packet wrapped in IP protocol 4', () => {
    const { s, all } = traces(defaultScenario + ippool('Always', 'Never'));
    const [n1, n2, n3] = s.topology.nodes;
    expect([n1!.podCIDR, n2!.podCIDR, n3!.podCIDR]).toEqual(['10.244.0.0/26', '10.244.0.64/26', '10.244.0.128/26']);
    expect(n2!.interfaces.map((i) => `${i.name} ${i.kind} ${i.address ?? ''}`)).toEqual(['eth0 eth 192.168.1.12/24', 'tunl0 ipip 10.244.0.64/32']);
    const routes = n2!.routes.map(formatRoute);
    expect(routes).toContain('blackhole 10.244.0.64/26 proto bird');
    expect(routes).toContain('10.244.0.128/26 via 192.168.1.13 dev tunl0 proto bird onlink');
    const pod = n2!.pods[0]!;
    expect(pod.hostVeth.name).toMatch(/^cali[0-9a-f]{11}$/);
    expect(pod.hostVeth.mac).toBe('ee:ee:ee:ee:ee:ee');
    expect(routes).toContain(`${pod.ip} dev ${pod.hostVeth.name} scope link`);
    expect(pod.eth0.address).toBe(`${pod.ip}/32`);

    const t = crossNode(all);
    expect(t.verdict.kind).toBe('delivered');
    expect(t.hops[0]!.after.headers[0]).toMatchObject({ dst: 'ee:ee:ee:ee:ee:ee' }); // proxy ARP for 169.254.1.1
    const encap = t.hops.find((h) => h.mechanism.kind === 'ipip-encap')!;
    const [outer, inner] = ips(encap.after);
    expect(outer).toMatchObject({ protocol: 'IPIP', src: '192.168.1.12', ttl: inner!.ttl, df: inner!.df, totalLength: inner!.totalLength + 20 });
    expect(encap.after.length - encap.before.length).toBe(20);
    const b = encodePacket(encap.after);
    expect(checksumProblems(b)).toEqual([]);
    expect(decodePacket(b)).toEqual(encap.after);
    expect(t.hops.some((h) => h.mechanism.kind === 'ipip-decap')).toBe(true);
    expect(t.hops.some((h) => h.mechanism.kind === 'bridge')).toBe(false);
  });

  it('VXLAN: vxlan.calico, VNI 4096, UDP 4789, routes via the remote tunnel address', () => {
    const { s, all } = traces(defaultScenario + ippool('Never', 'Always'));
    expect(s.topology.nodes[1]!.routes.map(formatRoute)).toContain('10.244.0.128/26 via 10.244.0.128 dev vxlan.calico proto 80 onlink');
    const encap = crossNode(all).hops.find((h) => h.mechanism.kind === 'vxlan-encap')!;
    expect(encap.after.headers.find((h) => h.proto === 'udp')).toMatchObject({ dstPort: 4789 });
    expect(encap.after.headers.find((h) => h.proto === 'vxlan')).toMatchObject({ vni: 4096 });
    expect(checksumProblems(encodePacket(encap.after))).toEqual([]);
  });

  it('no encapsulation (BGP only): the pod addresses cross the node network as they are', () => {
    const { all } = traces(defaultScenario + ippool('Never', 'Never'));
    const t = crossNode(all);
    expect(t.verdict.kind).toBe('delivered');
    const wire = t.hops.find((h) => h.mechanism.kind === 'wire')!;
    expect(ips(wire.after)).toHaveLength(1);
    expect(ips(wire.after)[0]!.src).toMatch(/^10\.244\./);
    expect(t.hops.find((h) => h.mechanism.title.startsWith('route 10.244.0.'))?.mechanism.title).toMatch(/via 192\.168\.1\.1\d dev eth0 proto bird$/);
  });

  it('a NodePort from outside works over IPIP too (masquerade to the tunnel address, both NATs undone)', () => {
    const { all } = traces(nodePortScenario + ippool('Always', 'Never'));
    for (const t of all) expect(t.verdict.kind).toBe('delivered');
    const t = crossNode(all) ?? all.find((x) => x.hops.some((h) => h.mechanism.kind === 'ipip-encap'))!;
    expect(t.hops.map((h) => h.mechanism.title)).toContainEqual(expect.stringMatching(/MASQUERADE — source 198\.51\.100\.7:\d+ → 10\.244\.0\.64:\d+$/));
  });

  it('an IPPool with both encapsulations is an error on its line', () => {
    const s = loadSnapshot(defaultScenario + ippool('Always', 'Always'), 1);
    const d = s.diagnostics.find((x) => x.message.includes('both ipipMode and vxlanMode'))!;
    expect(d.severity).toBe('error');
    expect(d.line).toBeGreaterThan(defaultScenario.split('\n').length);
  });
});

describe('flannel from kube-flannel-cfg', () => {
  it('host-gw: no flannel.1, routes to each pod subnet via the node itself, no encapsulation', () => {
    const { s, all } = traces(defaultScenario + flannelCfg('host-gw'));
    const n2 = s.topology.nodes[1]!;
    expect(n2.interfaces.map((i) => i.name)).toEqual(['eth0', 'cni0']);
    expect(n2.routes.map(formatRoute)).toContain('10.244.2.0/24 via 192.168.1.13 dev eth0');
    const t = crossNode(all);
    expect(t.hops.some((h) => h.mechanism.kind === 'vxlan-encap')).toBe(false);
    expect(t.hops.map((h) => h.mechanism.title)).toContainEqual(expect.stringMatching(/^eth0 out: next hop node-3 192\.168\.1\.13 \(no encapsulation\)$/));
  });

  it('vxlan from the ConfigMap is the default network; bad JSON is reported on the ConfigMap', () => {
    const { s } = traces(defaultScenario + flannelCfg('vxlan'));
    expect(s.topology.settings.cni).toMatchObject({ plugin: 'flannel', backend: 'vxlan', device: 'flannel.1' });
    const bad = loadSnapshot(defaultScenario + flannelCfg('vxlan').replace('{ "Network"', '{ Network'), 1);
    expect(bad.diagnostics.map((d) => d.message)).toContainEqual(expect.stringMatching(/^net-conf\.json is not valid JSON/));
  });
});

describe('a pod connecting to a server outside the cluster', () => {
  const outside = (text: string) => {
    const s = loadSnapshot(text, 1);
    return traceFlow(s.topology, { name: 'out', from: 'k8snet/inspector', to: '198.51.100.80:80', protocol: 'TCP' }, 1);
  };

  it('flannel: FLANNEL-POSTRTG masquerades it to the node address; conntrack brings the answer back', () => {
    const t = outside(defaultScenario);
    expect(t.verdict.kind).toBe('delivered');
    const masq = t.hops.find((h) => h.mechanism.title.startsWith('nat POSTROUTING → FLANNEL-POSTRTG: MASQUERADE'))!;
    expect(masq.mechanism.rules!.filter((r) => r.matched).map((r) => r.text)).toContain('-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully');
    const server = t.hops.find((h) => h.mechanism.title.startsWith('delivered to the server 198.51.100.80:80'))!;
    expect(ips(server.after)[0]!.src).toBe('192.168.1.12');
    expect(t.hops.map((h) => h.mechanism.title)).toContainEqual(expect.stringMatching(/^conntrack: reply of a known connection — reverse SNAT, destination 192\.168\.1\.12:\d+ → 10\.244\.1\.3:\d+$/));
    expect(t.hops[t.hops.length - 1]!.mechanism.title).toMatch(/^delivered to inspector 10\.244\.1\.3:\d+$/);
  });

  it('Calico natOutgoing masquerades; without it the answer to a pod address is lost outside the cluster', () => {
    const withNat = outside(defaultScenario + ippool('Always', 'Never'));
    expect(withNat.verdict.kind).toBe('delivered');
    expect(withNat.hops.map((h) => h.mechanism.title)).toContainEqual(expect.stringMatching(/^Calico cali-nat-outgoing: MASQUERADE — source 10\.244\.0\.66:\d+ → 192\.168\.1\.12:\d+$/));
    const noNat = outside(defaultScenario + ippool('Always', 'Never').replace('natOutgoing: true', 'natOutgoing: false'));
    expect(noNat.verdict.kind).toBe('unreachable');
    expect(noNat.verdict.message).toMatch(/^10\.244\.0\.66 is a pod address: the network outside the cluster has no route/);
  });
});

describe('a pod connecting to a node', () => {
  const toNode = (to: string) => {
    const s = loadSnapshot(defaultScenario, 1);
    return traceFlow(s.topology, { name: 'n', from: 'k8snet/inspector', to, protocol: 'TCP' }, 1);
  };

  it('another node: masqueraded by flannel, straight over the node network, delivered to its own socket, answered back', () => {
    const t = toNode('192.168.1.13:10250');
    expect(t.verdict.kind).toBe('delivered');
    const titles = t.hops.map((h) => h.mechanism.title);
    expect(titles).toContainEqual('eth0 out: to node-3 192.168.1.13 on the node network\'s own subnet');
    expect(titles).toContainEqual('delivered to node-3\'s own socket 192.168.1.13:10250');
    expect(titles).toContainEqual(expect.stringMatching(/^conntrack: reply of a known connection — reverse SNAT, destination 192\.168\.1\.12:\d+ → 10\.244\.1\.3:\d+$/));
    expect(titles.join('\n')).not.toMatch(/undefined|outside the cluster/);
  });

  it('its own node: INPUT, no masquerade, the answer goes straight back over cni0', () => {
    const t = toNode('192.168.1.12:10250');
    expect(t.verdict.kind).toBe('delivered');
    expect(t.hops.some((h) => /MASQUERADE/.test(h.mechanism.title))).toBe(false);
    expect(t.hops.map((h) => h.mechanism.title)).toContainEqual('local delivery: 192.168.1.12 is node-2\'s own address → filter INPUT: ACCEPT');
  });

  it('an address on the node network that no node has is unreachable, and says why', () => {
    const t = toNode('192.168.1.50:80');
    expect(t.verdict.kind).toBe('unreachable');
    expect(t.verdict.message).toMatch(/no node of this cluster: ARP on eth0 gets no answer/);
  });
});
