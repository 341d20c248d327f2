import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../snapshot.ts';
import type { Trace } from '../types.ts';
import { traceFlow } from '../trace/trace.ts';
import { createPrng } from '../util/prng.ts';
import { simulateRequest } from './calls.ts';

const dir = new URL('../../../../shared/conformance/istio/bookinfo/', import.meta.url);
const file = (f: string) => readFileSync(new URL(f, dir), 'utf8');
const injected = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: default, labels: {istio-injection: enabled}}\n';
const peerAuth = (mode: string, ns = 'default') => `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: default, namespace: ${ns}}\nspec: {mtls: {mode: ${mode}}}\n`;
const drTls = (mode: string) => `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: reviews-tls}\nspec: {host: reviews, trafficPolicy: {tls: {mode: ${mode}}}}\n`;
/** reviews-v1 without a sidecar (the pod template opts out). */
const reviewsWithoutSidecar = (text: string) => text.replace(/(name: reviews-v1\n[\s\S]*?template:\n\s+metadata:\n\s+labels:\n)(\s+)/, '$1$2sidecar.istio.io/inject: "false"\n$2');
const flow = (from: string) => `apiVersion: podpath.dev/v1alpha1\nkind: Flow\nmetadata: {name: f}\nspec: {from: ${from}, to: "reviews:9080", request: {path: /reviews/0}}\n`;

function traces(docs: string[], seeds = 4): Trace[] {
  const base = docs.join('\n---\n');
  const pp = loadSnapshot(base, 1).topology.nodes.flatMap((n) => n.pods).find((p) => p.name.startsWith('productpage'))!.id;
  const s = loadSnapshot(`${base}\n---\n${flow(pp)}`, 1);
  expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return Array.from({ length: seeds }, (_, seed) => traceFlow(s.topology, s.flows.find((f) => f.name === 'f')!, seed));
}
const titles = (t: Trace) => t.hops.map((h) => h.mechanism.title);
const details = (t: Trace) => t.hops.map((h) => h.mechanism.detail).join('\n');

describe('mutual TLS between sidecars: DestinationRule tls and automatic mTLS against PeerAuthentication', () => {
  it('automatic mTLS: sidecar to sidecar is mutual TLS, and the app sees x-forwarded-client-cert', () => {
    for (const t of traces([injected, file('bookinfo.yaml')])) {
      expect(t.verdict.kind).toBe('delivered');
      expect(details(t)).toMatch(/Automatic mutual TLS: reviews-v\d-\S+ has a sidecar/);
      const app = t.hops.find((h) => h.mechanism.kind === 'deliver' && h.mechanism.title.includes('gets GET'))!;
      const http = app.after.headers.find((h) => h.proto === 'http')!;
      expect(http.proto === 'http' && http.headers.some(([k]) => k === 'x-forwarded-client-cert')).toBe(true);
    }
  });

  it('DestinationRule tls DISABLE towards a STRICT server: the server sidecar closes the connection, the app gets 503 UC', () => {
    for (const t of traces([injected, file('bookinfo.yaml'), drTls('DISABLE'), peerAuth('STRICT')])) {
      expect(t.verdict.kind).toBe('rejected');
      expect(t.verdict.kind !== 'delivered' && t.verdict.message).toMatch(/^HTTP 503 \(UC\).*reset reason: connection termination/);
      expect(titles(t)).toContainEqual(expect.stringMatching(/no filter chain matches — connection closed/));
      expect(titles(t).some((x) => /→ app: from 127\.0\.0\.6/.test(x))).toBe(false);
    }
  });

  it('the same rule under PERMISSIVE works, in plain text: no client certificate reaches the app', () => {
    for (const t of traces([injected, file('bookinfo.yaml'), drTls('DISABLE')])) {
      expect(t.verdict.kind).toBe('delivered');
      expect(titles(t)).toContainEqual(expect.stringMatching(/the request, in plain text$/));
      const app = t.hops.find((h) => h.mechanism.kind === 'deliver' && h.mechanism.title.includes('gets GET'))!;
      const http = app.after.headers.find((h) => h.proto === 'http')!;
      expect(http.proto === 'http' && http.headers.some(([k]) => k === 'x-forwarded-client-cert')).toBe(false);
    }
  });

  it('PeerAuthentication DISABLE on the server: automatic mTLS falls back to plain text', () => {
    for (const t of traces([injected, file('bookinfo.yaml'), peerAuth('DISABLE')])) {
      expect(t.verdict.kind).toBe('delivered');
      expect(details(t)).toMatch(/PeerAuthentication is DISABLE, so the client's Envoy sends plain text/);
    }
  });

  it('a server without a sidecar: automatic mTLS sends plain text straight to the app; ISTIO_MUTUAL forced by a rule fails the handshake (UF)', () => {
    const base = [injected, reviewsWithoutSidecar(file('bookinfo.yaml'))];
    const plain = traces(base, 12).filter((t) => /reviews-v1-/.test(titles(t).join('\n')));
    expect(plain.length).toBeGreaterThan(0);
    for (const t of plain) {
      expect(t.verdict.kind).toBe('delivered');
      expect(details(t)).toMatch(/reviews-v1-\S+ has no sidecar \(no tlsMode=istio label\), so the client's Envoy sends plain text/);
      expect(titles(t).some((x) => /istio-proxy \(reviews-v1/.test(x))).toBe(false);
    }
    const forced = traces([...base, drTls('ISTIO_MUTUAL')], 12).filter((t) => /reviews-v1-/.test(titles(t).join('\n')));
    expect(forced.length).toBeGreaterThan(0);
    for (const t of forced) {
      expect(t.verdict.kind).toBe('rejected');
      expect(t.verdict.kind !== 'delivered' && t.verdict.message).toMatch(/^HTTP 503 \(UF\).*retried and the latest reset reason: remote connection failure, transport failure reason: TLS_error:.*WRONG_VERSION_NUMBER/);
    }
  });

  it('in a request tree: a connection failure (UF) is retried by Istio\'s default policy, a termination (UC) is not', () => {
    const t1 = loadSnapshot([injected, reviewsWithoutSidecar(file('bookinfo.yaml')), 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: reviews-tls}\nspec: {host: reviews, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}, subsets: [{name: v1, labels: {version: v1}}]}\n', 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec: {hosts: [reviews], http: [{route: [{destination: {host: reviews, subset: v1}}]}]}\n'].join('\n---\n'), 1).topology;
    const pp = t1.nodes.flatMap((n) => n.pods).find((p) => p.name.startsWith('productpage'))!;
    const r1 = simulateRequest(t1, { kind: 'sidecar', pod: pp }, { host: 'reviews', port: 9080, path: '/reviews/0', method: 'GET', headers: {} }, createPrng(1));
    expect(r1.status).toBe(503);
    expect(r1.root.attempts[0]!.flag).toBe('UF');
    expect(r1.root.attempts[0]!.tries).toHaveLength(3);
    const t2 = loadSnapshot([injected, file('bookinfo.yaml'), drTls('DISABLE'), peerAuth('STRICT')].join('\n---\n'), 1).topology;
    const pp2 = t2.nodes.flatMap((n) => n.pods).find((p) => p.name.startsWith('productpage'))!;
    const r2 = simulateRequest(t2, { kind: 'sidecar', pod: pp2 }, { host: 'reviews', port: 9080, path: '/reviews/0', method: 'GET', headers: {} }, createPrng(1));
    expect(r2.status).toBe(503);
    expect(r2.root.attempts[0]!.flag).toBe('UC');
    expect(r2.root.attempts[0]!.tries).toHaveLength(1);
  });
});
