import { describe, expect, it } from 'vitest';
import { meshRuns } from '../mesh/flowRuns.ts';
import { loadSnapshot } from '../snapshot.ts';
import type { Trace } from '../types.ts';
import { traceFlow } from './trace.ts';

// Istio's TCP traffic shifting task (istio.io tasks/traffic-management/tcp-traffic-shifting) after
// samples/tcp-echo: a TCP Service port (name tcp), two versions, tcp routes by port and weight.
const app = `apiVersion: v1
kind: Namespace
metadata: {name: istio-io-tcp-traffic-shifting, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: tcp-echo, namespace: istio-io-tcp-traffic-shifting}
spec: {selector: {app: tcp-echo}, ports: [{name: tcp, port: 9000}, {name: tcp-other, port: 9001}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tcp-echo-v1, namespace: istio-io-tcp-traffic-shifting}
spec:
  selector: {matchLabels: {app: tcp-echo, version: v1}}
  template:
    metadata: {labels: {app: tcp-echo, version: v1}}
    spec: {containers: [{name: tcp-echo, image: docker.io/istio/tcp-echo-server:1.3, args: ["9000,9001,9002", one], ports: [{containerPort: 9000}, {containerPort: 9001}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tcp-echo-v2, namespace: istio-io-tcp-traffic-shifting}
spec:
  selector: {matchLabels: {app: tcp-echo, version: v2}}
  template:
    metadata: {labels: {app: tcp-echo, version: v2}}
    spec: {containers: [{name: tcp-echo, image: docker.io/istio/tcp-echo-server:1.3, args: ["9000,9001,9002", two], ports: [{containerPort: 9000}, {containerPort: 9001}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: curl, namespace: istio-io-tcp-traffic-shifting}
spec:
  selector: {matchLabels: {app: curl}}
  template:
    metadata: {labels: {app: curl}}
    spec: {containers: [{name: curl, image: curlimages/curl}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: tcp-echo-destination, namespace: istio-io-tcp-traffic-shifting}
spec: {host: tcp-echo, subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]}
`;
const vs = (route: string) => `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: tcp-echo, namespace: istio-io-tcp-traffic-shifting}\nspec:\n  hosts: [tcp-echo]\n  tcp:\n  - match: [{port: 9000}]\n    route: ${route}\n`;
const allV1 = vs('[{destination: {host: tcp-echo, port: {number: 9000}, subset: v1}}]');
const shift = vs('[{destination: {host: tcp-echo, port: {number: 9000}, subset: v1}, weight: 80}, {destination: {host: tcp-echo, port: {number: 9000}, subset: v2}, weight: 20}]');

function traces(docs: string[], to: string, seeds: number): { traces: Trace[]; runs: ReturnType<typeof meshRuns> } {
  const base = docs.join('\n---\n');
  const curl = loadSnapshot(base, 1).topology.nodes.flatMap((n) => n.pods).find((p) => p.name.startsWith('curl'))!.id;
  const s = loadSnapshot(`${base}\n---\napiVersion: podpath.dev/v1alpha1\nkind: Flow\nmetadata: {name: f, namespace: istio-io-tcp-traffic-shifting}\nspec: {from: ${curl}, to: "${to}"}\n`, 1);
  expect(s.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const flow = s.flows.find((f) => f.name === 'f')!;
  return { traces: Array.from({ length: seeds }, (_, seed) => traceFlow(s.topology, flow, seed)), runs: meshRuns(s.topology, flow, 1) };
}

describe('VirtualService tcp routes: Envoy\'s tcp_proxy routes a TCP port by port and weight, reading no HTTP', () => {
  it('all of port 9000 to v1: the sidecar proxies the connection to the v1 subset', () => {
    const { traces: ts, runs } = traces([app, allV1], 'tcp-echo:9000', 4);
    for (const t of ts) {
      expect(t.verdict.kind).toBe('delivered');
      expect(t.verdict.message).toMatch(/^TCP: curl-\S+'s sidecar proxied the connection to outbound\|9000\|v1\|tcp-echo\.istio-io-tcp-traffic-shifting\.svc\.cluster\.local \(VirtualService istio-io-tcp-traffic-shifting\/tcp-echo, tcp route 1\)/);
      const envoy = t.hops.find((h) => /^istio-proxy \(curl-\S+\): TCP tcp-echo:9000 → /.test(h.mechanism.title))!;
      expect(envoy.mechanism.detail).toMatch(/tcp_proxy filter routes the connection itself/);
      expect(t.hops.some((h) => h.after.headers.some((x) => x.proto === 'http'))).toBe(false);
    }
    expect(runs.timeline).toBeUndefined();
    expect(runs.notes[0]).toMatch(/TCP connection/);
  });

  it('80 / 20 between v1 and v2 over many connections', () => {
    const { traces: ts } = traces([app, shift], 'tcp-echo:9000', 400);
    const v2 = ts.filter((t) => t.verdict.message.includes('|v2|')).length / ts.length;
    expect(v2).toBeGreaterThan(0.14);
    expect(v2).toBeLessThan(0.26);
  });

  it('port 9001 matches no tcp route: the service\'s own cluster, either version', () => {
    const { traces: ts } = traces([app, allV1], 'tcp-echo:9001', 2);
    for (const t of ts) expect(t.verdict.message).toMatch(/proxied the connection to outbound\|9001\|\|tcp-echo/);
  });
});

describe('proxy-config of the client: the TCP listener on the ClusterIP names the tcp route\'s clusters', () => {
  it('Cluster for one destination, WeightedCluster with weights for several', async () => {
    const { proxyConfig } = await import('../mesh/proxyConfig.ts');
    for (const [docs, want] of [[[app, allV1], /^Cluster: outbound\|9000\|v1\|tcp-echo\./], [[app, shift], /^WeightedCluster: outbound\|9000\|v1\|tcp-echo\.\S+ \(80\), outbound\|9000\|v2\|tcp-echo\.\S+ \(20\)$/]] as const) {
      const s = loadSnapshot(docs.join('\n---\n'), 1);
      const curl = s.topology.nodes.flatMap((n) => n.pods).find((p) => p.name.startsWith('curl'))!;
      const svc = s.topology.services.find((x) => x.name === 'tcp-echo')!;
      const l = proxyConfig(s.topology, curl).listeners.find((x) => x.name === `${svc.clusterIP}_9000`)!;
      expect(l.destination).toMatch(want);
    }
  });
});
