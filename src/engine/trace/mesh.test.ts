import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checksumProblems, decodePacket, encodePacket } from '../packet/bytes.ts';
import { loadSnapshot } from '../snapshot.ts';
import type { Trace } from '../types.ts';
import { traceFlow } from './trace.ts';

const dir = new URL('../../../../shared/conformance/istio/bookinfo/', import.meta.url);
const file = (f: string) => readFileSync(new URL(f, dir), 'utf8');
const injected = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: default, labels: {istio-injection: enabled}}\n';
const flow = (from: string, to: string, headers = '{}') => `apiVersion: podpath.dev/v1alpha1\nkind: Flow\nmetadata: {name: f}\nspec: {from: ${from}, to: "${to}", request: {path: /reviews/0, headers: ${headers}}}\n`;
const podOf = (text: string, prefix: string) => loadSnapshot(text, 1).topology.nodes.flatMap((n) => n.pods).find((p) => p.name.startsWith(prefix))!.id;
const run = (docs: string[], from: string, to: string, headers?: string, seeds = 6): Trace[] => {
  const base = docs.join('\n---\n');
  const text = `${base}\n---\n${flow(podOf(base, from), to, headers)}`;
  const s = loadSnapshot(text, 1);
  expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return Array.from({ length: seeds }, (_, seed) => traceFlow(s.topology, s.flows.find((f) => f.name === 'f')!, seed));
};
const titles = (t: Trace) => t.hops.map((h) => h.mechanism.title);
const jasonRule = [injected, file('bookinfo.yaml'), file('destination-rule-all.yaml'), file('virtual-service-reviews-test-v2.yaml')];

