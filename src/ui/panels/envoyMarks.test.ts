import { describe, expect, it } from 'vitest';
import { ids } from '../../engine/ids.ts';
import { proxyConfig } from '../../engine/mesh/proxyConfig.ts';
import { loadSnapshot } from '../../engine/snapshot.ts';
import { traceFlow } from '../../engine/trace/trace.ts';
import { BOOKINFO_PRODUCTPAGE_POD, bookinfoScenario } from '../../scenarios/bookinfo.ts';
import { envoyMarks, flowPod, podAt } from './envoyMarks.ts';

const s = loadSnapshot(bookinfoScenario, 1);
const t = s.topology;
const trace = traceFlow(t, s.flows[0]!, 1);
const pods = t.nodes.flatMap((n) => n.pods);
const productpage = pods.find((p) => p.name === BOOKINFO_PRODUCTPAGE_POD)!;
const reviewsV2 = pods.find((p) => p.owner === 'Deployment default/reviews-v2')!;
const V2 = 'outbound|9080|v2|reviews.default.svc.cluster.local';

describe('the Envoy panel: which sidecar, and what the selected hop used', () => {
  it('finds the pod of a hop at its istio-proxy, eth0 or box, and the flow\'s client pod', () => {
    expect(podAt(t, ids.sidecar(productpage.id))).toBe(productpage);
    expect(podAt(t, ids.podEth0(productpage.id))).toBe(productpage);
    expect(podAt(t, ids.pod(productpage.id))).toBe(productpage);
    expect(podAt(t, ids.netfilter('node-3'))).toBeUndefined();
    expect(flowPod(t, trace.flow.from)).toBe(productpage);
    expect(flowPod(t, 'external')).toBeUndefined();
  });

  it('the client\'s Envoy hop: the listener for port 9080, jason\'s route, the v2 cluster and the endpoint it picked', () => {
    const cfg = proxyConfig(t, productpage);
    const hop = trace.hops.find((h) => h.mechanism.kind === 'envoy')!;
    const m = envoyMarks(cfg, hop);
    expect([...m.listeners].map((i) => cfg.listeners[i]!)).toEqual([expect.objectContaining({ name: '0.0.0.0_9080', destination: 'Route: 9080' })]);
    expect([...m.routes].map((i) => cfg.routes[i]!)).toEqual([expect.objectContaining({ match: '/*, header end-user=jason', destination: V2 })]);
    expect([...m.clusters].map((i) => cfg.clusters[i]!.name)).toEqual([V2]);
    expect([...m.endpoints].map((i) => cfg.endpoints[i]!)).toEqual([{ endpoint: `${reviewsV2.ip}:9080`, status: 'HEALTHY', outlierCheck: 'OK', cluster: V2, pod: reviewsV2.id }]);
  });

  it('the server\'s inbound hop marks its inbound chains and cluster; hops elsewhere mark nothing', () => {
    const cfg = proxyConfig(t, reviewsV2);
    const inbound = trace.hops.find((h) => h.mechanism.kind === 'envoy' && h.at === ids.sidecar(reviewsV2.id))!;
    const m = envoyMarks(cfg, inbound);
    expect([...m.clusters].map((i) => cfg.clusters[i]!.name)).toEqual(['inbound|9080||']);
    expect([...m.listeners].map((i) => cfg.listeners[i]!.destination)).toEqual(['Cluster: inbound|9080||', 'Cluster: inbound|9080||']);
    // The same hop is at another sidecar than productpage's; a netfilter hop is no Envoy hop.
    expect(envoyMarks(proxyConfig(t, productpage), inbound).clusters.size).toBe(0);
    const capture = trace.hops.find((h) => h.mechanism.kind === 'netfilter' && h.at === ids.sidecar(productpage.id))!;
    expect(Object.values(envoyMarks(proxyConfig(t, productpage), capture)).every((x) => x.size === 0)).toBe(true);
    expect(Object.values(envoyMarks(proxyConfig(t, productpage), undefined)).every((x) => x.size === 0)).toBe(true);
  });
});

describe('the Envoy panel for an Istio gateway', () => {
  it('the egress gateway\'s hop (at the gateway pod) marks its listener, route, the ServiceEntry cluster and endpoint', async () => {
    const { egressGatewayScenario } = await import('../../scenarios/egressGateway.ts');
    const e = loadSnapshot(egressGatewayScenario, 1);
    const tr = traceFlow(e.topology, e.flows[0]!, 1);
    const gw = e.topology.nodes.flatMap((n) => n.pods).find((p) => p.labels.istio === 'egressgateway')!;
    const cfg = proxyConfig(e.topology, gw);
    const hop = tr.hops.find((h) => h.mechanism.kind === 'envoy' && h.at === ids.pod(gw.id))!;
    const m = envoyMarks(cfg, hop);
    expect([...m.listeners].map((i) => cfg.listeners[i]!.name)).toEqual(['0.0.0.0_8080']);
    expect([...m.routes].map((i) => cfg.routes[i]!.vhost)).toEqual(['edition.cnn.com:80']);
    expect([...m.clusters].map((i) => cfg.clusters[i]!.name)).toEqual(['outbound|80||edition.cnn.com']);
    expect(m.endpoints.size).toBe(1);
  });
});
