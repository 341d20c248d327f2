// proxy-config clusters and endpoints: the Envoy clusters istiod gives a sidecar and the endpoints
// of each (see proxyConfig.ts), from the same DestinationRules and Service endpoints mesh/routing.ts
// picks a backend with.
//
// Sources (istio/istio):
// - pilot/pkg/networking/core/cluster.go and cluster_builder.go (outbound|<port>||<fqdn> per
//   service port, outbound|<port>|<subset>|<fqdn> per DestinationRule subset, inbound|<port>||,
//   BlackHoleCluster, PassthroughCluster, InboundPassthroughCluster; the load balancer from the
//   DestinationRule, the subset's traffic policy merged over it field by field — MergeTrafficPolicy;
//   default LEAST_REQUEST since Istio 1.14), pilot/pkg/model/service.go (BuildSubsetKey).

import type { DestinationRuleInfo, PodInfo, Topology, TrafficPolicyInfo } from '../types.ts';
import { cmp, inboundPorts, ref, type ClusterType, type RegistryHost } from './proxyRegistry.ts';
import { destinationRuleFor, mergePolicy } from './routing.ts';

export interface ClusterRow {
  /** The Envoy cluster's name: outbound|9080|v2|reviews.default.svc.cluster.local, inbound|9080||, BlackHoleCluster … */
  name: string;
  /** The service's FQDN; the name itself for a cluster without a service; "" for an inbound cluster. */
  fqdn: string;
  port: number | undefined;
  subset: string;
  direction: 'outbound' | 'inbound' | '';
  type: ClusterType;
  /** "name.namespace" of the DestinationRule applied; "" when none. */
  destinationRule: string;
  /** Envoy's lb_policy ("" for clusters without endpoints to balance). */
  lbPolicy: string;
}

export interface EndpointRow {
  /** ip:port */
  endpoint: string;
  status: 'HEALTHY';
  outlierCheck: 'OK';
  cluster: string;
  /** The pod behind the endpoint ("namespace/name"), when podpath knows it. */
  pod?: string;
}

/** Envoy's lb_policy for a DestinationRule loadBalancer (cluster_traffic_policy.go applyLoadBalancer). */
function envoyLbPolicy(simple: string | undefined): string {
  switch (simple) {
    case 'ROUND_ROBIN':
      return 'ROUND_ROBIN';
    case 'RANDOM':
      return 'RANDOM';
    case 'PASSTHROUGH':
      return 'CLUSTER_PROVIDED';
    case 'CONSISTENT_HASH':
      return 'RING_HASH';
    default:
      // LEAST_CONN, LEAST_REQUEST, UNSPECIFIED and no policy at all: LEAST_REQUEST.
      return 'LEAST_REQUEST';
  }
}

/** MergeTrafficPolicy: the subset's policy replaces the rule's field by field (here: the load balancer). */
function mergedPolicy(dr: DestinationRuleInfo | undefined, subset?: string): TrafficPolicyInfo | undefined {
  const sub = subset ? dr?.subsets.find((s) => s.name === subset)?.trafficPolicy : undefined;
  return mergePolicy(dr?.trafficPolicy, sub);
}

export function clusters(t: Topology, pod: PodInfo, hosts: RegistryHost[]): ClusterRow[] {
  const rows: ClusterRow[] = [];
  for (const h of hosts) {
    const dr = destinationRuleFor(t, h.fqdn, pod.namespace, h.namespace);
    const lb = (subset?: string) => (h.type === 'ORIGINAL_DST' ? 'CLUSTER_PROVIDED' : envoyLbPolicy(mergedPolicy(dr, subset)?.loadBalancer));
    for (const p of h.ports) {
      rows.push({ name: `outbound|${p.port}||${h.fqdn}`, fqdn: h.fqdn, port: p.port, subset: '', direction: 'outbound', type: h.type, destinationRule: dr ? ref(dr) : '', lbPolicy: lb() });
      for (const s of dr?.subsets ?? []) {
        rows.push({ name: `outbound|${p.port}|${s.name}|${h.fqdn}`, fqdn: h.fqdn, port: p.port, subset: s.name, direction: 'outbound', type: h.type, destinationRule: ref(dr!), lbPolicy: lb(s.name) });
      }
    }
  }
  for (const ip of inboundPorts(t, pod)) rows.push({ name: `inbound|${ip.port}||`, fqdn: '', port: ip.port, subset: '', direction: 'inbound', type: 'ORIGINAL_DST', destinationRule: '', lbPolicy: 'CLUSTER_PROVIDED' });
  const fixed = (name: string, type: ClusterRow['type'], lbPolicy = '') => rows.push({ name, fqdn: name, port: undefined, subset: '', direction: '', type, destinationRule: '', lbPolicy });
  fixed('BlackHoleCluster', 'STATIC');
  fixed('InboundPassthroughCluster', 'ORIGINAL_DST', 'CLUSTER_PROVIDED');
  fixed('PassthroughCluster', 'ORIGINAL_DST', 'CLUSTER_PROVIDED');
  fixed('agent', 'STATIC');
  fixed('prometheus_stats', 'STATIC');
  fixed('sds-grpc', 'STATIC');
  fixed('xds-grpc', 'STATIC');
  // istioctl sorts by FQDN, port, subset, direction (byte order: upper case first).
  return rows.sort((a, b) => cmp(a.fqdn, b.fqdn) || (a.port ?? 0) - (b.port ?? 0) || cmp(a.subset, b.subset) || cmp(a.direction, b.direction));
}

export function endpoints(t: Topology, pod: PodInfo, hosts: RegistryHost[]): EndpointRow[] {
  const rows: EndpointRow[] = [];
  for (const h of hosts) {
    const dr = destinationRuleFor(t, h.fqdn, pod.namespace, h.namespace);
    for (const p of h.ports) {
      const eps = h.endpoints(p.port);
      // A subset's cluster keeps the endpoints whose pod (or ServiceEntry endpoint) has its labels.
      const add = (cluster: string, labels: Record<string, string>) => {
        for (const e of eps) {
          if (!Object.entries(labels).every(([k, v]) => e.labels[k] === v)) continue;
          rows.push({ endpoint: `${e.ip}:${e.port}`, status: 'HEALTHY', outlierCheck: 'OK', cluster, ...(e.pod ? { pod: e.pod } : {}) });
        }
      };
      add(`outbound|${p.port}||${h.fqdn}`, {});
      for (const s of dr?.subsets ?? []) add(`outbound|${p.port}|${s.name}|${h.fqdn}`, s.labels);
    }
  }
  // By service, port and subset (the whole service's cluster first), then by address.
  const key = (r: EndpointRow) => {
    const [, port, subset, fqdn] = r.cluster.split('|');
    return { fqdn: fqdn!, port: Number(port), subset: subset! };
  };
  return rows.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return cmp(ka.fqdn, kb.fqdn) || ka.port - kb.port || cmp(ka.subset, kb.subset) || cmpEndpoint(a.endpoint, b.endpoint);
  });
}

/** ip:port by number (10.244.1.2 before 10.244.1.10). */
function cmpEndpoint(a: string, b: string): number {
  const n = (s: string) => s.split(/[.:]/).map(Number);
  const x = n(a);
  const y = n(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return cmp(a, b);
}
