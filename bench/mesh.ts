// The mesh beside a trace (mesh/flowRuns.ts): the Bookinfo page's request tree, and fortio load
// through the client's Envoy (mesh/load.ts) at growing sizes — the Istio task's -c 3 -n 30 up to
// -c 64 -n 10000 with and without circuit breakers. Medians and p95 over repeated runs; events per
// ms for the load simulation.
import { performance } from 'node:perf_hooks';
import { loadSnapshot } from '../src/engine/snapshot.ts';
import { meshRuns } from '../src/engine/mesh/flowRuns.ts';
import { bookinfoScenario } from '../src/scenarios/bookinfo.ts';
import { circuitBreakingScenario } from '../src/scenarios/circuitBreaking.ts';
import type { FlowSpec } from '../src/engine/types.ts';
import { ms, summary } from './stats.ts';

function time(run: () => void, reps: number): ReturnType<typeof summary> {
  for (let i = 0; i < 3; i++) run();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    run();
    out.push(performance.now() - t0);
  }
  return summary(out);
}

export function benchMesh(reps = 20): string[] {
  const rows: string[] = [];
  const bi = loadSnapshot(bookinfoScenario, 1);
  const page: FlowSpec = { ...bi.flows[0]!, to: 'productpage:9080', http: { method: 'GET', path: '/productpage', headers: {}, user: 'jason' } };
  const s = time(() => meshRuns(bi.topology, page, 1), reps);
  rows.push(`Bookinfo page as jason (request tree)            median ${ms(s.median)}  p95 ${ms(s.p95)}`);
  const cb = loadSnapshot(circuitBreakingScenario, 1);
  const noBreaker = loadSnapshot(circuitBreakingScenario.replace(/ {4}connectionPool:[\s\S]*?maxRequestsPerConnection: 1\n/, ''), 1);
  for (const [c, n] of [[3, 30], [16, 1000], [64, 10000]] as const) {
    for (const [name, snap] of [['breaker', cb], ['no breaker', noBreaker]] as const) {
      const flow: FlowSpec = { ...snap.flows[0]!, load: { connections: c, requests: n } };
      let codes = '';
      const r = time(() => {
        const out = meshRuns(snap.topology, flow, 1).load!;
        codes = out.codes.map((x) => `${x.status}×${x.count}`).join(' ');
      }, n >= 10000 ? 5 : reps);
      rows.push(`fortio -c ${String(c).padEnd(2)} -n ${String(n).padEnd(5)} ${name.padEnd(10)}                 median ${ms(r.median)}  p95 ${ms(r.p95)}  ${(n / r.median).toFixed(0)} requests/ms  (${codes})`);
    }
  }
  return rows;
}
