// `podpath requests` and `podpath load`: a Flow as the mesh sees it (mesh/flowRuns.ts), headless.
//   requests: the request tree in virtual time — every call, Envoy retry and timeout, in order.
//   load:     fortio's summary and the client Envoy's circuit-breaker / outlier stats.

import type { FlowSpec, Topology } from '../engine/types.ts';
import { meshRuns, type MeshRuns } from '../engine/mesh/flowRuns.ts';

const secs = (v: number) => `${(v / 1000).toFixed(3)} s`;

/** One part of the mesh runs: as JSON, or its notes then `print`; exit code 3 when the part is missing. */
function show<K extends 'timeline' | 'load'>(t: Topology, flow: FlowSpec, seed: number, json: boolean, part: K, print: (v: NonNullable<MeshRuns[K]>) => void): number {
  const r = meshRuns(t, flow, seed);
  const v = r[part];
  if (json) console.log(JSON.stringify(v ?? null, null, 2));
  else {
    for (const n of r.notes) console.log(`note: ${n}`);
    if (v) print(v as NonNullable<MeshRuns[K]>);
  }
  return v ? 0 : 3;
}

export const printRequests = (t: Topology, flow: FlowSpec, seed: number, json: boolean) =>
  show(t, flow, seed, json, 'timeline', (tl) => {
    for (const e of tl.events) console.log(`${secs(e.atMs).padStart(10)}  ${e.text}`);
    console.log(`answer: ${tl.status} after ${secs(tl.durationMs)}`);
  });

export const printLoad = (t: Topology, flow: FlowSpec, seed: number, json: boolean) =>
  show(t, flow, seed, json, 'load', (l) => {
    for (const line of l.summary) console.log(line);
    for (const c of l.clusters) for (const [k, v] of Object.entries(c.stats)) console.log(`cluster.${c.cluster}.${k}: ${v}`);
    for (const e of l.endpoints) console.log(`endpoint ${e.endpoint}${e.pod ? ` (${e.pod})` : ''}: ${e.requests} requests, ${e.errors} 5xx, ${e.ejections.length} ejection(s)`);
  });
