// What `istioctl proxy-config listeners|routes|clusters|endpoints <pod>` would show for a sidecar:
// the Envoy configuration istiod builds for that pod, derived from the same Services,
// VirtualServices and DestinationRules that mesh/routing.ts routes a request with (and with its
// helpers), so the tables and the trace cannot disagree on a route, a cluster or an endpoint.
// Pure and deterministic: no DOM, no clock; rows in a stable order.
//
// One file per view: proxyListeners.ts, proxyRoutes.ts, proxyClusters.ts (clusters and
// endpoints), over the service registry of proxyRegistry.ts; each names its sources in istio/istio.
// Here: the public entry, the tables as istioctl/pkg/writer/envoy/configdump prints them (the
// columns and their order).
// Not modelled: Sidecar resources and exportTo (every object is visible everywhere, as in
// routing.ts), headless per-endpoint listeners, UDP ports (Istio builds nothing for them), DNS
// resolution on the Internet (a ServiceEntry DNS host's endpoint is routing.ts's TEST-NET-1 stand-in).
// An Istio gateway pod's own Envoy: proxyGateway.ts.

import type { PodInfo, Topology } from '../types.ts';
import { clusters, endpoints, type ClusterRow, type EndpointRow } from './proxyClusters.ts';
import { listeners, type ListenerRow } from './proxyListeners.ts';
import { cmp, registry } from './proxyRegistry.ts';
import { routes, type RouteRow } from './proxyRoutes.ts';
import { gatewayProxyConfig } from './proxyGateway.ts';
import { gatewaysOf } from './routing.ts';

export type { ClusterRow, EndpointRow } from './proxyClusters.ts';
export type { ListenerRow } from './proxyListeners.ts';
export { portProtocol, virtualHostDomains } from './proxyRegistry.ts';
export { describeMatchBlock, virtualServiceFor, type RouteRow } from './proxyRoutes.ts';

export type ProxyConfigView = 'listeners' | 'routes' | 'clusters' | 'endpoints';
export const PROXY_CONFIG_VIEWS: readonly ProxyConfigView[] = ['listeners', 'routes', 'clusters', 'endpoints'];

export interface ProxyConfig {
  /** "namespace/name" of the sidecar's pod. */
  pod: string;
  listeners: ListenerRow[];
  routes: RouteRow[];
  clusters: ClusterRow[];
  endpoints: EndpointRow[];
}

/** A view as a table: istioctl's column names and the rows as text. */
export interface ConfigTable {
  columns: string[];
  rows: string[][];
}

/** The pod a reference names: "namespace/name", or a pod's id. */
export function findPod(t: Topology, podRef: string): PodInfo | undefined {
  const pods = t.nodes.flatMap((n) => n.pods);
  return pods.find((p) => p.id === podRef) ?? pods.find((p) => `${p.namespace}/${p.name}` === podRef);
}

/** The Envoy configuration istiod would give this pod's sidecar, or the pod itself when it is an Istio gateway. */
export function proxyConfig(t: Topology, pod: PodInfo): ProxyConfig {
  // An Istio gateway's own Envoy (no sidecar): its Gateway servers' listeners and routes (proxyGateway.ts).
  if (!pod.sidecar && gatewaysOf(t, pod.labels).length) return { pod: `${pod.namespace}/${pod.name}`, ...gatewayProxyConfig(t, pod) };
  const hosts = registry(t);
  return { pod: `${pod.namespace}/${pod.name}`, listeners: listeners(t, pod, hosts), routes: routes(t, pod, hosts), clusters: clusters(t, pod, hosts), endpoints: endpoints(t, pod, hosts) };
}

/**
 * The DOMAINS cell as istioctl abbreviates it (configdump route.go describeRouteDomains): the
 * shortest name that is no address, and how many more there are.
 */
export function describeDomains(domains: string[]): string {
  if (domains.length <= 1) return domains[0] ?? '';
  const names = domains.filter((d) => !/^[\d.:]+$/.test(d)).sort((a, b) => a.length - b.length || cmp(a, b));
  const first = names[0] ?? domains[0]!;
  return `${first} + ${domains.length - 1} more...`;
}

/** One view as istioctl's table: its column names, and the added ones podpath shows. */
export function proxyConfigTable(cfg: ProxyConfig, view: ProxyConfigView): ConfigTable {
  const dash = (s: string) => s || '-';
  switch (view) {
    case 'listeners':
      return { columns: ['ADDRESSES', 'PORT', 'MATCH', 'DESTINATION', 'LISTENER'], rows: cfg.listeners.map((l) => [l.address, String(l.port), l.match, l.destination, l.name]) };
    case 'routes':
      return { columns: ['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'DESTINATION', 'VIRTUAL SERVICE'], rows: cfg.routes.map((r) => [r.name, r.vhost, describeDomains(r.domains), r.match, r.destination, r.virtualService]) };
    case 'clusters':
      return { columns: ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE', 'LB POLICY'], rows: cfg.clusters.map((c) => [c.fqdn, c.port === undefined ? '-' : String(c.port), dash(c.subset), dash(c.direction), c.type, c.destinationRule, c.lbPolicy]) };
    case 'endpoints':
      return { columns: ['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'], rows: cfg.endpoints.map((e) => [e.endpoint, e.status, e.outlierCheck, e.cluster]) };
  }
}

/** The table as istioctl prints it (text/tabwriter: columns padded to their widest cell, 5 spaces apart). */
export function formatTable(table: ConfigTable): string {
  const all = [table.columns, ...table.rows];
  const widths = table.columns.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 5))).join('').trimEnd()).join('\n') + '\n';
}
