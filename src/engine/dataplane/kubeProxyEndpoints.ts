// Which endpoints a node's kube-proxy uses for a Service port, by traffic policy.
// Source: kubernetes pkg/proxy/topology.go (CategorizeEndpoints) and pkg/proxy/serviceport.go
// (UsesClusterEndpoints / UsesLocalEndpoints). Topology-aware hints are not modelled.

import type { KubeProxyEndpoint, KubeProxyServicePort } from './kubeProxyIptables.ts';

export const externallyAccessible = (sp: KubeProxyServicePort) => sp.nodePort !== 0 || sp.loadBalancerVIPs.length > 0 || sp.externalIPs.length > 0;
const externalPolicyLocal = (sp: KubeProxyServicePort) => externallyAccessible(sp) && sp.externalPolicyLocal;
export const usesClusterEndpoints = (sp: KubeProxyServicePort) => !sp.internalPolicyLocal || (externallyAccessible(sp) && !sp.externalPolicyLocal);
export const usesLocalEndpoints = (sp: KubeProxyServicePort) => sp.internalPolicyLocal || externalPolicyLocal(sp);

export interface Categorized {
  cluster: KubeProxyEndpoint[];
  local: KubeProxyEndpoint[];
  allReachable: KubeProxyEndpoint[];
  hasAny: boolean;
}

export function categorizeEndpoints(sp: KubeProxyServicePort, nodeName: string): Categorized {
  const eps = sp.endpoints;
  const isLocal = (e: KubeProxyEndpoint) => e.nodeName === nodeName;
  const servingTerminating = (e: KubeProxyEndpoint) => e.serving && e.terminating;
  let cluster: KubeProxyEndpoint[] = [];
  let local: KubeProxyEndpoint[] = [];
  let hasAny = false;
  if (usesClusterEndpoints(sp)) {
    cluster = eps.filter((e) => e.ready);
    // No ready endpoint anywhere: fall back to serving-and-terminating ones.
    if (cluster.length === 0) cluster = eps.filter(servingTerminating);
    hasAny = cluster.length > 0;
  }
  if (!usesLocalEndpoints(sp)) return { cluster, local, allReachable: cluster, hasAny };
  let localReady = false;
  let localTerminating = false;
  for (const e of eps) {
    if (e.ready) {
      hasAny = true;
      if (isLocal(e)) localReady = true;
    } else if (servingTerminating(e)) {
      hasAny = true;
      if (isLocal(e)) localTerminating = true;
    }
  }
  if (localReady) local = eps.filter((e) => isLocal(e) && e.ready);
  else if (localTerminating) local = eps.filter((e) => isLocal(e) && servingTerminating(e));
  if (!usesClusterEndpoints(sp)) return { cluster, local, allReachable: local, hasAny };
  if (!localTerminating || localReady) return { cluster, local, allReachable: cluster, hasAny };
  // Local serving-terminating endpoints are not in the cluster set: merge.
  const merged = new Map<string, KubeProxyEndpoint>();
  for (const e of [...cluster, ...local]) merged.set(`${e.ip}:${e.port}`, e);
  return { cluster, local, allReachable: [...merged.values()], hasAny };
}
