import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bookinfoScenario, withReviewsVirtualService } from '../../scenarios/bookinfo.ts';
import { loadSnapshot } from '../snapshot.ts';
import type { PodInfo, Topology } from '../types.ts';
import { createPrng } from '../util/prng.ts';
import { findPod, formatTable, PROXY_CONFIG_VIEWS, proxyConfig, proxyConfigTable, portProtocol } from './proxyConfig.ts';
import { routeRequest } from './routing.ts';

const FQDN = (s: string) => `${s}.default.svc.cluster.local`;

function load(text: string): Topology {
  const s = loadSnapshot(text, 1);
  expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return s.topology;
}
const podOf = (t: Topology, deployment: string): PodInfo => t.nodes.flatMap((n) => n.pods).find((p) => p.owner === `Deployment default/${deployment}`)!;

const vs50v3 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 50}
    - {destination: {host: reviews, subset: v3}, weight: 50}
`;

describe('proxyConfig: what istioctl proxy-config shows for a Bookinfo sidecar', () => {
  const t = load(bookinfoScenario);
  const productpage = podOf(t, 'productpage-v1');
  const cfg = proxyConfig(t, productpage);

  it('listeners: virtualOutbound 15001, virtualInbound 15006, one wildcard HTTP listener for port 9080 shared by the four services', () => {
    const names = [...new Set(cfg.listeners.map((l) => l.name))];
    expect(names).toEqual(['0.0.0.0_9080', 'virtualOutbound', 'virtualInbound', '0.0.0.0_15021', '0.0.0.0_15090']);
    expect(cfg.listeners.filter((l) => l.name === '0.0.0.0_9080')).toEqual([
      { name: '0.0.0.0_9080', address: '0.0.0.0', port: 9080, match: 'Trans: raw_buffer; App: http/1.1,h2c', destination: 'Route: 9080' },
      { name: '0.0.0.0_9080', address: '0.0.0.0', port: 9080, match: 'ALL', destination: 'PassthroughCluster' },
    ]);
    expect(cfg.listeners.find((l) => l.name === 'virtualOutbound' && l.match === 'ALL')!.destination).toBe('PassthroughCluster');
    // productpage serves 9080 itself: the inbound listener has chains for it, mTLS and plain text.
    const inbound = cfg.listeners.filter((l) => l.port === 15006 && l.destination === 'Cluster: inbound|9080||').map((l) => l.match);
    expect(inbound).toEqual(['Trans: tls; App: istio-http/1.0,istio-http/1.1,istio-h2; Addr: *:9080', 'Trans: raw_buffer; App: http/1.1,h2c; Addr: *:9080']);
    expect(cfg.listeners.some((l) => l.port === 15006 && l.destination === 'InboundPassthroughCluster')).toBe(true);
  });

  it('routes: route configuration "9080" has a virtual host per service (FQDN:port with its domains) and the VirtualServices\' routes in order', () => {
    const r9080 = cfg.routes.filter((r) => r.name === '9080');
    expect([...new Set(r9080.map((r) => r.vhost))]).toEqual([`${FQDN('details')}:9080`, `${FQDN('productpage')}:9080`, `${FQDN('ratings')}:9080`, `${FQDN('reviews')}:9080`, 'allow_any']);
    const reviews = r9080.filter((r) => r.vhost === `${FQDN('reviews')}:9080`);
    const svc = t.services.find((s) => s.name === 'reviews')!;
    expect(reviews[0]!.domains).toEqual([FQDN('reviews'), 'reviews', 'reviews.default.svc', 'reviews.default', svc.clusterIP]);
    expect(reviews.map((r) => [r.match, r.destination, r.virtualService, r.httpRoute])).toEqual([
      ['/*, header end-user=jason', `outbound|9080|v2|${FQDN('reviews')}`, 'reviews.default', { index: 1, match: 1 }],
      ['/*', `outbound|9080|v1|${FQDN('reviews')}`, 'reviews.default', { index: 2, match: 0 }],
    ]);
    expect(r9080.at(-1)).toMatchObject({ vhost: 'allow_any', domains: ['*'], destination: 'PassthroughCluster' });
    expect(cfg.routes.find((r) => r.name === 'inbound|9080||')).toMatchObject({ vhost: 'inbound|http|9080', destination: 'inbound|9080||' });
  });

  it('clusters: outbound|port||fqdn per service port, one per DestinationRule subset, the passthrough and blackhole clusters; sorted as istioctl sorts', () => {
    const names = cfg.clusters.map((c) => c.name);
    for (const s of ['details', 'productpage', 'ratings', 'reviews']) expect(names).toContain(`outbound|9080||${FQDN(s)}`);
    for (const s of ['v1', 'v2', 'v3']) expect(names).toContain(`outbound|9080|${s}|${FQDN('reviews')}`);
    expect(names).toContain(`outbound|9080|v2-mysql-vm|${FQDN('ratings')}`);
    expect(names).toEqual(expect.arrayContaining(['BlackHoleCluster', 'PassthroughCluster', 'InboundPassthroughCluster', 'inbound|9080||']));
    expect(cfg.clusters.find((c) => c.name === `outbound|9080|v2|${FQDN('reviews')}`)).toEqual({ name: `outbound|9080|v2|${FQDN('reviews')}`, fqdn: FQDN('reviews'), port: 9080, subset: 'v2', direction: 'outbound', type: 'EDS', destinationRule: 'reviews.default', lbPolicy: 'LEAST_REQUEST' });
    const table = proxyConfigTable(cfg, 'clusters');
    expect(table.columns).toEqual(['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE', 'LB POLICY']);
    // The inbound cluster (no FQDN) first, then upper case before lower case, as byte order has it.
    expect(table.rows.slice(0, 4).map((r) => r[0])).toEqual(['', 'BlackHoleCluster', 'InboundPassthroughCluster', 'PassthroughCluster']);
    expect(table.rows[0]).toEqual(['', '9080', '-', 'inbound', 'ORIGINAL_DST', '', 'CLUSTER_PROVIDED']);
  });

  it('endpoints: a subset cluster has the pods with its labels; every endpoint HEALTHY', () => {
    const at = (cluster: string) => cfg.endpoints.filter((e) => e.cluster === cluster).map((e) => e.endpoint);
    const ip = (d: string) => `${podOf(t, d).ip}:9080`;
    expect(at(`outbound|9080|v2|${FQDN('reviews')}`)).toEqual([ip('reviews-v2')]);
    expect(at(`outbound|9080||${FQDN('reviews')}`).sort()).toEqual([ip('reviews-v1'), ip('reviews-v2'), ip('reviews-v3')].sort());
    expect(at(`outbound|9080|v2-mysql|${FQDN('ratings')}`)).toEqual([]);
    expect(cfg.endpoints.every((e) => e.status === 'HEALTHY' && e.outlierCheck === 'OK')).toBe(true);
  });

  it('agrees with routing.ts: the cluster a request is routed to is the route row\'s, and its endpoints are the endpoint rows', () => {
    for (const headers of [{ 'end-user': 'jason' }, {}] as Record<string, string>[]) {
      const d = routeRequest(t, { kind: 'sidecar', pod: productpage }, { host: 'reviews', port: 9080, path: '/reviews/0', method: 'GET', headers }, createPrng(1));
      expect(d.ok).toBe(true);
      if (!d.ok) continue;
      const row = cfg.routes.find((r) => r.vhost === `${FQDN('reviews')}:9080` && r.httpRoute?.index === d.route?.index && r.httpRoute?.match === d.route?.match)!;
      expect(row.destination).toBe(d.cluster);
      expect(cfg.clusters.some((c) => c.name === d.cluster && c.lbPolicy === d.loadBalancer)).toBe(true);
      expect(cfg.endpoints.filter((e) => e.cluster === d.cluster).map((e) => e.endpoint).sort()).toEqual(d.endpoints.map((e) => `${e.ip}:${e.port}`).sort());
    }
  });

  it('is deterministic, and formats istioctl-like tables', () => {
    expect(proxyConfig(load(bookinfoScenario), podOf(load(bookinfoScenario), 'productpage-v1'))).toEqual(cfg);
    for (const v of PROXY_CONFIG_VIEWS) {
      const text = formatTable(proxyConfigTable(cfg, v));
      const [head, ...rows] = text.trimEnd().split('\n');
      expect(rows).toHaveLength(proxyConfigTable(cfg, v).rows.length);
      // Every column starts at the same offset on every line.
      const second = proxyConfigTable(cfg, v).columns[1]!;
      const col = head!.indexOf(second);
      expect(col).toBeGreaterThan(0);
      for (const r of rows) expect(r[col - 1], r).toBe(' ');
    }
    expect(findPod(t, `default/${productpage.name}`)).toBe(productpage);
    expect(findPod(t, productpage.id)).toBe(productpage);
  });
});

describe('proxyConfig: other rules and ports', () => {
  it('a service without VirtualService gets the default route to its own cluster', () => {
    const t = load(withReviewsVirtualService('# no reviews VirtualService\n'));
    const cfg = proxyConfig(t, podOf(t, 'productpage-v1'));
    expect(cfg.routes.filter((r) => r.vhost === `${FQDN('reviews')}:9080`)).toEqual([
      expect.objectContaining({ match: '/*', destination: `outbound|9080||${FQDN('reviews')}`, virtualService: '' }),
    ]);
  });

  it('weighted destinations show each cluster with its weight', () => {
    const t = load(withReviewsVirtualService(vs50v3));
    const cfg = proxyConfig(t, podOf(t, 'productpage-v1'));
    expect(cfg.routes.filter((r) => r.vhost === `${FQDN('reviews')}:9080`).map((r) => r.destination)).toEqual([
      `outbound|9080|v1|${FQDN('reviews')} (weight 50), outbound|9080|v3|${FQDN('reviews')} (weight 50)`,
    ]);
  });

  it('match blocks for other source labels are not in this sidecar\'s configuration (sourceMatchHTTP)', () => {
    const t = load(withReviewsVirtualService(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{sourceLabels: {app: ratings}}, {uri: {prefix: /api}, headers: {x-canary: {}}, queryParams: {v: {regex: "[0-9]+"}}}]
    route: [{destination: {host: reviews, subset: v3}}]
    fault: {delay: {fixedDelay: 2s, percentage: {value: 100}}}
  - route: [{destination: {host: reviews, subset: v1}}]
`));
    const rows = (deployment: string) => proxyConfig(t, podOf(t, deployment)).routes.filter((r) => r.vhost === `${FQDN('reviews')}:9080`).map((r) => `${r.httpRoute!.index}.${r.httpRoute!.match} ${r.match} → ${r.destination}`);
    const v3 = `outbound|9080|v3|${FQDN('reviews')}; fault: delay 2s for 100%`;
    expect(rows('productpage-v1')).toEqual([`1.2 /api*, header x-canary present, query v~=[0-9]+ → ${v3}`, `2.0 /* → outbound|9080|v1|${FQDN('reviews')}`]);
    expect(rows('ratings-v1')).toEqual([`1.1 /* → ${v3}`, `1.2 /api*, header x-canary present, query v~=[0-9]+ → ${v3}`, `2.0 /* → outbound|9080|v1|${FQDN('reviews')}`]);
  });

  it('load balancer: the DestinationRule\'s, the subset\'s merged over it; Istio\'s default LEAST_REQUEST', () => {
    const t = load(
      bookinfoScenario.replace(
        'kind: DestinationRule\nmetadata:\n  name: reviews\nspec:\n  host: reviews\n',
        'kind: DestinationRule\nmetadata:\n  name: reviews\nspec:\n  host: reviews\n  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}\n',
      ).replace('  - name: v3\n    labels:\n      version: v3\n', '  - name: v3\n    labels:\n      version: v3\n    trafficPolicy: {loadBalancer: {simple: RANDOM}}\n'),
    );
    const lb = Object.fromEntries(proxyConfig(t, podOf(t, 'productpage-v1')).clusters.filter((c) => c.fqdn === FQDN('reviews') || c.fqdn === FQDN('details')).map((c) => [`${c.fqdn.split('.')[0]}|${c.subset}`, c.lbPolicy]));
    expect(lb).toEqual({ 'details|': 'LEAST_REQUEST', 'details|v1': 'LEAST_REQUEST', 'details|v2': 'LEAST_REQUEST', 'reviews|': 'ROUND_ROBIN', 'reviews|v1': 'ROUND_ROBIN', 'reviews|v2': 'ROUND_ROBIN', 'reviews|v3': 'RANDOM' });
  });

  it('TCP ports get a listener on the VIP with a cluster, unnamed ports are sniffed (HTTP and TCP chains, route <fqdn>:<port>); UDP gets nothing', () => {
    expect([portProtocol({ name: 'http', protocol: 'TCP' }), portProtocol({ name: 'http2-web', protocol: 'TCP' }), portProtocol({ name: 'tcp-db', protocol: 'TCP' }), portProtocol({ name: '', protocol: 'TCP' }), portProtocol({ name: 'web', protocol: 'TCP' })]).toEqual(['http', 'http', 'tcp', 'auto', 'auto']);
    const t = load(`${bookinfoScenario}---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  selector: {app: db}
  ports:
  - {name: tcp-mysql, port: 3306}
  - {port: 8080, name: web}
  - {name: dns, port: 53, protocol: UDP}
`);
    const cfg = proxyConfig(t, podOf(t, 'productpage-v1'));
    const vip = t.services.find((s) => s.name === 'db')!.clusterIP;
    expect(cfg.listeners.filter((l) => l.address === vip)).toEqual([
      { name: `${vip}_3306`, address: vip, port: 3306, match: 'ALL', destination: `Cluster: outbound|3306||${FQDN('db')}` },
      { name: `${vip}_8080`, address: vip, port: 8080, match: 'App: http/1.1,h2c', destination: `Route: ${FQDN('db')}:8080` },
      { name: `${vip}_8080`, address: vip, port: 8080, match: 'ALL', destination: `Cluster: outbound|8080||${FQDN('db')}` },
    ]);
    expect(cfg.routes.filter((r) => r.name === `${FQDN('db')}:8080`).map((r) => r.destination)).toEqual([`outbound|8080||${FQDN('db')}`]);
    expect(cfg.clusters.filter((c) => c.fqdn === FQDN('db')).map((c) => c.port)).toEqual([3306, 8080]);
  });

  it('a sidecar in another namespace: no short name among the domains', () => {
    const t = load(`${bookinfoScenario}---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop}
spec: {containers: [{name: c, image: curlimages/curl}]}
`);
    const client = findPod(t, 'shop/client')!;
    expect(client.sidecar).toBeDefined();
    const cfg = proxyConfig(t, client);
    expect(cfg.routes.find((r) => r.vhost === `${FQDN('reviews')}:9080`)!.domains).not.toContain('reviews');
    expect(cfg.routes.find((r) => r.vhost === `${FQDN('reviews')}:9080`)!.domains).toContain('reviews.default');
    // It serves nothing: no inbound cluster or inbound port chain.
    expect(cfg.clusters.some((c) => c.direction === 'inbound')).toBe(false);
  });
});

