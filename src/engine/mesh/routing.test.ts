import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../snapshot.ts';
import { createPrng } from '../util/prng.ts';
import { routeRequest, type MeshDecision, type MeshRequest, type Proxy } from './routing.ts';

const bookinfo = readFileSync(new URL('../../../../shared/conformance/istio/bookinfo/bookinfo.yaml', import.meta.url), 'utf8');
const rules = (text: string) => {
  const s = loadSnapshot(`${bookinfo}\n---\n${text}`, 1);
  expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return s.topology;
};
const dr = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
`;
const vs = (http: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
${http}`;
const req = (headers: Record<string, string> = {}, path = '/'): MeshRequest => ({ host: 'reviews', port: 9080, path, method: 'GET', headers });
const from = (t: ReturnType<typeof rules>, deployment: string): Proxy => ({ kind: 'sidecar', pod: t.nodes.flatMap((n) => n.pods).find((p) => p.owner === `Deployment default/${deployment}`)! });
const subsetOf = (d: MeshDecision) => (d.ok ? d.subset : `${d.status} ${d.flag}`);

describe('Envoy routing as Istio configures it', () => {
  it('first matching http route wins; a header match is exact and case-sensitive; the cluster is outbound|port|subset|fqdn', () => {
    const t = rules(`${dr}---\n${vs('  - match: [{headers: {end-user: {exact: jason}}}]\n    route: [{destination: {host: reviews, subset: v2}}]\n  - route: [{destination: {host: reviews, subset: v1}}]\n')}`);
    const p = from(t, 'productpage-v1');
    const jason = routeRequest(t, p, req({ 'end-user': 'jason' }), createPrng(1));
    expect(jason.ok && jason.cluster).toBe('outbound|9080|v2|reviews.default.svc.cluster.local');
    expect(jason.ok && jason.route).toEqual({ index: 1, match: 1 });
    expect(subsetOf(routeRequest(t, p, req({ 'end-user': 'Jason' }), createPrng(1)))).toBe('v1');
    expect(subsetOf(routeRequest(t, p, req(), createPrng(1)))).toBe('v1');
  });

  it('match blocks are ORed, conditions inside one block ANDed; uri prefix and regex; sourceLabels', () => {
    const t = rules(`${dr}---\n${vs(`  - match:
    - {uri: {prefix: /api}, headers: {x-canary: {exact: "1"}}}
    - {uri: {regex: "/v3/[0-9]+"}}
    route: [{destination: {host: reviews, subset: v3}}]
  - match: [{sourceLabels: {app: ratings}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - route: [{destination: {host: reviews, subset: v1}}]
`)}`);
    const p = from(t, 'productpage-v1');
    expect(subsetOf(routeRequest(t, p, req({ 'x-canary': '1' }, '/api/x'), createPrng(1)))).toBe('v3');
    expect(subsetOf(routeRequest(t, p, req({}, '/api/x'), createPrng(1)))).toBe('v1'); // AND: header missing
    expect(subsetOf(routeRequest(t, p, req({}, '/v3/42'), createPrng(1)))).toBe('v3'); // OR: second block
    expect(subsetOf(routeRequest(t, p, req({}, '/v3/42x'), createPrng(1)))).toBe('v1'); // regex is a full match
    expect(subsetOf(routeRequest(t, from(t, 'ratings-v1'), req(), createPrng(1)))).toBe('v2');
  });

  it('weights are drawn per request: 80/20 over many seeds', () => {
    const t = rules(`${dr}---\n${vs('  - route:\n    - {destination: {host: reviews, subset: v1}, weight: 80}\n    - {destination: {host: reviews, subset: v2}, weight: 20}\n')}`);
    const p = from(t, 'productpage-v1');
    let v2 = 0;
    for (let s = 0; s < 4000; s++) if (subsetOf(routeRequest(t, p, req(), createPrng(s))) === 'v2') v2++;
    expect(v2 / 4000).toBeGreaterThan(0.17);
    expect(v2 / 4000).toBeLessThan(0.23);
  });

  it('a subset no DestinationRule defines: no cluster, 503 NC; endpoints only from the subset', () => {
    const t = rules(vs('  - route: [{destination: {host: reviews, subset: v2}}]\n'));
    const d = routeRequest(t, from(t, 'productpage-v1'), req(), createPrng(1));
    expect(d).toMatchObject({ ok: false, status: 503, flag: 'NC' });
    const t2 = rules(`${dr}---\n${vs('  - route: [{destination: {host: reviews, subset: v2}}]\n')}`);
    const d2 = routeRequest(t2, from(t2, 'productpage-v1'), req(), createPrng(1));
    const pods = t2.nodes.flatMap((n) => n.pods);
    expect(d2.ok && d2.endpoints.map((e) => pods.find((p) => p.id === e.podId)!.labels.version)).toEqual(['v2']);
    expect(d2.ok && d2.loadBalancer).toBe('LEAST_REQUEST');
  });

  it('faults: a delay at 100% always, an abort at 0% never (an unset percentage injects nothing)', () => {
    const t = rules(`${dr}---\n${vs('  - fault: {delay: {fixedDelay: 7s, percentage: {value: 100}}, abort: {httpStatus: 500}}\n    route: [{destination: {host: reviews, subset: v1}}]\n')}`);
    for (let s = 0; s < 20; s++) {
      const d = routeRequest(t, from(t, 'productpage-v1'), req(), createPrng(s));
      expect(d.ok && d.fault).toEqual({ delayMs: 7000 });
    }
  });

  it('a gateway routes by its Gateway servers and the VirtualServices bound to them; no route is 404 NR', () => {
    const gw = readFileSync(new URL('../../../../shared/conformance/istio/bookinfo/bookinfo-gateway.yaml', import.meta.url), 'utf8');
    const t = rules(gw);
    const g: Proxy = { kind: 'gateway', namespace: 'istio-system', labels: { istio: 'ingressgateway' } };
    const at = (path: string, port = 8080) => routeRequest(t, g, { host: 'bookinfo.example', port, path, method: 'GET', headers: {} }, createPrng(1));
    expect(at('/productpage')).toMatchObject({ ok: true, cluster: 'outbound|9080||productpage.default.svc.cluster.local' });
    expect(at('/static/app.css').ok).toBe(true);
    expect(at('/reviews/0')).toMatchObject({ ok: false, status: 404, flag: 'NR' });
    expect(at('/productpage', 80)).toMatchObject({ ok: false, status: 404 }); // no server on that port
  });

  it('mirroring: a copy to the mirror cluster with "-shadow" authority, at the mirror percentage', () => {
    const t = rules(`${dr}---\n${vs('  - route: [{destination: {host: reviews, subset: v1}}]\n    mirror: {host: reviews, subset: v2}\n    mirrorPercentage: {value: 50}\n')}`);
    let n = 0;
    for (let s = 0; s < 2000; s++) {
      const d = routeRequest(t, from(t, 'productpage-v1'), req(), createPrng(s));
      expect(d.ok && d.subset).toBe('v1');
      if (d.ok && d.mirror) {
        n++;
        expect(d.mirror).toEqual({ cluster: 'outbound|9080|v2|reviews.default.svc.cluster.local', authority: 'reviews-shadow' });
      }
    }
    expect(n / 2000).toBeGreaterThan(0.45);
    expect(n / 2000).toBeLessThan(0.55);
  });
});
