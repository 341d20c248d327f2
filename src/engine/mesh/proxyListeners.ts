// proxy-config listeners: the listeners istiod gives a sidecar (see proxyConfig.ts).
//
// Sources (istio/istio):
// - pilot/pkg/networking/core/listener.go (buildSidecarOutboundListeners: HTTP service ports share
//   a wildcard listener 0.0.0.0_<port> with route configuration "<port>"; TCP ports, and ports whose
//   protocol is sniffed, get a listener on the Service VIP, <vip>_<port>), listener_builder.go and
//   networkfilter.go (virtualOutbound 0.0.0.0:15001 with use_original_dst and PassthroughCluster;
//   virtualInbound 0.0.0.0:15006 with a filter chain per inbound port, mTLS or plain text, and the
//   InboundPassthroughCluster catch-all), listener_inbound.go.
// - meshConfig.outboundTrafficPolicy (ALLOW_ANY: PassthroughCluster; REGISTRY_ONLY:
//   BlackHoleCluster), PeerAuthentication (STRICT keeps only the inbound mTLS chains, DISABLE only
//   the plain-text ones).

import type { PodInfo, Topology } from '../types.ts';
import { cmp, inboundPorts, type PortProtocol, type RegistryHost } from './proxyRegistry.ts';
import { expandHost, peerAuthMode, tcpRouteFor } from './routing.ts';
import { virtualServiceFor } from './proxyRoutes.ts';

export interface ListenerRow {
  /** The Envoy listener's name: virtualOutbound, virtualInbound, 0.0.0.0_9080, 10.96.0.5_3306 … */
  name: string;
  address: string;
  port: number;
  /** The filter chain match, as istioctl summarises it ("ALL", "Trans: raw_buffer; App: http/1.1,h2c" …). */
  match: string;
  /** Where the chain sends traffic: "Route: 9080", "Cluster: outbound|…", "PassthroughCluster" … */
  destination: string;
}

const HTTP_APP = 'Trans: raw_buffer; App: http/1.1,h2c';
const MTLS_HTTP_APP = 'Trans: tls; App: istio-http/1.0,istio-http/1.1,istio-h2';

/**
 * The inbound filter chains of one destination (a port, or the 0.0.0.0/0 catch-all): mTLS and
 * plain text, HTTP and TCP. STRICT keeps only the mTLS chains, DISABLE only the plain-text ones
 * (listener_inbound.go / authn mtls: the filter chain matches per mode).
 */
function inboundChains(addr: string, protocol: PortProtocol, mode: 'STRICT' | 'PERMISSIVE' | 'DISABLE'): string[] {
  const http = [`${MTLS_HTTP_APP}; Addr: ${addr}`, `${HTTP_APP}; Addr: ${addr}`];
  const tcp = [`Trans: tls; App: TCP TLS; Addr: ${addr}`, `Trans: raw_buffer; Addr: ${addr}`, `Trans: tls; Addr: ${addr}`];
  const all = protocol === 'http' ? http : protocol === 'tcp' ? tcp : [...http, ...tcp];
  return all.filter((c) => (mode === 'STRICT' ? c.startsWith('Trans: tls') : mode === 'DISABLE' ? c.startsWith('Trans: raw_buffer') : true));
}

/**
 * Where a TCP listener's tcp_proxy sends connections: the first tcp route of the host's VirtualService
 * that takes this port (networkfilter.go buildOutboundNetworkFiltersWithWeightedClusters), else the
 * service's own cluster.
 */
function tcpDestination(t: Topology, pod: PodInfo, fqdn: string, port: number): string {
  const vs = virtualServiceFor(t, fqdn);
  // The route a connection from this sidecar to the service's address takes: the trace's own choice (routing.ts).
  const r = vs && tcpRouteFor(t, vs, { host: fqdn, port }, { kind: 'sidecar', pod }, undefined)?.route;
  if (!vs || !r) return `Cluster: outbound|${port}||${fqdn}`;
  const d = t.settings.clusterDomain;
  const names = r.route.map((x) => ({ name: `outbound|${x.port ?? port}|${x.subset ?? ''}|${expandHost(x.host, vs.namespace, d)}`, weight: x.weight }));
  return names.length === 1 ? `Cluster: ${names[0]!.name}` : `WeightedCluster: ${names.map((x) => `${x.name} (${x.weight})`).join(', ')}`;
}

