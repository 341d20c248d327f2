import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../snapshot.ts';
import { meshRuns } from './flowRuns.ts';

const dir = new URL('../../../../shared/conformance/istio/bookinfo/', import.meta.url);
const file = (f: string) => readFileSync(new URL(f, dir), 'utf8');
const injected = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: default, labels: {istio-injection: enabled}}\n';
const snap = (...docs: string[]) => {
  const s = loadSnapshot(docs.join('\n---\n'), 1);
  expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return s;
};
const flowDoc = (spec: string) => `apiVersion: podpath.dev/v1alpha1\nkind: Flow\nmetadata: {name: f}\nspec: ${spec}\n`;

describe('a Flow as the mesh sees it: the request tree and the load beside the trace', () => {
  it('from a sidecar pod: the whole Bookinfo page, with the logged-in user carried by productpage', () => {
    const base = snap(injected, file('bookinfo.yaml'));
    const pp = base.topology.nodes.flatMap((n) => n.pods).find((p) => p.name.startsWith('ratings'))!.id;
    const s = snap(injected, file('bookinfo.yaml'), file('destination-rule-all.yaml'), file('virtual-service-all-v1.yaml'), flowDoc(`{from: ${pp}, to: "productpage:9080", request: {path: /productpage, user: jason}}`));
    const r = meshRuns(s.topology, s.flows.find((f) => f.name === 'f')!, 1);
    expect(r.timeline?.status).toBe(200);
    expect(r.timeline?.sections.map((x) => x.service)).toEqual(['details', 'reviews']);
    expect(r.load).toBeUndefined();
  });

  it('from outside through the ingress gateway: the gateway is the entry', () => {
    const s = snap(injected, file('bookinfo.yaml'), file('bookinfo-gateway.yaml'));
    const gw = s.topology.services.find((x) => x.name === 'istio-ingressgateway')!;
    const np = gw.ports.find((p) => p.port === 80)!.nodePort;
    const t = snap(injected, file('bookinfo.yaml'), file('bookinfo-gateway.yaml'), flowDoc(`{from: external, to: "node-2:${np}", request: {path: /productpage}}`));
    const r = meshRuns(t.topology, t.flows.find((f) => f.name === 'f')!, 1);
    expect(r.timeline?.root.from).toBe('ingress gateway');
    expect(r.timeline?.status).toBe(200);
  });

  it('load from a pod without a sidecar is explained, not run; a bad load value is an error on its line', () => {
    const base = snap(file('bookinfo.yaml'));
    const pp = base.topology.nodes.flatMap((n) => n.pods).find((p) => p.name.startsWith('ratings'))!.id;
    const s = snap(file('bookinfo.yaml'), flowDoc(`{from: ${pp}, to: "reviews:9080", load: {connections: 2, requests: 20}}`));
    const r = meshRuns(s.topology, s.flows.find((f) => f.name === 'f')!, 1);
    expect(r.load).toBeUndefined();
    expect(r.notes.join(' ')).toMatch(/Load needs a client behind an Envoy/);
    const bad = loadSnapshot([file('bookinfo.yaml'), flowDoc(`{from: ${pp}, to: "reviews:9080", load: {connections: 0}}`)].join('\n---\n'), 1);
    expect(bad.diagnostics.find((d) => d.severity === 'error')?.message).toMatch(/"connections" must be an integer from 1 to 256/);
  });
});
