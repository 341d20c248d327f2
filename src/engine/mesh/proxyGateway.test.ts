import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../snapshot.ts';
import { egressGatewayScenario } from '../../scenarios/egressGateway.ts';
import { proxyConfig, proxyConfigTable } from './proxyConfig.ts';
import { isMeshProxy } from './proxyGateway.ts';

const dir = new URL('../../../../shared/conformance/istio/bookinfo/', import.meta.url);
const file = (f: string) => readFileSync(new URL(f, dir), 'utf8');
const injected = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: default, labels: {istio-injection: enabled}}\n';

describe('proxy-config of an Istio gateway (its own Envoy, no sidecar)', () => {
  it('ingress: a listener on 8080 with route configuration http.8080, the bookinfo VirtualService\'s routes, outbound clusters only', () => {
    const s = loadSnapshot([injected, file('bookinfo.yaml'), file('bookinfo-gateway.yaml')].join('\n---\n'), 1);
    const gw = s.topology.nodes.flatMap((n) => n.pods).find((p) => p.labels.istio === 'ingressgateway')!;
    expect(isMeshProxy(s.topology, gw)).toBe(true);
    const cfg = proxyConfig(s.topology, gw);
    expect(cfg.listeners.map((l) => `${l.name} ${l.destination}`)).toEqual(['0.0.0.0_8080 Route: http.8080', '0.0.0.0_15021 Inline Route: /healthz/ready*', '0.0.0.0_15090 Inline Route: /stats/prometheus*']);
    expect(cfg.routes.map((r) => `${r.name} ${r.vhost} ${r.match} → ${r.destination}`)).toEqual([
      'http.8080 *:8080 /productpage (exact) → outbound|9080||productpage.default.svc.cluster.local',
      'http.8080 *:8080 /static* → outbound|9080||productpage.default.svc.cluster.local',
      'http.8080 *:8080 /login (exact) → outbound|9080||productpage.default.svc.cluster.local',
      'http.8080 *:8080 /logout (exact) → outbound|9080||productpage.default.svc.cluster.local',
      'http.8080 *:8080 /api/v1/products* → outbound|9080||productpage.default.svc.cluster.local',
    ]);
    expect(cfg.clusters.some((c) => c.direction === 'inbound' || c.name === 'PassthroughCluster')).toBe(false);
    expect(cfg.clusters.map((c) => c.name)).toContain('outbound|9080||reviews.default.svc.cluster.local');
    expect(proxyConfigTable(cfg, 'routes').rows[0]![0]).toBe('http.8080');
  });

  it('egress: the Gateway server on port 80 listens on the Service\'s targetPort 8080; only the gateway\'s match block is in its routes', () => {
    const s = loadSnapshot(egressGatewayScenario, 1);
    const gw = s.topology.nodes.flatMap((n) => n.pods).find((p) => p.labels.istio === 'egressgateway')!;
    const cfg = proxyConfig(s.topology, gw);
    expect(cfg.listeners[0]).toMatchObject({ name: '0.0.0.0_8080', destination: 'Route: http.8080' });
    expect(cfg.routes.map((r) => `${r.vhost} ${r.destination}`)).toEqual(['edition.cnn.com:80 outbound|80||edition.cnn.com']);
  });

  it('a Gateway no VirtualService is bound to: the blackhole virtual host answers 404', () => {
    const s = loadSnapshot([injected, file('bookinfo.yaml'), file('bookinfo-gateway.yaml').split(/^---$/m)[0]!].join('\n---\n'), 1);
    const gw = s.topology.nodes.flatMap((n) => n.pods).find((p) => p.labels.istio === 'ingressgateway')!;
    expect(proxyConfig(s.topology, gw).routes).toEqual([expect.objectContaining({ vhost: 'blackhole:8080', destination: 'direct response 404' })]);
  });
});
