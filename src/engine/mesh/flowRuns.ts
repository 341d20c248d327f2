// A Flow seen as the mesh sees it, beside its packet trace: the whole request tree in virtual time
// (mesh/calls.ts — every downstream call, timeout and retry, so a page's 6 s are explained), and,
// when the Flow asks for load, fortio's many requests through the client's Envoy (mesh/load.ts —
// circuit breakers and outlier detection). Both start where the trace starts: a pod's app behind
// its sidecar, the ingress gateway for a client outside, or a client with no Envoy at all.

import type { FlowSpec, Topology } from '../types.ts';
import { createPrng } from '../util/prng.ts';
import { simulateRequest, type Entry, type SimResult } from './calls.ts';
import { DEFAULT_HOP_MS, simulateLoad, type LoadResult } from './load.ts';
import { gatewaysOf, isTcpPort, selects } from './routing.ts';

export interface MeshRuns {
  /** The request tree; undefined when the flow touches no Envoy (no sidecar, no gateway on its way). */
  timeline?: SimResult;
  load?: LoadResult;
  /** Why a part is missing, in words for the user. */
  notes: string[];
}

function entryOf(t: Topology, flow: FlowSpec): { entry: Entry; host: string; port: number } | undefined {
  const i = flow.to.lastIndexOf(':');
  const host = flow.to.slice(0, i);
  const port = Number(flow.to.slice(i + 1));
  const pods = t.nodes.flatMap((n) => n.pods);
  const client = pods.find((p) => p.id === flow.from);
  if (client) return { entry: client.sidecar ? { kind: 'sidecar', pod: client } : { kind: 'direct', namespace: client.namespace }, host, port };
  if (!flow.from.startsWith('external')) return undefined;
  // From outside: through a NodePort or load-balancer IP of a Service whose pods an Istio Gateway selects.
  const node = t.nodes.find((n) => n.name === host || n.ip === host);
  const svc = t.services.find((s) => s.ports.some((p) => (node ? p.nodePort === port : s.loadBalancerIPs.includes(host) && p.port === port)));
  const sp = svc?.ports.find((p) => (node ? p.nodePort === port : p.port === port));
  const gw = svc && pods.find((p) => p.namespace === svc.namespace && selects(svc.selector, p.labels));
  if (!svc || !sp || !gw || !gatewaysOf(t, gw.labels).length) return undefined;
  const target = typeof sp.targetPort === 'number' ? sp.targetPort : (gw.containers.flatMap((c) => c.ports).find((p) => p.name === sp.targetPort)?.containerPort ?? sp.port);
  return { entry: { kind: 'gateway', namespace: gw.namespace, labels: gw.labels }, host: flow.http?.headers.host ?? host, port: target };
}

export function meshRuns(t: Topology, flow: FlowSpec, seed: number): MeshRuns {
  const notes: string[] = [];
  const e = entryOf(t, flow);
  if (!e) return { notes: ['This flow starts at no pod and at no Istio ingress gateway: there is no request tree to show.'] };
  if (e.entry.kind !== 'gateway' && isTcpPort(t, e.host, e.port, e.entry.kind === 'sidecar' ? e.entry.pod.namespace : e.entry.namespace)) {
    return { notes: ['This flow is a TCP connection (its Service port carries TCP): Envoy relays bytes with tcp_proxy, so there are no HTTP requests, timeouts or retries to follow — the trace shows the route.'] };
  }
  const request = { host: e.host, port: e.port, path: flow.http?.path ?? '/', method: flow.http?.method ?? 'GET', headers: flow.http?.headers ?? {}, ...(flow.http?.user ? { user: flow.http.user } : {}) };
  const hasMesh = e.entry.kind !== 'direct' || t.nodes.some((n) => n.pods.some((p) => p.sidecar));
  const timeline = hasMesh ? simulateRequest(t, e.entry, request, createPrng(seed)) : undefined;
  if (!hasMesh) notes.push('No pod has an Istio sidecar: no Envoy routes, times out or retries this request.');
  let load: LoadResult | undefined;
  if (flow.load) {
    if (e.entry.kind === 'direct') notes.push('Load needs a client behind an Envoy (a pod with a sidecar, or the ingress gateway): circuit breakers and outlier detection live in the client\'s proxy.');
    else load = simulateLoad(t, e.entry, request, { ...flow.load, hopMs: DEFAULT_HOP_MS }, createPrng(seed));
  }
  return { ...(timeline ? { timeline } : {}), ...(load ? { load } : {}), notes };
}