export function listeners(t: Topology, pod: PodInfo, hosts: RegistryHost[]): ListenerRow[] {
  const rows: ListenerRow[] = [];
  const httpPorts = new Set<number>();
  // What matches no service: ALLOW_ANY lets it out as it is, REGISTRY_ONLY drops it.
  const fallthrough = t.mesh.outboundTrafficPolicy === 'REGISTRY_ONLY' ? 'BlackHoleCluster' : 'PassthroughCluster';
  for (const h of hosts) {
    for (const p of h.ports) {
      if (p.protocol === 'http') {
        if (httpPorts.has(p.port)) continue;
        httpPorts.add(p.port);
        const name = `0.0.0.0_${p.port}`;
        rows.push({ name, address: '0.0.0.0', port: p.port, match: HTTP_APP, destination: `Route: ${p.port}` });
        rows.push({ name, address: '0.0.0.0', port: p.port, match: 'ALL', destination: fallthrough });
        continue;
      }
      // A TCP or sniffed port binds the service's address; without one (headless services, a
      // ServiceEntry without addresses) Istio builds listeners per endpoint: not drawn here.
      if (!h.vip) continue;
      const name = `${h.vip}_${p.port}`;
      if (p.protocol === 'auto') rows.push({ name, address: h.vip, port: p.port, match: 'App: http/1.1,h2c', destination: `Route: ${h.fqdn}:${p.port}` });
      rows.push({ name, address: h.vip, port: p.port, match: 'ALL', destination: tcpDestination(t, pod, h.fqdn, p.port) });
    }
  }
  // virtualOutbound: iptables sends every outbound connection here; it hands each to the listener of
  // its original destination, and what matches none goes to the fallthrough cluster. The chain for
  // its own port is the loop guard (a connection to 15001 itself is dropped).
  rows.push({ name: 'virtualOutbound', address: '0.0.0.0', port: 15001, match: 'ALL', destination: fallthrough });
  rows.push({ name: 'virtualOutbound', address: '0.0.0.0', port: 15001, match: 'Addr: *:15001', destination: 'Non-HTTP/Non-TCP' });
  // virtualInbound: a filter chain per served port, and the catch-all to InboundPassthroughCluster.
  const mode = peerAuthMode(t, pod);
  rows.push({ name: 'virtualInbound', address: '0.0.0.0', port: 15006, match: 'Addr: *:15006', destination: 'Non-HTTP/Non-TCP' });
  for (const m of inboundChains('0.0.0.0/0', 'auto', mode)) rows.push({ name: 'virtualInbound', address: '0.0.0.0', port: 15006, match: m, destination: 'InboundPassthroughCluster' });
  for (const ip of inboundPorts(t, pod)) {
    for (const m of inboundChains(`*:${ip.port}`, ip.protocol, mode)) rows.push({ name: 'virtualInbound', address: '0.0.0.0', port: 15006, match: m, destination: `Cluster: inbound|${ip.port}||` });
  }
  // The agent's health and Prometheus listeners (the injected container's ports).
  rows.push({ name: '0.0.0.0_15021', address: '0.0.0.0', port: 15021, match: 'ALL', destination: 'Inline Route: /healthz/ready*' });
  rows.push({ name: '0.0.0.0_15090', address: '0.0.0.0', port: 15090, match: 'ALL', destination: 'Inline Route: /stats/prometheus*' });
  // istioctl lists them by port, then address; the order of chains within a listener is kept.
  return rows.map((r, i) => ({ r, i })).sort((a, b) => a.r.port - b.r.port || cmp(a.r.address, b.r.address) || a.i - b.i).map((x) => x.r);
}
