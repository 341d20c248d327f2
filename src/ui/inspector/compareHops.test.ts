import { describe, expect, it } from 'vitest';
import { loadSnapshot, traceFlow } from '../../engine/index.ts';
import type { Hop, MechanismKind } from '../../engine/types.ts';
import { withCni } from '../../scenarios/cniDocs.ts';
import { defaultScenario } from '../../scenarios/default.ts';
import { differentBackendNodes, kindsOnlyHere } from './compareHops.ts';

const hop = (direction: Hop['direction'], kind: MechanismKind) => ({ direction, mechanism: { kind } });

describe('kindsOnlyHere', () => {
  it('marks the hops whose kind the other trace lacks, not the ones that only differ in order or count', () => {
    const flannel = [hop('request', 'veth'), hop('request', 'bridge'), hop('request', 'route'), hop('request', 'vxlan-encap'), hop('request', 'route')];
    const calico = [hop('request', 'veth'), hop('request', 'route'), hop('request', 'ipip-encap')];
    expect(kindsOnlyHere(flannel, calico)).toEqual([false, true, false, true, false]);
    expect(kindsOnlyHere(calico, flannel)).toEqual([false, false, true]);
  });

  it('compares request with request and reply with reply', () => {
    const mine = [hop('request', 'bridge'), hop('reply', 'bridge')];
    expect(kindsOnlyHere(mine, [hop('request', 'bridge')])).toEqual([false, true]);
  });

  it('marks nothing between two traces with the same kinds', () => {
    const t = [hop('request', 'socket'), hop('reply', 'deliver')];
    expect(kindsOnlyHere(t, [...t].reverse())).toEqual([false, false]);
  });

  it('on the default scenario, flannel VXLAN against Calico IP-in-IP from a client on node-1: encapsulations and the bridge differ', () => {
    // A client on the control-plane node, so that every backend is on another node on both sides.
    const text = `${defaultScenario}---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: k8snet}
spec: {nodeName: node-1, containers: [{name: client, image: busybox}]}
`;
    const flow = { name: 'f', from: 'k8snet/client', to: 'my-nginx:80', protocol: 'TCP' as const };
    const trace = (t: string) => traceFlow(loadSnapshot(t, 1).topology, flow, 1);
    const flannel = trace(text);
    const calico = trace(withCni(text, 'calico-ipip'));
    const only = (mine: Hop[], other: Hop[]) => [...new Set(mine.filter((_, i) => kindsOnlyHere(mine, other)[i]).map(keyOfHop))].sort();
    expect(only(flannel.hops, calico.hops)).toEqual(['reply bridge', 'reply vxlan-decap', 'reply vxlan-encap', 'request bridge', 'request vxlan-decap', 'request vxlan-encap']);
    expect(only(calico.hops, flannel.hops)).toEqual(['reply ipip-decap', 'reply ipip-encap', 'request ipip-decap', 'request ipip-encap']);
  });
});

const keyOfHop = (h: Hop) => `${h.direction} ${h.mechanism.kind}`;

describe('differentBackendNodes', () => {
  const at = (node: string, client = 'node-2') => ({ hops: [{ node: client }], backend: { podId: 'ns/p', ip: '10.0.0.1', port: 80, node } });

  it('names both nodes when the backends are on different nodes, and says when one path stays on the client’s node', () => {
    expect(differentBackendNodes(at('node-3'), at('node-2'))).toEqual({ mine: 'node-3', other: 'node-2', oneStaysOnNode: true });
    expect(differentBackendNodes(at('node-3', 'node-1'), at('node-2', 'node-1'))).toEqual({ mine: 'node-3', other: 'node-2', oneStaysOnNode: false });
  });

  it('is null on the same node, or when a side reached no backend', () => {
    expect(differentBackendNodes(at('node-2'), at('node-2'))).toBeNull();
    expect(differentBackendNodes(at('node-2'), { hops: [] })).toBeNull();
  });

  it('the default scenario, seed 1: flannel reaches node-3, Calico IP-in-IP node-2 where the client is (endpoints sorted by address)', () => {
    const trace = (t: string) => {
      const s = loadSnapshot(t, 1);
      return traceFlow(s.topology, s.flows[0]!, 1);
    };
    expect(differentBackendNodes(trace(defaultScenario), trace(withCni(defaultScenario, 'calico-ipip')))).toEqual({ mine: 'node-3', other: 'node-2', oneStaysOnNode: true });
  });
});