describe('proxyConfig: mesh-wide settings and ServiceEntry hosts', () => {
  it('REGISTRY_ONLY: what matches no service goes to BlackHoleCluster, and the block_all virtual host answers 502', () => {
    const t = load(`${bookinfoScenario}---
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: "outboundTrafficPolicy: {mode: REGISTRY_ONLY}"
`);
    expect(t.mesh.outboundTrafficPolicy).toBe('REGISTRY_ONLY');
    const cfg = proxyConfig(t, podOf(t, 'productpage-v1'));
    expect(cfg.listeners.find((l) => l.name === 'virtualOutbound' && l.match === 'ALL')!.destination).toBe('BlackHoleCluster');
    expect(cfg.listeners.find((l) => l.name === '0.0.0.0_9080' && l.match === 'ALL')!.destination).toBe('BlackHoleCluster');
    expect(cfg.routes.filter((r) => r.name === '9080').at(-1)).toMatchObject({ vhost: 'block_all', domains: ['*'], destination: 'direct response 502 (BlackHoleCluster)' });
    expect(cfg.routes.some((r) => r.vhost === 'allow_any')).toBe(false);
  });

  it('PeerAuthentication STRICT: the inbound listener keeps only its mTLS chains', () => {
    const t = load(`${bookinfoScenario}---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: STRICT}}
`);
    const inbound = proxyConfig(t, podOf(t, 'reviews-v2')).listeners.filter((l) => l.name === 'virtualInbound' && l.match !== 'Addr: *:15006');
    expect(inbound.length).toBeGreaterThan(0);
    expect(inbound.every((l) => l.match.startsWith('Trans: tls'))).toBe(true);
    expect(inbound.filter((l) => l.destination === 'Cluster: inbound|9080||').map((l) => l.match)).toEqual(['Trans: tls; App: istio-http/1.0,istio-http/1.1,istio-h2; Addr: *:9080']);
  });

  it('a ServiceEntry host is a service of the registry: its listener, virtual host, cluster typed by resolution and endpoints', () => {
    const t = load(`${bookinfoScenario}---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: payments}
spec:
  hosts: [api.payments.example]
  addresses: [240.0.0.10]
  ports: [{number: 8443, name: tcp-api, protocol: TCP}, {number: 9080, name: http, protocol: HTTP}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: 203.0.113.7}, {address: 203.0.113.8}]
`);
    const cfg = proxyConfig(t, podOf(t, 'productpage-v1'));
    expect(cfg.listeners.filter((l) => l.address === '240.0.0.10')).toEqual([{ name: '240.0.0.10_8443', address: '240.0.0.10', port: 8443, match: 'ALL', destination: 'Cluster: outbound|8443||api.payments.example' }]);
    expect(cfg.routes.find((r) => r.vhost === 'api.payments.example:9080')).toMatchObject({ name: '9080', domains: ['api.payments.example', '240.0.0.10'], destination: 'outbound|9080||api.payments.example' });
    expect(cfg.clusters.filter((c) => c.fqdn === 'api.payments.example').map((c) => [c.name, c.type])).toEqual([
      ['outbound|8443||api.payments.example', 'EDS'],
      ['outbound|9080||api.payments.example', 'EDS'],
    ]);
    expect(cfg.endpoints.filter((e) => e.cluster === 'outbound|8443||api.payments.example').map((e) => e.endpoint)).toEqual(['203.0.113.7:8443', '203.0.113.8:8443']);
    // The trace routes a request for it to the same cluster.
    const d = routeRequest(t, { kind: 'sidecar', pod: podOf(t, 'productpage-v1') }, { host: 'api.payments.example', port: 9080, path: '/', method: 'GET', headers: {} }, createPrng(1));
    expect(d.ok && d.cluster).toBe('outbound|9080||api.payments.example');
  });
});

// The built-in scenario these tests use (src/scenarios/bookinfo.ts): Istio's sample files verbatim.
const sample = (name: string) => readFileSync(new URL(`../../../../shared/conformance/istio/bookinfo/${name}`, import.meta.url), 'utf8');

describe('the Bookinfo (Istio) scenario text', () => {
  it('carries the Istio samples verbatim, with the reviews VirtualService of virtual-service-reviews-test-v2.yaml last', () => {
    expect(bookinfoScenario).toContain('# from istio/istio samples/bookinfo, Apache-2.0, Copyright Istio Authors');
    expect(bookinfoScenario).toContain(sample('bookinfo.yaml'));
    expect(bookinfoScenario).toContain(sample('destination-rule-all.yaml'));
    const allV1 = sample('virtual-service-all-v1.yaml').split(/^---\n/m).filter((d) => d.trim());
    expect(allV1).toHaveLength(4);
    for (const doc of allV1) {
      if (doc.includes('name: reviews\n')) expect(bookinfoScenario).not.toContain(doc);
      else expect(bookinfoScenario).toContain(doc);
    }
    expect(bookinfoScenario.endsWith(sample('virtual-service-reviews-test-v2.yaml'))).toBe(true);
  });
});
