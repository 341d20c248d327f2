import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../snapshot.ts';
import type { Trace } from '../types.ts';
import { worldAddress } from '../mesh/routing.ts';
import { traceFlow } from './trace.ts';

// Istio's egress gateway task (istio.io tasks/traffic-management/egress/egress-gateway), HTTP part.
const client = `apiVersion: v1
kind: Namespace
metadata: {name: default, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: curl}
spec:
  selector: {matchLabels: {app: curl}}
  template:
    metadata: {labels: {app: curl}}
    spec: {containers: [{name: curl, image: curlimages/curl}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: cnn}
spec:
  hosts: [edition.cnn.com]
  ports: [{number: 80, name: http-port, protocol: HTTP}, {number: 443, name: https, protocol: HTTPS}]
  resolution: DNS
`;
const viaGateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: istio-egressgateway}
spec:
  selector: {istio: egressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [edition.cnn.com]}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: egressgateway-for-cnn}
spec:
  host: istio-egressgateway.istio-system.svc.cluster.local
  subsets: [{name: cnn}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: direct-cnn-through-egress-gateway}
spec:
  hosts: [edition.cnn.com]
  gateways: [istio-egressgateway, mesh]
  http:
  - match: [{gateways: [mesh], port: 80}]
    route: [{destination: {host: istio-egressgateway.istio-system.svc.cluster.local, subset: cnn, port: {number: 80}}, weight: 100}]
  - match: [{gateways: [istio-egressgateway], port: 80}]
    route: [{destination: {host: edition.cnn.com, port: {number: 80}}, weight: 100}]
`;
const flow = (from: string) => `apiVersion: podpath.dev/v1alpha1\nkind: Flow\nmetadata: {name: f}\nspec: {from: ${from}, to: "edition.cnn.com:80", request: {path: /politics}}\n`;

function trace(docs: string[], seed = 1): Trace {
  const base = docs.join('\n---\n');
  const curl = loadSnapshot(base, 1).topology.nodes.flatMap((n) => n.pods).find((p) => p.name.startsWith('curl'))!.id;
  const s = loadSnapshot(`${base}\n---\n${flow(curl)}`, 1);
  expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return traceFlow(s.topology, s.flows.find((f) => f.name === 'f')!, seed);
}
const titles = (t: Trace) => t.hops.map((h) => h.mechanism.title);

describe('egress: a ServiceEntry host, straight or through Istio\'s egress gateway', () => {
  it('with only the ServiceEntry, the sidecar sends to the DNS-resolved address itself', () => {
    const t = trace([client]);
    expect(t.verdict.kind).toBe('delivered');
    expect(titles(t)).toContainEqual(expect.stringMatching(new RegExp(`→ outbound\\|80\\|\\|edition\\.cnn\\.com → ${worldAddress('edition.cnn.com').replace(/\./g, '\\.')}:80$`)));
    expect(titles(t).some((x) => /egress gateway/.test(x))).toBe(false);
  });

  it('with the Gateway, DestinationRule and VirtualService: sidecar → egress gateway (mTLS) → its Envoy routes to the ServiceEntry → out of the cluster', () => {
    for (const seed of [1, 2, 3]) {
      const t = trace([client, viaGateway], seed);
      expect(t.verdict.kind).toBe('delivered');
      const ti = titles(t);
      const at = (re: RegExp) => ti.findIndex((x) => re.test(x));
      const order = [
        /^istio-proxy \(curl-\S+\): GET edition\.cnn\.com:80\/politics → outbound\|80\|cnn\|istio-egressgateway\.istio-system\.svc\.cluster\.local → 10\.244\.\d+\.\d+:8080$/,
        /^istio-proxy \(curl-\S+\) → istio-egressgateway-\S+: the request, inside mutual TLS$/,
        new RegExp(`^istio-egressgateway-\\S+ \\(egress gateway\\): GET edition\\.cnn\\.com/politics → outbound\\|80\\|\\|edition\\.cnn\\.com → ${worldAddress('edition.cnn.com').replace(/\./g, '\\.')}:80$`),
      ].map(at);
      expect(order.every((i) => i >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
      expect(t.verdict.kind === 'delivered' && t.verdict.message).toMatch(/^The egress gateway istio-egressgateway-\S+ routed GET edition\.cnn\.com\/politics to outbound\|80\|\|edition\.cnn\.com/);
      // The gateway's Envoy matched its server on port 80 although it listens on 8080 (the Service's targetPort).
      expect(t.hops.map((h) => h.mechanism.detail).join(' ')).toMatch(/listens on 8080, the targetPort of its Service's port 80/);
    }
  });

  it('without a Gateway selecting the egress gateway its Envoy has no listener: connection refused, 503 UF at the client', () => {
    const noGateway = viaGateway.split('---\n').filter((d) => !/^kind: Gateway$/m.test(d)).join('---\n').replace('gateways: [istio-egressgateway, mesh]', 'gateways: [mesh]');
    const t = trace([client, noGateway, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: istio-egressgateway, namespace: istio-system}\nspec: {selector: {matchLabels: {istio: egressgateway}}, template: {metadata: {labels: {istio: egressgateway, sidecar.istio.io/inject: "false"}}, spec: {containers: [{name: istio-proxy, image: docker.io/istio/proxyv2, ports: [{containerPort: 8080}]}]}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: istio-egressgateway, namespace: istio-system}\nspec: {selector: {istio: egressgateway}, ports: [{name: http2, port: 80, targetPort: 8080}]}\n']);
    expect(t.verdict.kind).toBe('rejected');
    expect(t.verdict.kind !== 'delivered' && t.verdict.message).toMatch(/^HTTP 503 \(UF\).*delayed connect error: 111/);
    expect(titles(t)).toContainEqual(expect.stringMatching(/^istio-egressgateway-\S+: no listener on port 8080 — connection refused$/));
  });

  it('TLS origination (the egress TLS origination task): port 80 targets 443, and the DestinationRule\'s port-80 setting makes the sidecar speak TLS', () => {
    const se = client.replace('{number: 80, name: http-port, protocol: HTTP}', '{number: 80, name: http-port, protocol: HTTP, targetPort: 443}');
    const dr = 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: edition-cnn-com}\nspec: {host: edition.cnn.com, trafficPolicy: {portLevelSettings: [{port: {number: 80}, tls: {mode: SIMPLE}}]}}\n';
    const t = trace([se, dr]);
    expect(t.verdict.kind).toBe('delivered');
    const hop = t.hops.find((h) => /→ outbound\|80\|\|edition\.cnn\.com → /.test(h.mechanism.title))!;
    expect(hop.mechanism.title).toMatch(new RegExp(`${worldAddress('edition.cnn.com').replace(/\./g, '\\.')}:443$`));
    expect(hop.mechanism.detail).toMatch(/tls\.mode SIMPLE/);
    // Without the DestinationRule the sidecar still sends to 443, but in plain text.
    const plain = trace([se]);
    expect(plain.hops.find((h) => /→ outbound\|80\|\|edition\.cnn\.com → /.test(h.mechanism.title))!.mechanism.detail).toMatch(/sends plain text/);
  });
});