describe('a request through Istio sidecars', () => {
  it('jason → reviews v2: captured to 15001, routed by Envoy, Envoy (UID 1337) not captured, captured again at 15006 on the server', () => {
    for (const t of run(jasonRule, 'productpage', 'reviews:9080', '{end-user: jason}')) {
      expect(t.verdict.kind).toBe('delivered');
      expect(t.verdict.kind === 'delivered' && t.verdict.message).toMatch(/routed GET reviews:9080\/reviews\/0 to outbound\|9080\|v2\|reviews\.default\.svc\.cluster\.local \(VirtualService default\/reviews, route 1\)/);
      const ti = titles(t);
      const at = (re: RegExp) => ti.findIndex((x) => re.test(x));
      const order = [/ISTIO_OUTPUT → ISTIO_REDIRECT: REDIRECT → 127\.0\.0\.1:15001$/, /^istio-proxy \(productpage-\S+\): GET reviews:9080\/reviews\/0 → outbound\|9080\|v2\|/, /ISTIO_OUTPUT: RETURN \(not captured\) \(Envoy is UID 1337\)$/, /ISTIO_INBOUND → ISTIO_IN_REDIRECT: REDIRECT → 10\.244\.\d+\.\d+:15006$/, /inbound: virtualInbound 0\.0\.0\.0:15006/, /→ app: from 127\.0\.0\.6/, /→ app: HTTP 200 from outbound\|9080\|v2\|/].map(at);
      expect(order.every((i) => i >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      // Envoy dials the pod itself: no kube-proxy DNAT anywhere on the way.
      expect(t.hops.some((h) => h.mechanism.rules?.some((r) => r.matched && r.text.includes('KUBE-SEP')))).toBe(false);
      // Every frame is real bytes: HTTP segments included.
      for (const h of t.hops) {
        const b = encodePacket(h.after);
        expect(checksumProblems(b)).toEqual([]);
        expect(decodePacket(b)).toEqual(h.after);
      }
      const req = t.hops.find((h) => h.mechanism.title.includes('the request, inside mutual TLS'))!;
      const http = req.after.headers.find((h) => h.proto === 'http')!;
      expect(http.proto === 'http' && http.headers.map(([k]) => k)).toEqual(expect.arrayContaining(['end-user', 'x-request-id', 'x-forwarded-proto', 'x-envoy-attempt-count']));
    }
  });

  it('another user gets reviews v1', () => {
    for (const t of run(jasonRule, 'productpage', 'reviews:9080', '{end-user: alice}')) expect(titles(t)).toContainEqual(expect.stringMatching(/→ outbound\|9080\|v1\|reviews/));
  });

  it('a subset without a DestinationRule: the client sidecar itself answers 503 NC and nothing leaves the pod', () => {
    for (const t of run([injected, file('bookinfo.yaml'), file('virtual-service-reviews-test-v2.yaml')], 'productpage', 'reviews:9080', '{end-user: jason}', 2)) {
      expect(t.verdict.kind).toBe('rejected');
      expect(t.verdict.kind !== 'delivered' && t.verdict.message).toMatch(/^HTTP 503 \(NC\)/);
      expect(t.hops.some((h) => h.mechanism.kind === 'veth')).toBe(false);
    }
  });

  it('without injection nothing is captured: the app dials the ClusterIP and kube-proxy DNATs it', () => {
    for (const t of run([file('bookinfo.yaml'), file('destination-rule-all.yaml'), file('virtual-service-reviews-test-v2.yaml')], 'productpage', 'reviews:9080', '{end-user: jason}', 2)) {
      expect(t.verdict.kind).toBe('delivered');
      expect(t.hops.some((h) => h.mechanism.kind === 'envoy')).toBe(false);
      expect(t.hops.some((h) => h.mechanism.rules?.some((r) => r.matched && r.text.includes('KUBE-SEP')))).toBe(true);
    }
  });

  it('an excluded outbound port is not captured (traffic.sidecar.istio.io/excludeOutboundPorts)', () => {
    const bi = file('bookinfo.yaml').replace('prometheus.io/path: "/metrics"', 'prometheus.io/path: "/metrics"\n        traffic.sidecar.istio.io/excludeOutboundPorts: "9080"');
    expect(bi).toContain('excludeOutboundPorts');
    const [t] = run([injected, bi, file('destination-rule-all.yaml')], 'productpage', 'reviews:9080', '{}', 1);
    expect(titles(t!)[1]).toMatch(/RETURN \(not captured\) — the sidecar does not see this connection$/);
  });

  const legacyClient = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: legacy}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: curl, namespace: legacy}\nspec: {containers: [{name: curl, image: curlimages/curl}]}\n';
  const strict = (ns: string) => `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: ${ns}}\nspec: {mtls: {mode: STRICT}}\n`;

  it('PeerAuthentication STRICT: a client without a sidecar is reset by the server sidecar; PERMISSIVE (the default) lets it in', () => {
    const [t] = run([injected, file('bookinfo.yaml'), legacyClient, strict('default')], 'curl', 'reviews.default:9080', '{}', 1);
    expect(t!.verdict.kind).toBe('rejected');
    expect(t!.verdict.kind !== 'delivered' && t!.verdict.message).toContain('mTLS is STRICT');
    const [u] = run([injected, file('bookinfo.yaml'), legacyClient], 'curl', 'reviews.default:9080', '{}', 1);
    expect(u!.verdict.kind).toBe('delivered');
    expect(u!.hops.map((h) => h.mechanism.title)).toContainEqual(expect.stringMatching(/REDIRECT → 10\.244\.\d+\.\d+:15006$/));
    // Istio's mesh-wide policy lives in the root namespace.
    const [v] = run([injected, file('bookinfo.yaml'), legacyClient, strict('istio-system')], 'curl', 'reviews.default:9080', '{}', 1);
    expect(v!.verdict.kind).toBe('rejected');
  });

  it('outside the registry: ALLOW_ANY passes through to the address the app dialled; REGISTRY_ONLY answers 502; a ServiceEntry gives the host its own cluster', () => {
    const [t] = run([injected, file('bookinfo.yaml')], 'productpage', '198.51.100.80:80', '{}', 1);
    expect(t!.verdict.kind).toBe('delivered');
    expect(t!.hops.map((h) => h.mechanism.title)).toContainEqual(expect.stringMatching(/→ PassthroughCluster → 198\.51\.100\.80:80$/));
    const only = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    outboundTrafficPolicy:\n      mode: REGISTRY_ONLY\n';
    const [u] = run([injected, file('bookinfo.yaml'), only], 'productpage', '198.51.100.80:80', '{}', 1);
    expect(u!.verdict.kind !== 'delivered' && u!.verdict.message).toMatch(/^HTTP 502 \(-\) from .*BlackHoleCluster/);
    const se = 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ext}\nspec: {hosts: [api.example.com], ports: [{number: 80, name: http, protocol: HTTP}], location: MESH_EXTERNAL, resolution: STATIC, endpoints: [{address: 198.51.100.80}]}\n';
    const [v] = run([injected, file('bookinfo.yaml'), only, se], 'productpage', 'api.example.com:80', '{}', 1);
    expect(v!.verdict.kind).toBe('delivered');
    expect(v!.hops.map((h) => h.mechanism.title)).toContainEqual(expect.stringMatching(/→ outbound\|80\|\|api\.example\.com → 198\.51\.100\.80:80$/));
  });

  it('from outside through the ingress gateway: added as istioctl installs it, the client connection ends at its Envoy, which routes by the Gateway and its VirtualService', () => {
    const base = [injected, file('bookinfo.yaml'), file('bookinfo-gateway.yaml'), file('destination-rule-all.yaml')].join('\n---\n');
    const s0 = loadSnapshot(base, 1);
    const lb = s0.topology.services.find((x) => x.name === 'istio-ingressgateway')!;
    expect(lb).toMatchObject({ namespace: 'istio-system', type: 'LoadBalancer' });
    expect(s0.diagnostics.map((d) => d.message)).toContainEqual(expect.stringContaining("podpath adds Istio's default ingress gateway"));
    const at = (path: string) => {
      const s = loadSnapshot(`${base}\n---\napiVersion: podpath.dev/v1alpha1\nkind: Flow\nmetadata: {name: page}\nspec: {from: external, to: "${lb.loadBalancerIPs[0]}:80", request: {path: ${path}}}\n`, 1);
      return traceFlow(s.topology, s.flows.find((f) => f.name === 'page')!, 1);
    };
    const t = at('/productpage');
    expect(t.verdict.kind).toBe('delivered');
    expect(t.verdict.kind === 'delivered' && t.verdict.message).toMatch(/^HTTP 200: the ingress gateway istio-ingressgateway-\S+ routed GET .*\/productpage to outbound\|9080\|\|productpage\.default\.svc\.cluster\.local/);
    expect(titles(t)).toContainEqual(expect.stringMatching(/ISTIO_IN_REDIRECT: REDIRECT → 10\.244\.\d+\.\d+:15006$/));
    const u = at('/reviews/0');
    expect(u.verdict.kind !== 'delivered' && u.verdict.message).toMatch(/^HTTP 404 \(NR\) from the ingress gateway/);
  });
});
