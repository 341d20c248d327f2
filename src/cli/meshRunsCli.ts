// `podpath requests` and `podpath load`: a Flow as the mesh sees it (mesh/flowRuns.ts), headless.
//   requests: the request tree in virtual time — every call, Envoy retry and timeout, in order.
//   load:     fortio's summary and the client Envoy's circuit-breaker / outlier stats.

import type { FlowSpec, Topology } from '../engine/types.ts';
import { meshRuns } from '../engine/mesh/flowRuns.ts';

const ms = (v: number) => `${(v / 1000).toFixed(3)} s`;

export function printRequests(t: Topology, flow: FlowSpec, seed: number, json: boolean): number {
  const r = meshRuns(t, flow, seed);
  if (json) {
    console.log(JSON.stringify(r.timeline ?? null, null, 2));
    return r.timeline ? 0 : 3;
  }
  for (const n of r.notes) console.log(`note: ${n}`);
  if (!r.timeline) return 3;
  for (const e of r.timeline.events) console.log(`${ms(e.atMs).padStart(10)}  ${e.text}`);
  console.log(`answer: ${r.timeline.status} after ${ms(r.timeline.durationMs)}`);
  return 0;
}

export function printLoad(t: Topology, flow: FlowSpec, seed: number, json: boolean): number {
  const r = meshRuns(t, flow, seed);
  if (json) {
    console.log(JSON.stringify(r.load ?? null, null, 2));
    return r.load ? 0 : 3;
  }
  for (const n of r.notes) console.log(`note: ${n}`);
  if (!r.load) return 3;
  for (const line of r.load.summary) console.log(line);
  for (const c of r.load.clusters) for (const [k, v] of Object.entries(c.stats)) console.log(`cluster.${c.cluster}.${k}: ${v}`);
  for (const e of r.load.endpoints) console.log(`endpoint ${e.endpoint}${e.pod ? ` (${e.pod})` : ''}: ${e.requests} requests, ${e.errors} 5xx, ${e.ejections.length} ejection(s)`);
  return 0;
}
