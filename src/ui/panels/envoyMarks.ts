// Which sidecar the Envoy panel shows, and which rows of its configuration the selected hop used.
// Pure (unit-tested in Node).
import { ids } from '../../engine/ids.ts';
import type { ProxyConfig, ProxyConfigView } from '../../engine/mesh/proxyConfig.ts';
import type { Hop, PodInfo, Topology } from '../../engine/types.ts';

/** The pod a diagram element belongs to (the pod itself, its eth0 or its istio-proxy). */
export function podAt(topology: Topology, at: string): PodInfo | undefined {
  for (const node of topology.nodes) {
    for (const pod of node.pods) if (at === ids.sidecar(pod.id) || at === ids.podEth0(pod.id) || at === ids.pod(pod.id)) return pod;
  }
  return undefined;
}

/** A flow's client pod ("namespace/name"), when the flow starts at a pod. */
export function flowPod(topology: Topology, from: string | undefined): PodInfo | undefined {
  if (!from) return undefined;
  return topology.nodes.flatMap((n) => n.pods).find((p) => `${p.namespace}/${p.name}` === from);
}

/** Row indexes (into the config's lists, i.e. the tables' rows) per view. */
export type EnvoyMarks = Record<ProxyConfigView, Set<number>>;

const none = (): EnvoyMarks => ({ listeners: new Set(), routes: new Set(), clusters: new Set(), endpoints: new Set() });

const CLUSTER = /\b(?:outbound|inbound)\|\d+\|[^|\s]*\|[A-Za-z0-9.-]*/g;
const ENDPOINT = /\b\d{1,3}(?:\.\d{1,3}){3}:\d+\b/g;

/**
 * The rows an Envoy hop at this sidecar went through, from what the hop names: its clusters
 * ("outbound|9080|v2|reviews…", "inbound|9080||"), the route configuration it looked up, and the
 * endpoint in its title. Other hops mark nothing.
 */
export function envoyMarks(config: ProxyConfig, hop: Hop | undefined): EnvoyMarks {
  const marks = none();
  // A sidecar's hops are at its istio-proxy box; an Istio gateway's at the gateway pod itself.
  if (!hop || hop.mechanism.kind !== 'envoy' || (hop.at !== ids.sidecar(config.pod) && hop.at !== ids.pod(config.pod))) return marks;
  const text = `${hop.mechanism.title} ${hop.mechanism.detail}`;
  const clusters = new Set([...text.matchAll(CLUSTER)].map((m) => m[0].replace(/\.+$/, '')));
  const routeConfigs = new Set([...text.matchAll(/route configuration "([^"]+)"/g)].map((m) => m[1]!));
  const endpoints = new Set([...hop.mechanism.title.matchAll(ENDPOINT)].map((m) => m[0]));
  config.listeners.forEach((l, i) => {
    const to = l.destination.replace(/^(Route|Cluster): /, '');
    if ((l.destination.startsWith('Route: ') && routeConfigs.has(to)) || (l.destination.startsWith('Cluster: ') && clusters.has(to))) marks.listeners.add(i);
  });
  config.routes.forEach((r, i) => {
    const targets = r.destination.split(/[;,] /).map((d) => d.replace(/ \(weight \d+\)$/, ''));
    if ((routeConfigs.size === 0 || routeConfigs.has(r.name) || r.name.startsWith('inbound|')) && targets.some((d) => clusters.has(d))) marks.routes.add(i);
  });
  config.clusters.forEach((c, i) => {
    if (clusters.has(c.name)) marks.clusters.add(i);
  });
  config.endpoints.forEach((e, i) => {
    if (clusters.has(e.cluster) && (endpoints.size === 0 || endpoints.has(e.endpoint))) marks.endpoints.add(i);
  });
  return marks;
}
