// proxy-config for an Istio gateway's Envoy (istio-ingressgateway, istio-egressgateway): no capture
// rules, no virtualOutbound / virtualInbound — a listener per Gateway server port, a route
// configuration per HTTP listener built from the VirtualServices bound to the Gateway, and the mesh's
// outbound clusters.
// Sources (istio/istio pilot/pkg/networking/core): gateway.go (buildGatewayListeners: one listener
// per server port on the port the pod listens on — a server port that is a port of the gateway's
// Service maps to its targetPort; buildGatewayHTTPRouteConfig: route configuration "http.<port>",
// virtual hosts "<host>:<server port>" from the VirtualServices whose gateways name this Gateway,
// and a "blackhole:<port>" virtual host answering 404 when none does); route/route.go
// (BuildHTTPRoutesForVirtualService with the gateway's names: match blocks naming other gateways or
// another port are left out); cluster.go (gateways get the outbound clusters, no inbound ones).

import type { PodInfo, Topology } from '../types.ts';
import { clusters, endpoints } from './proxyClusters.ts';
import type { ListenerRow } from './proxyListeners.ts';
import { ref, registry } from './proxyRegistry.ts';
import { describeDestination, describeMatchBlock, type RouteRow } from './proxyRoutes.ts';
import { expandHost, gatewayRefMatches, gatewayServicePorts, gatewaysOf, hostMatches } from './routing.ts';

/** A pod with an Envoy istiod configures: a sidecar, or an Istio gateway a Gateway selects. */
export const isMeshProxy = (t: Topology, pod: PodInfo) => !!pod.sidecar || gatewaysOf(t, pod.labels).length > 0;

export function gatewayProxyConfig(t: Topology, pod: PodInfo): { listeners: ListenerRow[]; routes: RouteRow[]; clusters: ReturnType<typeof clusters>; endpoints: ReturnType<typeof endpoints> } {
  const d = t.settings.clusterDomain;
  const gws = gatewaysOf(t, pod.labels);
  const servicePorts = gatewayServicePorts(t, pod.namespace, pod.labels);
  const listenPort = (server: number) => {
    const sp = servicePorts.find((p) => p.port === server);
    return sp && typeof sp.targetPort === 'number' ? sp.targetPort : server;
  };
  const listeners: ListenerRow[] = [];
  const routes: RouteRow[] = [];
  const seen = new Set<number>();
  for (const g of gws) {
    for (const s of g.servers) {
      const port = listenPort(s.port);
      const http = ['HTTP', 'HTTP2', 'GRPC', 'HTTPS'].includes(s.protocol.toUpperCase());
      const routeName = `http.${port}`;
      if (!seen.has(port)) {
        seen.add(port);
        listeners.push({ name: `0.0.0.0_${port}`, address: '0.0.0.0', port, match: 'ALL', destination: http ? `Route: ${routeName}` : 'TCP proxy (tcp / tls routes: not modelled)' });
      }
      if (!http) continue;
      // The VirtualServices bound to this Gateway whose hosts meet the server's hosts.
      const serverHosts = s.hosts.map((h) => expandHost(h, g.namespace, d));
      const bound = t.mesh.virtualServices.filter((vs) => vs.gateways.some((r) => gatewayRefMatches(r, vs.namespace, g)));
      let any = false;
      for (const vs of bound) {
        for (const host of vs.hosts.map((h) => expandHost(h, vs.namespace, d))) {
          if (!serverHosts.some((sh) => hostMatches(sh, host) || hostMatches(host, sh))) continue;
          any = true;
          const vhost = `${host}:${s.port}`;
          for (const [i, r] of vs.http.entries()) {
            const destination = describeDestination(t, r, vs.namespace, s.port);
            if (r.match.length === 0) {
              routes.push({ name: routeName, vhost, domains: [host, `${host}:${s.port}`], match: '/*', destination, virtualService: ref(vs), httpRoute: { index: i + 1, match: 0 } });
              break;
            }
            r.match.forEach((b, j) => {
              if (b.port !== undefined && b.port !== s.port) return;
              if (b.gateways && !b.gateways.some((x) => gatewayRefMatches(x, vs.namespace, g))) return;
              routes.push({ name: routeName, vhost, domains: [host, `${host}:${s.port}`], match: describeMatchBlock(b), destination, virtualService: ref(vs), httpRoute: { index: i + 1, match: j + 1 } });
            });
          }
        }
      }
      if (!any) routes.push({ name: routeName, vhost: `blackhole:${s.port}`, domains: ['*'], match: '/*', destination: 'direct response 404', virtualService: '' });
    }
  }
  listeners.push({ name: '0.0.0.0_15021', address: '0.0.0.0', port: 15021, match: 'ALL', destination: 'Inline Route: /healthz/ready*' });
  listeners.push({ name: '0.0.0.0_15090', address: '0.0.0.0', port: 15090, match: 'ALL', destination: 'Inline Route: /stats/prometheus*' });
  listeners.sort((a, b) => a.port - b.port);
  const hosts = registry(t);
  const sidecarOnly = new Set(['InboundPassthroughCluster', 'PassthroughCluster']);
  return {
    listeners,
    routes,
    clusters: clusters(t, pod, hosts).filter((c) => c.direction !== 'inbound' && !sidecarOnly.has(c.name)),
    endpoints: endpoints(t, pod, hosts),
  };
}
