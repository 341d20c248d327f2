// The scenario as the engine reads it. (That it carries Istio's sample files verbatim is checked in
// src/engine/mesh/proxyConfig.test.ts, which may read files: this folder is type-checked without Node.)
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../engine/snapshot.ts';
import { traceFlow } from '../engine/trace/trace.ts';
import { BOOKINFO_PRODUCTPAGE_POD, bookinfoScenario, withReviewsVirtualService } from './bookinfo.ts';

describe('the Bookinfo (Istio) scenario', () => {
  const snap = loadSnapshot(bookinfoScenario, 1);
  const pods = snap.topology.nodes.flatMap((n) => n.pods);

  it('loads without errors: six pods, every one with an istio-proxy sidecar, four Services on three nodes', () => {
    expect(snap.failed).toBe(false);
    expect(snap.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
    expect(snap.topology.nodes).toHaveLength(3);
    expect(pods).toHaveLength(6);
    expect(pods.every((p) => p.sidecar && p.containers.some((c) => c.name === 'istio-proxy'))).toBe(true);
    expect(snap.topology.namespaceLabels.default?.['istio-injection']).toBe('enabled');
    expect(snap.topology.services.map((s) => s.name).sort()).toEqual(['details', 'productpage', 'ratings', 'reviews']);
  });

  it('the Flow starts at the productpage pod under the name the engine generates for it', () => {
    const productpage = pods.find((p) => p.owner === 'Deployment default/productpage-v1')!;
    expect(productpage.name).toBe(BOOKINFO_PRODUCTPAGE_POD);
    expect(snap.flows).toEqual([expect.objectContaining({ name: 'jason', from: `default/${BOOKINFO_PRODUCTPAGE_POD}`, to: 'reviews:9080', http: { method: 'GET', path: '/reviews/0', headers: { 'end-user': 'jason' } } })]);
  });

  it('ends with the reviews VirtualService, the only one of that name', () => {
    const reviewsVs = 'kind: VirtualService\nmetadata:\n  name: reviews\n';
    expect(bookinfoScenario.slice(bookinfoScenario.lastIndexOf('\n---\n'))).toContain(reviewsVs);
    expect(bookinfoScenario.split(reviewsVs)).toHaveLength(2);
  });

  it('jason goes to reviews v2 through both sidecars; replacing the last document changes the rule', () => {
    const trace = traceFlow(snap.topology, snap.flows[0]!, 1);
    expect(trace.verdict.kind).toBe('delivered');
    expect(trace.verdict.message).toMatch(/^HTTP 200: .* to outbound\|9080\|v2\|reviews\.default\.svc\.cluster\.local/);
    const v3 = loadSnapshot(withReviewsVirtualService('apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec: {hosts: [reviews], http: [{route: [{destination: {host: reviews, subset: v3}}]}]}\n'), 1);
    expect(v3.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(traceFlow(v3.topology, v3.flows[0]!, 1).verdict.message).toContain('outbound|9080|v3|reviews');
  });
});
