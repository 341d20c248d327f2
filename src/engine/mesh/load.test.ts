import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../snapshot.ts';
import { createPrng } from '../util/prng.ts';
import { DEFAULT_HOP_MS, simulateLoad, type LoadResult } from './load.ts';

// Istio's circuit-breaking task (istio.io tasks/traffic-management/circuit-breaking): httpbin behind
// a Service on port 8000, a fortio client pod, both with sidecars.
const base = `apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: httpbin, labels: {app: httpbin}}
spec: {selector: {app: httpbin}, ports: [{name: http, port: 8000, targetPort: 8080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: httpbin}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: httpbin, version: v1}}
  template:
    metadata: {labels: {app: httpbin, version: v1}}
    spec: {containers: [{name: httpbin, image: docker.io/mccutchen/go-httpbin:v2.15.0, ports: [{containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: fortio-deploy}
spec:
  selector: {matchLabels: {app: fortio}}
  template:
    metadata: {labels: {app: fortio}}
    spec: {containers: [{name: fortio, image: fortio/fortio:latest_release}]}
`;
const breaker = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin}
spec:
  host: httpbin
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1, maxRequestsPerConnection: 1}
    outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 3m, maxEjectionPercent: 100}
`;
const broken = (labels: string, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata: {name: httpbin-broken}
spec:
  selector: {matchLabels: {${labels}}}
  template:
    metadata: {labels: {${labels}}}
    spec: {containers: [{name: httpbin, image: docker.io/mccutchen/go-httpbin:v2.15.0, ports: [{containerPort: 8080}]}]}
---
apiVersion: podpath.dev/v1alpha1
kind: AppBehavior
metadata: {name: broken}
spec: {selector: {version: broken}, status: 503${extra}}
`;

function load(docs: string[], connections: number, requests: number, seed = 1, replicas = 1): LoadResult {
  const s = loadSnapshot(docs.join('\n---\n').replace('REPLICAS', String(replicas)), 1);
  expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const fortio = s.topology.nodes.flatMap((n) => n.pods).find((p) => p.name.startsWith('fortio'))!;
  return simulateLoad(s.topology, { kind: 'sidecar', pod: fortio }, { host: 'httpbin', port: 8000, path: '/get', method: 'GET', headers: {} }, { connections, requests, hopMs: DEFAULT_HOP_MS }, createPrng(seed));
}
const count = (r: LoadResult, status: number) => r.codes.find((c) => c.status === status)?.count ?? 0;
const stat = (r: LoadResult, name: string) => r.clusters[0]!.stats[name];

describe('circuit breaking: DestinationRule connectionPool as Envoy enforces it in the client sidecar', () => {
  it('without a DestinationRule Istio sets no real limit: 3 connections, 30 requests, all 200', () => {
    const r = load([base], 3, 30);
    expect(r.codes).toEqual([{ status: 200, count: 30 }]);
    expect(r.clusters[0]!.thresholds.maxConnections).toBe(2 ** 32 - 1);
    expect(stat(r, 'upstream_rq_pending_overflow')).toBe(0);
  });

  it('maxConnections 1 / http1MaxPendingRequests 1: one connection never trips; two trip a little; three trip a lot — every 503 is UO, counted as pending overflow', () => {
    const one = load([base, breaker], 1, 20);
    expect(one.codes).toEqual([{ status: 200, count: 20 }]);
    const two = load([base, breaker], 2, 20);
    const three = load([base, breaker], 3, 30);
    for (const r of [two, three]) {
      expect(count(r, 503)).toBeGreaterThan(0);
      expect(r.flags.UO).toBe(count(r, 503));
      expect(stat(r, 'upstream_rq_pending_overflow')).toBe(count(r, 503));
      expect(stat(r, 'upstream_cx_overflow')).toBeGreaterThan(0);
      // An overflow is Envoy's own answer: never retried, never sent upstream.
      expect(r.requests.filter((q) => q.flag === 'UO').every((q) => q.tries === 0)).toBe(true);
      expect(r.summary).toContain(`Code 503 : ${count(r, 503)} (${((100 * count(r, 503)) / r.requests.length).toFixed(1)} %)`);
    }
    expect(count(two, 200)).toBeGreaterThan(count(two, 503));
    expect(count(three, 503) / 30).toBeGreaterThan(count(two, 503) / 20);
    // maxRequestsPerConnection 1: a new connection for every request that went upstream.
    expect(stat(three, 'upstream_cx_total')).toBe(stat(three, 'upstream_rq_total'));
    expect(three.summary[0]).toBe('Starting at max qps with 3 thread(s) for exactly 30 calls (10 per thread + 0)');
  });

  it('is deterministic for a seed', () => {
    expect(load([base, breaker], 3, 30, 7)).toEqual(load([base, breaker], 3, 30, 7));
  });
});

describe('outlier detection: consecutive 5xx eject an endpoint from the client sidecar\'s load balancing', () => {
  it('a broken endpoint is ejected after its first 503, and Istio\'s default retry hides that one error', () => {
    const dr = breaker.replace(/connectionPool:[\s\S]*?maxRequestsPerConnection: 1}\n/, '');
    const r = load([base, broken('app: httpbin, version: broken'), dr], 2, 40, 3, 2);
    expect(r.codes).toEqual([{ status: 200, count: 40 }]);
    const bad = r.endpoints.find((e) => e.pod?.startsWith('httpbin-broken'))!;
    expect(bad.requests).toBe(1);
    expect(bad.ejections).toHaveLength(1);
    expect(stat(r, 'outlier_detection.ejections_enforced_total')).toBe(1);
    expect(stat(r, 'upstream_rq_retry')).toBe(1);
    // Without outlier detection the broken pod keeps getting its share.
    const without = load([base, broken('app: httpbin, version: broken')], 2, 40, 3, 2);
    expect(without.endpoints.find((e) => e.pod?.startsWith('httpbin-broken'))!.requests).toBeGreaterThan(5);
  });

  it('with every endpoint ejected (and the panic threshold 0, as Istio sets it) Envoy answers 503 UH "no healthy upstream"', () => {
    const dr = breaker.replace(/connectionPool:[\s\S]*?maxRequestsPerConnection: 1}\n/, '');
    const r = load([base, broken('app: httpbin, version: broken'), dr], 1, 10, 1, 0);
    expect(r.flags.UH).toBeGreaterThan(0);
    expect(count(r, 503)).toBe(10);
    expect(r.events.some((e) => /no healthy upstream/.test(e.text))).toBe(true);
  });

  it('maxEjectionPercent (default 10) still lets the first host go, but not a second', () => {
    const dr = `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: httpbin}\nspec: {host: httpbin, trafficPolicy: {outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 3m}}}\n`;
    const r = load([base, broken('app: httpbin, version: broken').replace('spec:\n  selector', 'spec:\n  replicas: 2\n  selector'), dr], 1, 20, 1, 0);
    expect(stat(r, 'outlier_detection.ejections_enforced_total')).toBe(1);
    expect(stat(r, 'outlier_detection.ejections_overflow')).toBeGreaterThan(0);
  });
});
