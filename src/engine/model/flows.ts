// The podpath Flow kind (podpath.dev/v1alpha1): which client connects to what, with the HTTP request
// it sends and, for the mesh, the load it puts on (fortio's -c / -n) — read from the text and checked
// against the cluster once it is built; without any, one default flow.

import type { FlowSpec, Topology } from '../types.ts';
import { parseIPv4 } from '../util/ipv4.ts';
import type { DocReader, Obj, ObjectMeta } from './objects.ts';

export interface FlowIn {
  meta: ObjectMeta;
  r: DocReader;
  from?: string;
  to?: string;
}

export function readFlow(r: DocReader, meta: ObjectMeta): FlowIn {
  const spec = r.map(meta.raw, 'spec') ?? {};
  return { meta, r, from: r.str(spec, 'from'), to: r.str(spec, 'to') };
}

export function buildFlows(flowsIn: FlowIn[], t: Topology): FlowSpec[] {
  const pods = t.nodes.flatMap((n) => n.pods);
  const flows: FlowSpec[] = [];
  for (const f of flowsIn) {
    const spec = f.meta.raw.spec;
    // "external" (or "external:<IPv4>") is a client outside the cluster, beyond the node network's router.
    const external = f.from === 'external' || (f.from?.startsWith('external:') && parseIPv4(f.from.slice('external:'.length)) !== undefined);
    // A node's name: a process on that node (the kubelet, a curl on the host) is the client.
    const onNode = t.nodes.some((n) => n.name === f.from);
    if (!f.from || (!external && !onNode && !pods.some((p) => p.id === f.from))) {
      f.r.report('PP010', 'error', f.from ? `Flow ${f.meta.name}: no pod or node "${f.from}" (write namespace/name for a pod, a node's name, or "external" for a client outside the cluster).` : `Flow ${f.meta.name} needs spec.from (namespace/pod, or "external").`, spec ?? f.meta.raw, f.from ? 'from' : undefined);
      continue;
    }
    if (!f.to || !/^[^:\s]+:\d{1,5}$/.test(f.to)) {
      f.r.report('PP010', 'error', `Flow ${f.meta.name}: spec.to must be host:port (found ${JSON.stringify(f.to ?? null)}).`, spec ?? f.meta.raw, 'to');
      continue;
    }
    const req = spec && typeof spec === 'object' ? f.r.map(spec as Obj, 'request') : undefined;
    const user = req ? f.r.str(req, 'user') : undefined;
    const http = req ? { method: f.r.str(req, 'method') ?? 'GET', path: f.r.str(req, 'path') ?? '/', headers: Object.fromEntries(Object.entries(f.r.strings(req, 'headers')).map(([k, v]) => [k.toLowerCase(), v])), ...(user ? { user } : {}) } : undefined;
    const loadIn = spec && typeof spec === 'object' ? f.r.map(spec as Obj, 'load') : undefined;
    // fortio's -c and -n; bounded so a typo cannot stall the worker.
    const load = loadIn ? { connections: f.r.int(loadIn, 'connections', 1, 256) ?? 1, requests: f.r.int(loadIn, 'requests', 1, 10_000) ?? 100 } : undefined;
    flows.push({ name: f.meta.name, from: f.from, to: f.to, protocol: 'TCP', ...(http ? { http } : {}), ...(load ? { load } : {}), source: f.meta.source });
  }
  if (flows.length === 0) {
    // Default: from the first pod that backs no Service to the first Service with endpoints.
    const backing = new Set(t.services.flatMap((s) => s.endpoints.map((e) => e.podId)));
    const client = pods.find((p) => !backing.has(p.id)) ?? pods[0];
    const svc = t.services.find((s) => s.endpoints.length && s.clusterIP !== 'None') ?? t.services.find((s) => s.clusterIP !== 'None');
    if (client && svc && svc.ports[0]) {
      const host = svc.namespace === client.namespace ? svc.name : `${svc.name}.${svc.namespace}`;
      flows.push({ name: `${client.name}-to-${svc.name}`, from: client.id, to: `${host}:${svc.ports[0].port}`, protocol: 'TCP' });
    }
  }
  return flows;
}
