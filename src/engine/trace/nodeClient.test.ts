import { describe, expect, it } from 'vitest';
import { defaultScenario } from '../../scenarios/default.ts';
import { withCni } from '../../scenarios/cniDocs.ts';
import { loadSnapshot } from '../snapshot.ts';
import type { IPv4Header, Trace } from '../types.ts';
import { traceFlow } from './trace.ts';

const flowFrom = (node: string, to: string) => `---
apiVersion: podpath.dev/v1alpha1
kind: Flow
metadata:
  name: from-node
spec:
  from: ${node}
  to: "${to}"
`;
const run = (text: string, seed = 1): Trace => {
  const s = loadSnapshot(text, 1);
  expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return traceFlow(s.topology, s.flows.find((f) => f.name === 'from-node') ?? s.flows[0]!, seed);
};
const ipOf = (h: { headers: unknown[] }) => h.headers.find((x): x is IPv4Header => (x as IPv4Header).proto === 'ipv4')!;
const clusterIP = () => loadSnapshot(defaultScenario, 1).topology.services.find((s) => s.name === 'my-nginx')!.clusterIP;
const pods = (text: string) => loadSnapshot(text, 1).topology.nodes.flatMap((n) => n.pods);

describe('a node as the client (node → pod, node → Service)', () => {
  it('node → ClusterIP: the source comes from the route (eth0), nat OUTPUT DNATs, and the answer is un-DNATed at INPUT', () => {
    for (const seed of [0, 1, 2, 3]) {
      const t = run(defaultScenario + flowFrom('node-2', `${clusterIP()}:80`), seed);
      expect(t.verdict.kind).toBe('delivered');
      expect(t.hops[0]!.mechanism.title).toMatch(/^node-2: connect\(10\.\d+\.\d+\.\d+:80\) → SYN 192\.168\.1\.12:\d+ → /);
      expect(t.hops[1]!.mechanism.title).toMatch(/^nat OUTPUT → KUBE-SERVICES → KUBE-SVC-\w+ → KUBE-MARK-MASQ → KUBE-SEP-\w+ DNAT → 10\.244\.\d+\.\d+:80, rerouted: /);
      const last = t.hops[t.hops.length - 1]!;
      expect(last.mechanism.title).toMatch(/^delivered to node-2's socket 192\.168\.1\.12:\d+$/);
      expect(ipOf(last.after).src).toBe(clusterIP());
      // KUBE-MARK-MASQ: the node's address is outside the cluster CIDR, so the SYN leaves masqueraded
      // to the address of the device toward the backend (cni0 on the node itself, flannel.1 across).
      const masq = t.hops.find((h) => h.mechanism.title.includes('MASQUERADE'))!;
      expect(ipOf(masq.after).src).toMatch(t.backend!.node === 'node-2' ? /^10\.244\.1\.1$/ : /^10\.244\.1\.0$/);
    }
  });

  it('node → a pod on its own node (flannel): from cni0\'s address, straight over the bridge', () => {
    const pod = pods(defaultScenario).find((p) => p.node === 'node-2')!;
    const t = run(defaultScenario + flowFrom('node-2', `${pod.ip}:80`));
    expect(t.verdict.kind).toBe('delivered');
    expect(ipOf(t.hops[0]!.after).src).toBe('10.244.1.1');
    expect(t.hops.some((h) => h.mechanism.kind === 'vxlan-encap')).toBe(false);
  });

  it('Calico: a node talks to a remote pod from its tunl0 address, through IP-in-IP', () => {
    const text = withCni(defaultScenario, 'calico-ipip');
    const pod = pods(text).find((p) => p.node === 'node-3')!;
    const t = run(text + flowFrom('node-2', `${pod.ip}:80`));
    expect(t.verdict.kind).toBe('delivered');
    expect(ipOf(t.hops[0]!.after).src).toBe('10.244.0.64');
    expect(t.hops.some((h) => h.mechanism.kind === 'ipip-encap')).toBe(true);
  });

  it('Cilium: the host\'s connect() is translated by socket LB too, from the router IP, via cilium_host', () => {
    const text = withCni(defaultScenario, 'cilium-vxlan');
    const t = run(text + flowFrom('node-2', `${clusterIP()}:80`));
    expect(t.verdict.kind).toBe('delivered');
    expect(t.hops[0]!.mechanism.title).toMatch(/^cil_sock4_connect: /);
    const router = loadSnapshot(text, 1).topology.nodes[1]!.interfaces.find((i) => i.name === 'cilium_host')!.address!.split('/')[0];
    expect(ipOf(t.hops[1]!.after).src).toBe(router);
    expect(t.hops.map((h) => h.mechanism.title)).toContainEqual(expect.stringMatching(/^cilium_host: cil_from_host takes .* \(source identity 1\)$/));
  });

  it('a node cannot resolve cluster DNS names, and a Flow from an unknown node is an error', () => {
    const t = run(defaultScenario + flowFrom('node-2', 'my-nginx:80'));
    expect(t.verdict.kind).toBe('unreachable');
    expect(t.verdict.kind !== 'delivered' && t.verdict.message).toContain('not the cluster DNS');
    const s = loadSnapshot(defaultScenario + flowFrom('node-9', '10.0.0.1:80'), 1);
    expect(s.diagnostics.find((d) => d.code === 'PP010')!.message).toContain('no pod or node "node-9"');
  });
});
