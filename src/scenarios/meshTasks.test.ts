// The circuit-breaking and egress-gateway scenarios as the engine reads them.
import { describe, expect, it } from 'vitest';
import { meshRuns } from '../engine/mesh/flowRuns.ts';
import { loadSnapshot } from '../engine/snapshot.ts';
import { traceFlow } from '../engine/trace/trace.ts';
import { circuitBreakingScenario, FORTIO_POD } from './circuitBreaking.ts';
import { CURL_POD, egressGatewayScenario } from './egressGateway.ts';

describe('the Circuit breaking (Istio) scenario', () => {
  const snap = loadSnapshot(circuitBreakingScenario, 1);
  it('loads without errors; its Flow starts at the fortio pod under the name the engine generates', () => {
    expect(snap.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
    expect(snap.topology.nodes.flatMap((n) => n.pods).map((p) => p.name)).toContain(FORTIO_POD);
    expect(snap.flows[0]).toMatchObject({ name: 'fortio-load', load: { connections: 3, requests: 30 } });
  });
  it('fortio -c 3 -n 30 trips the circuit breaker: some 503 UO, as many as the pending overflows', () => {
    const r = meshRuns(snap.topology, snap.flows[0]!, 1).load!;
    const c503 = r.codes.find((c) => c.status === 503)?.count ?? 0;
    expect(c503).toBeGreaterThan(0);
    expect(r.flags.UO).toBe(c503);
    expect(r.clusters[0]!.stats.upstream_rq_pending_overflow).toBe(c503);
  });
});

describe('the Egress gateway (Istio) scenario', () => {
  const snap = loadSnapshot(egressGatewayScenario, 1);
  it('loads without errors; podpath adds the egress gateway; the Flow starts at the curl pod', () => {
    expect(snap.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
    const pods = snap.topology.nodes.flatMap((n) => n.pods);
    expect(pods.map((p) => p.name)).toContain(CURL_POD);
    expect(pods.some((p) => p.namespace === 'istio-system' && p.labels.istio === 'egressgateway')).toBe(true);
  });
  it('the request leaves through the egress gateway', () => {
    const t = traceFlow(snap.topology, snap.flows[0]!, 1);
    expect(t.verdict.kind).toBe('delivered');
    expect(t.verdict.message).toMatch(/^The egress gateway istio-egressgateway-\S+ routed GET edition\.cnn\.com\/politics to outbound\|80\|\|edition\.cnn\.com/);
  });
});

describe('the egress gateway in the request tree', () => {
  it('the sidecar calls the gateway, whose Envoy calls edition.cnn.com: two hops of routing', () => {
    const snap = loadSnapshot(egressGatewayScenario, 1);
    const r = meshRuns(snap.topology, snap.flows[0]!, 1).timeline!;
    expect(r.status).toBe(200);
    const tries = r.root.attempts[0]!.tries;
    expect(r.root.attempts[0]!.cluster).toBe('outbound|80|cnn|istio-egressgateway.istio-system.svc.cluster.local');
    const onward = tries[0]!.server!.calls[0]!;
    expect(onward.attempts[0]!.cluster).toBe('outbound|80||edition.cnn.com');
    expect(r.events.map((e) => e.text).join('\n')).toMatch(/an Istio gateway\) receives GET edition\.cnn\.com\/politics/);
  });
});
