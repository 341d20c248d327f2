// Does a NetworkPolicy let a new connection through? The API's semantics (networking.k8s.io/v1):
// a pod is isolated for a direction when some policy of its namespace selects it with that
// policyType; an isolated pod accepts a connection only when a rule of one of those policies
// matches both the peer and the port. Policies only add allowances; there is no order and no deny
// rule. Replies of an allowed connection pass (the enforcer is stateful). Ports are matched on the
// destination pod, after the Service's DNAT; a named port is resolved on the destination pod.

import type { NetworkPolicyInfo, PodInfo, PolicyPeer, PolicyPort, Topology } from '../types.ts';
import { ipInCidr } from '../util/ip.ts';
import { formatSelector, selectorMatches } from '../model/networkPolicy.ts';

export interface PolicyDecision {
  allowed: boolean;
  /** The policies that select the pod for this direction (none: the pod is not isolated). */
  selecting: NetworkPolicyInfo[];
  /** The policy and rule (1-based) that allowed it. */
  by?: { policy: NetworkPolicyInfo; rule: number };
}

function peerMatches(t: Topology, policy: NetworkPolicyInfo, peer: PolicyPeer, ip: string, peerPod: PodInfo | undefined): boolean {
  if (peer.ipBlock) return ipInCidr(ip, peer.ipBlock.cidr) && !peer.ipBlock.except.some((c) => ipInCidr(ip, c));
  if (!peerPod) return false; // pod and namespace selectors match pods only
  const nsOk = peer.namespaceSelector ? selectorMatches(peer.namespaceSelector, t.namespaceLabels[peerPod.namespace] ?? {}) : peerPod.namespace === policy.namespace;
  return nsOk && (!peer.podSelector || selectorMatches(peer.podSelector, peerPod.labels));
}

function portMatches(p: PolicyPort, port: number, protocol: string, dest: PodInfo | undefined): boolean {
  if (p.protocol !== protocol) return false;
  if (p.port === undefined) return true;
  if (typeof p.port === 'string') return !!dest?.containers.some((c) => c.ports.some((cp) => cp.name === p.port && cp.containerPort === port && cp.protocol === protocol));
  return p.endPort ? port >= p.port && port <= p.endPort : port === p.port;
}

export function podByIP(t: Topology, ip: string): PodInfo | undefined {
  for (const n of t.nodes) for (const p of n.pods) if (p.ip === ip) return p;
  return undefined;
}

/**
 * The decision for `pod` (the policy's subject) talking with `peerIP`: ingress — the peer is the
 * source and `pod` the destination; egress — `pod` is the source and the peer the destination.
 */
export function decide(t: Topology, direction: 'Ingress' | 'Egress', pod: PodInfo, peerIP: string, port: number, protocol = 'TCP'): PolicyDecision {
  const selecting = t.policies.filter((p) => p.namespace === pod.namespace && p.policyTypes.includes(direction) && selectorMatches(p.podSelector, pod.labels));
  if (selecting.length === 0) return { allowed: true, selecting };
  const peerPod = podByIP(t, peerIP);
  const dest = direction === 'Ingress' ? pod : peerPod;
  for (const policy of selecting) {
    const rules = direction === 'Ingress' ? policy.ingress : policy.egress;
    for (const [i, rule] of rules.entries()) {
      const peerOk = rule.peers === 'all' || rule.peers.some((peer) => peerMatches(t, policy, peer, peerIP, peerPod));
      const portOk = rule.ports === 'all' || rule.ports.some((p) => portMatches(p, port, protocol, dest));
      if (peerOk && portOk) return { allowed: true, selecting, by: { policy, rule: i + 1 } };
    }
  }
  return { allowed: false, selecting };
}

/** "k8snet/default-deny (selects run=my-nginx)" */
export function describePolicy(p: NetworkPolicyInfo): string {
  return `${p.namespace}/${p.name} (selects ${formatSelector(p.podSelector)})`;
}
