// What `istioctl proxy-config listeners|routes|clusters|endpoints <pod>` would show for a sidecar:
// the Envoy configuration istiod builds for that pod, derived from the same Services,
// VirtualServices and DestinationRules that mesh/routing.ts routes a request with (and with its
// helpers), so the tables and the trace cannot disagree on a route, a cluster or an endpoint.
// Pure and deterministic: no DOM, no clock; rows in a stable order.
//
// Sources (istio/istio):
// - pilot/pkg/networking/core/listener.go (buildSidecarOutboundListeners: HTTP service ports share
//   a wildcard listener 0.0.0.0_<port> with route configuration "<port>"; TCP ports, and ports whose
//   protocol is sniffed, get a listener on the Service VIP, <vip>_<port>), listener_builder.go and
//   networkfilter.go (virtualOutbound 0.0.0.0:15001 with use_original_dst and PassthroughCluster;
//   virtualInbound 0.0.0.0:15006 with a filter chain per inbound port, mTLS or plain text, and the
//   InboundPassthroughCluster catch-all), listener_inbound.go.
// - pilot/pkg/networking/core/httproute.go (BuildSidecarOutboundVirtualHosts: one virtual host per
//   service and port named "<fqdn>:<port>", generateVirtualHostDomains / generateAltVirtualHosts
//   for the domains; the allow_any virtual host to PassthroughCluster) and route/route.go
//   (BuildHTTPRoutesForVirtualService / translateRoute: one Envoy route per HTTPMatchRequest, in
//   order; sourceMatchHTTP drops match blocks whose sourceLabels, sourceNamespace, gateways or port
//   do not fit this proxy; BuildDefaultHTTPOutboundRoute for a service without a VirtualService).
// - pilot/pkg/networking/core/cluster.go and cluster_builder.go (outbound|<port>||<fqdn> per
//   service port, outbound|<port>|<subset>|<fqdn> per DestinationRule subset, inbound|<port>||,
//   BlackHoleCluster, PassthroughCluster, InboundPassthroughCluster; the load balancer from the
//   DestinationRule, the subset's traffic policy merged over it field by field — MergeTrafficPolicy;
//   default LEAST_REQUEST since Istio 1.14), pilot/pkg/model/service.go (BuildSubsetKey).
// - istioctl/pkg/writer/envoy/configdump (the table columns and their order).
// - pilot/pkg/serviceregistry/serviceentry/conversion.go (ServiceEntry hosts as services: a cluster
//   per host and port, typed by resolution), meshConfig.outboundTrafficPolicy (ALLOW_ANY:
//   PassthroughCluster and the allow_any virtual host; REGISTRY_ONLY: BlackHoleCluster, block_all),
//   PeerAuthentication (STRICT keeps only the inbound mTLS chains, DISABLE only the plain-text ones).
// Not modelled: Sidecar resources and exportTo (every object is visible everywhere, as in
// routing.ts), headless per-endpoint listeners, UDP ports (Istio builds nothing for them), DNS
// resolution of ServiceEntry hosts (their name is shown as the endpoint).

import type { DestinationRuleInfo, HttpMatchInfo, HttpRouteInfo, PodInfo, ServiceInfo, ServicePortInfo, StringMatch, Topology, TrafficPolicyInfo, VirtualServiceInfo } from '../types.ts';
import { destinationRuleFor, expandHost, hostMatches, peerAuthMode, serviceForHost, serviceFqdn } from './routing.ts';

export type ProxyConfigView = 'listeners' | 'routes' | 'clusters' | 'endpoints';
export const PROXY_CONFIG_VIEWS: readonly ProxyConfigView[] = ['listeners', 'routes', 'clusters', 'endpoints'];

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

export interface RouteRow {
  /** The route configuration: "9080" (a wildcard HTTP listener's), "<fqdn>:<port>", or an inbound one. */
  name: string;
  /** The virtual host: "<fqdn>:<port>", "allow_any", "inbound|http|9080". */
  vhost: string;
  domains: string[];
  /** The route's match, summarised: "/*", "/api*", "/v3 (exact)", then header and other conditions. */
  match: string;
  /** The cluster(s) the route sends to, with weights; or a direct response or redirect. */
  destination: string;
  /** "name.namespace" of the VirtualService the route comes from; "" for a default route. */
  virtualService: string;
  /** 1-based index of the VirtualService's http route and of its match block (0: no match block); undefined for a default route. */
  httpRoute?: { index: number; match: number };
}

export interface ClusterRow {
  /** The Envoy cluster's name: outbound|9080|v2|reviews.default.svc.cluster.local, inbound|9080||, BlackHoleCluster … */
  name: string;
  /** The service's FQDN; the name itself for a cluster without a service; "" for an inbound cluster. */
  fqdn: string;
  port: number | undefined;
  subset: string;
  direction: 'outbound' | 'inbound' | '';
  type: 'EDS' | 'ORIGINAL_DST' | 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS';
  /** "name.namespace" of the DestinationRule applied; "" when none. */
  destinationRule: string;
  /** Envoy's lb_policy ("" for clusters without endpoints to balance). */
  lbPolicy: string;
}

export interface EndpointRow {
  /** ip:port */
  endpoint: string;
  status: 'HEALTHY';
  outlierCheck: 'OK';
  cluster: string;
  /** The pod behind the endpoint ("namespace/name"), when podpath knows it. */
  pod?: string;
}

export interface ProxyConfig {
  /** "namespace/name" of the sidecar's pod. */
  pod: string;
  listeners: ListenerRow[];
  routes: RouteRow[];
  clusters: ClusterRow[];
  endpoints: EndpointRow[];
}

/** A view as a table: istioctl's column names and the rows as text. */
export interface ConfigTable {
  columns: string[];
  rows: string[][];
}

type PortProtocol = 'http' | 'tcp' | 'auto';

/**
 * A Service port's protocol as Istio reads it from the port name "<protocol>[-<suffix>]"
 * (pkg/config/protocol/instance.go Parse, pilot/pkg/serviceregistry/kube/conversion.go): HTTP-like
 * names are HTTP, other known ones TCP, an unnamed or unknown name is sniffed ("auto").
 */
export function portProtocol(p: Pick<ServicePortInfo, 'name' | 'protocol'>): PortProtocol {
  const prefix = p.name.split('-')[0]!.toLowerCase();
  if (['http', 'http2', 'grpc', 'grpc-web', 'http_proxy'].includes(prefix)) return 'http';
  if (['tcp', 'tls', 'https', 'mongo', 'mysql', 'redis', 'thrift'].includes(prefix)) return 'tcp';
  return 'auto';
}

/** Envoy's lb_policy for a DestinationRule loadBalancer (cluster_traffic_policy.go applyLoadBalancer). */
function envoyLbPolicy(simple: string | undefined): string {
  switch (simple) {
    case 'ROUND_ROBIN':
      return 'ROUND_ROBIN';
    case 'RANDOM':
      return 'RANDOM';
    case 'PASSTHROUGH':
      return 'CLUSTER_PROVIDED';
    case 'CONSISTENT_HASH':
      return 'RING_HASH';
    default:
      // LEAST_CONN, LEAST_REQUEST, UNSPECIFIED and no policy at all: LEAST_REQUEST.
      return 'LEAST_REQUEST';
  }
}

/** MergeTrafficPolicy: the subset's policy replaces the rule's field by field (here: the load balancer). */
function mergedPolicy(dr: DestinationRuleInfo | undefined, subset?: string): TrafficPolicyInfo | undefined {
  const sub = subset ? dr?.subsets.find((s) => s.name === subset)?.trafficPolicy : undefined;
  if (!sub) return dr?.trafficPolicy;
  return { ...dr?.trafficPolicy, ...Object.fromEntries(Object.entries(sub).filter(([, v]) => v !== undefined)) };
}

const ref = (o: { name: string; namespace: string }) => `${o.name}.${o.namespace}`;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A ServiceEntry port's protocol (its `protocol` field, istio/api service_entry.proto Port). */
function entryPortProtocol(protocol: string): PortProtocol {
  if (['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB'].includes(protocol)) return 'http';
  if (['TCP', 'TLS', 'HTTPS', 'MONGO', 'MYSQL', 'REDIS'].includes(protocol)) return 'tcp';
  return 'auto';
}

interface HostEndpoint {
  ip: string;
  port: number;
  labels: Record<string, string>;
  pod?: string;
}

/**
 * One host of the service registry a sidecar sees (pilot/pkg/model.Service): a Kubernetes Service
 * ("<name>.<ns>.svc.<domain>") or a ServiceEntry host, with its ports and endpoints per port.
 */
interface RegistryHost {
  fqdn: string;
  namespace: string;
  /** The address a TCP listener binds: the ClusterIP, or the ServiceEntry's first address. */
  vip?: string;
  ports: { port: number; protocol: PortProtocol }[];
  type: ClusterRow['type'];
  domains: (proxyNamespace: string) => string[];
  /** The endpoints EDS (or DNS) gives a cluster of this port; none for ORIGINAL_DST. */
  endpoints: (port: number) => HostEndpoint[];
}

function registry(t: Topology): RegistryHost[] {
  const d = t.settings.clusterDomain;
  const pods = new Map(t.nodes.flatMap((n) => n.pods).map((p) => [p.id, p]));
  const out: RegistryHost[] = [];
  for (const svc of t.services) {
    const vip = svc.clusterIP !== '' && svc.clusterIP !== 'None' ? svc.clusterIP : undefined;
    const ports = svc.ports.filter((p) => p.protocol === 'TCP');
    if (!ports.length) continue;
    out.push({
      fqdn: serviceFqdn(svc, d),
      namespace: svc.namespace,
      vip,
      ports: ports.map((p) => ({ port: p.port, protocol: portProtocol(p) })),
      type: svc.type === 'ExternalName' ? 'STRICT_DNS' : vip ? 'EDS' : 'ORIGINAL_DST',
      domains: (ns) => virtualHostDomains(svc, ns, d),
      // The ready endpoints of the port (routing.ts picks from the same list).
      endpoints: (port) => {
        if (!vip) return [];
        const sp = ports.find((p) => p.port === port)!;
        return svc.endpoints.filter((e) => e.ready && e.portName === sp.name).map((e) => {
          const p = e.podId ? pods.get(e.podId) : undefined;
          return { ip: e.ip, port: e.port, labels: p?.labels ?? {}, ...(p ? { pod: p.id } : {}) };
        });
      },
    });
  }
  // ServiceEntry hosts (serviceentry/conversion.go convertServices): a cluster per host and port,
  // resolved as the entry says (NONE: the original destination; STATIC: its endpoints; DNS: Envoy
  // resolves the endpoints' names, or the host itself).
  for (const se of t.mesh.serviceEntries ?? []) {
    for (const host of se.hosts) {
      if (serviceForHost(t, host, se.namespace) || out.some((h) => h.fqdn === host)) continue;
      const type: ClusterRow['type'] = se.resolution === 'STATIC' ? 'EDS' : se.resolution === 'NONE' ? 'ORIGINAL_DST' : se.resolution === 'DNS' ? 'STRICT_DNS' : 'LOGICAL_DNS';
      out.push({
        fqdn: host,
        namespace: se.namespace,
        vip: se.addresses[0],
        ports: se.ports.map((p) => ({ port: p.number, protocol: entryPortProtocol(p.protocol) })),
        type,
        domains: () => [host, ...se.addresses],
        endpoints: (port) => {
          if (type === 'ORIGINAL_DST') return [];
          const eps = se.endpoints.map((e) => ({ ip: e.address, port, labels: e.labels }));
          return eps.length || type === 'EDS' ? eps : [{ ip: host, port, labels: {} }];
        },
      });
    }
  }
  return out.sort((a, b) => cmp(a.fqdn, b.fqdn));
}

/** The VirtualService a sidecar applies to a service host: the first (oldest) bound to the mesh that claims it — as routing.ts picks it. */
export function virtualServiceFor(t: Topology, fqdn: string): VirtualServiceInfo | undefined {
  const d = t.settings.clusterDomain;
  return t.mesh.virtualServices.find((vs) => (vs.gateways.length === 0 || vs.gateways.includes('mesh')) && vs.hosts.some((h) => hostMatches(expandHost(h, vs.namespace, d), fqdn)));
}

/**
 * generateVirtualHostDomains: the FQDN; the short name when the service is in the proxy's
 * namespace; "<name>.<namespace>" and "<name>.<namespace>.svc"; the VIP. Ports are not added:
 * Istio ignores the port in the Host header for sidecars (SIDECAR_IGNORE_PORT_IN_HOST_MATCH).
 */
export function virtualHostDomains(svc: ServiceInfo, proxyNamespace: string, domain: string): string[] {
  const out = [serviceFqdn(svc, domain)];
  if (svc.namespace === proxyNamespace) out.push(svc.name);
  out.push(`${svc.name}.${svc.namespace}.svc`, `${svc.name}.${svc.namespace}`);
  if (svc.clusterIP !== '' && svc.clusterIP !== 'None') out.push(svc.clusterIP);
  return out;
}

function describeString(m: StringMatch): string {
  if ('exact' in m) return `=${m.exact}`;
  if ('prefix' in m) return `^=${m.prefix}`;
  return `~=${m.regex}`;
}

function describeUri(m: StringMatch | undefined, ignoreCase: boolean): string {
  const ic = ignoreCase ? ' (any case)' : '';
  if (!m) return '/*';
  if ('prefix' in m) return `${m.prefix}*${ic}`;
  if ('exact' in m) return `${m.exact} (exact)${ic}`;
  return `~${m.regex}${ic}`;
}

/** One match block as a line: the path first (as istioctl prints it), then every other condition. */
export function describeMatchBlock(b: HttpMatchInfo | undefined): string {
  if (!b) return '/*';
  const parts = [describeUri(b.uri, b.ignoreUriCase)];
  if (b.method) parts.push(`method${describeString(b.method)}`);
  if (b.authority) parts.push(`authority${describeString(b.authority)}`);
  if (b.scheme) parts.push(`scheme${describeString(b.scheme)}`);
  for (const [name, m] of Object.entries(b.headers)) parts.push(m ? `header ${name}${describeString(m)}` : `header ${name} present`);
  for (const [name, m] of Object.entries(b.withoutHeaders)) parts.push(m ? `without header ${name}${describeString(m)}` : `without header ${name}`);
  for (const [name, m] of Object.entries(b.queryParams)) parts.push(m ? `query ${name}${describeString(m)}` : `query ${name} present`);
  return parts.join(', ');
}

/**
 * sourceMatchHTTP (route.go): a match block that names sourceLabels, a sourceNamespace or gateways
 * this sidecar does not have, or another port than the listener's, is left out of its
 * configuration altogether.
 */
function blockAppliesTo(b: HttpMatchInfo, pod: PodInfo, port: number): boolean {
  if (b.port !== undefined && b.port !== port) return false;
  if (b.sourceLabels && Object.entries(b.sourceLabels).some(([k, v]) => pod.labels[k] !== v)) return false;
  if (b.sourceNamespace && b.sourceNamespace !== pod.namespace) return false;
  if (b.gateways && !b.gateways.includes('mesh')) return false;
  return true;
}

function describeDestination(t: Topology, r: HttpRouteInfo, vsNamespace: string, listenerPort: number): string {
  const d = t.settings.clusterDomain;
  if (r.directResponse) return `direct response ${r.directResponse.status}`;
  if (r.redirect) return `redirect ${r.redirect.code}${r.redirect.authority ? ` to ${r.redirect.authority}` : ''}${r.redirect.uri ? ` ${r.redirect.uri}` : ''}`;
  const clusters = r.route.map((dest) => {
    const fqdn = expandHost(dest.host, vsNamespace, d);
    const svc = serviceForHost(t, fqdn, vsNamespace);
    // The destination port: the one named, else the service's only port, else the listener's (route.go).
    const port = dest.port ?? (svc?.ports.length === 1 ? svc.ports[0]!.port : listenerPort);
    const name = `outbound|${port}|${dest.subset ?? ''}|${fqdn}`;
    return r.route.length > 1 ? `${name} (weight ${dest.weight})` : name;
  });
  const extras: string[] = [];
  if (r.fault?.delay) extras.push(`fault: delay ${r.fault.delay.ms / 1000}s for ${r.fault.delay.percent}%`);
  if (r.fault?.abort) extras.push(`fault: abort ${r.fault.abort.status} for ${r.fault.abort.percent}%`);
  if (r.timeoutMs !== undefined) extras.push(`timeout ${r.timeoutMs / 1000}s`);
  if (r.retries) extras.push(`retries ${r.retries.attempts}`);
  if (r.mirror) extras.push(`mirror ${r.mirror.host}${r.mirror.subset ? `|${r.mirror.subset}` : ''}`);
  return [clusters.join(', '), ...extras].join('; ');
}

type RouteBody = Omit<RouteRow, 'name' | 'vhost' | 'domains'>;

/** The routes of one virtual host: the VirtualService's, translated match block by match block, or the default route. */
function virtualHostRoutes(t: Topology, pod: PodInfo, host: RegistryHost, port: number): RouteBody[] {
  const vs = virtualServiceFor(t, host.fqdn);
  if (!vs) return [{ match: '/*', destination: `outbound|${port}||${host.fqdn}`, virtualService: '' }];
  const out: RouteBody[] = [];
  for (const [i, r] of vs.http.entries()) {
    const destination = describeDestination(t, r, vs.namespace, port);
    if (r.match.length === 0) {
      out.push({ match: '/*', destination, virtualService: ref(vs), httpRoute: { index: i + 1, match: 0 } });
      // A route without match takes every request: translateRoutes stops after it ("catch-all").
      break;
    }
    r.match.forEach((b, j) => {
      if (blockAppliesTo(b, pod, port)) out.push({ match: describeMatchBlock(b), destination, virtualService: ref(vs), httpRoute: { index: i + 1, match: j + 1 } });
    });
  }
  return out;
}

/** Services whose endpoints include this pod: the ports its inbound listener and clusters serve. */
function inboundPorts(t: Topology, pod: PodInfo): { port: number; protocol: PortProtocol; servicePort: number }[] {
  const seen = new Map<number, { port: number; protocol: PortProtocol; servicePort: number }>();
  for (const svc of t.services) {
    for (const e of svc.endpoints) {
      if (e.podId !== pod.id || e.protocol !== 'TCP' || seen.has(e.port)) continue;
      const sp = svc.ports.find((p) => p.name === e.portName) ?? svc.ports[0];
      seen.set(e.port, { port: e.port, protocol: sp ? portProtocol(sp) : 'auto', servicePort: sp?.port ?? e.port });
    }
  }
  return [...seen.values()].sort((a, b) => a.port - b.port);
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

function listeners(t: Topology, pod: PodInfo, hosts: RegistryHost[]): ListenerRow[] {
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
      rows.push({ name, address: h.vip, port: p.port, match: 'ALL', destination: `Cluster: outbound|${p.port}||${h.fqdn}` });
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

function routes(t: Topology, pod: PodInfo, hosts: RegistryHost[]): RouteRow[] {
  const rows: RouteRow[] = [];
  // Route configurations of the wildcard HTTP listeners, "<port>": a virtual host per service on that port.
  const byPort = new Map<number, RegistryHost[]>();
  const sniffed: { host: RegistryHost; port: number }[] = [];
  for (const h of hosts) {
    for (const p of h.ports) {
      if (p.protocol === 'http') byPort.set(p.port, [...(byPort.get(p.port) ?? []), h]);
      else if (p.protocol === 'auto' && h.vip) sniffed.push({ host: h, port: p.port });
    }
  }
  const vhost = (name: string, h: RegistryHost, port: number) => {
    const domains = h.domains(pod.namespace);
    for (const r of virtualHostRoutes(t, pod, h, port)) rows.push({ name, vhost: `${h.fqdn}:${port}`, domains, ...r });
  };
  for (const port of [...byPort.keys()].sort((a, b) => a - b)) {
    for (const h of byPort.get(port)!) vhost(String(port), h, port);
    // Any other host: ALLOW_ANY (the default) lets it out as it is; REGISTRY_ONLY answers 502.
    if (t.mesh.outboundTrafficPolicy === 'REGISTRY_ONLY') rows.push({ name: String(port), vhost: 'block_all', domains: ['*'], match: '/*', destination: 'direct response 502 (BlackHoleCluster)', virtualService: '' });
    else rows.push({ name: String(port), vhost: 'allow_any', domains: ['*'], match: '/*', destination: 'PassthroughCluster', virtualService: '' });
  }
  for (const { host, port } of sniffed) vhost(`${host.fqdn}:${port}`, host, port);
  // The inbound HTTP routes: every request on a served port goes to the app through inbound|<port>||.
  for (const ip of inboundPorts(t, pod)) {
    if (ip.protocol === 'tcp') continue;
    rows.push({ name: `inbound|${ip.port}||`, vhost: `inbound|http|${ip.servicePort}`, domains: ['*'], match: '/*', destination: `inbound|${ip.port}||`, virtualService: '' });
  }
  return rows;
}

function clusters(t: Topology, pod: PodInfo, hosts: RegistryHost[]): ClusterRow[] {
  const rows: ClusterRow[] = [];
  for (const h of hosts) {
    const dr = destinationRuleFor(t, h.fqdn, pod.namespace, h.namespace);
    const lb = (subset?: string) => (h.type === 'ORIGINAL_DST' ? 'CLUSTER_PROVIDED' : envoyLbPolicy(mergedPolicy(dr, subset)?.loadBalancer));
    for (const p of h.ports) {
      rows.push({ name: `outbound|${p.port}||${h.fqdn}`, fqdn: h.fqdn, port: p.port, subset: '', direction: 'outbound', type: h.type, destinationRule: dr ? ref(dr) : '', lbPolicy: lb() });
      for (const s of dr?.subsets ?? []) {
        rows.push({ name: `outbound|${p.port}|${s.name}|${h.fqdn}`, fqdn: h.fqdn, port: p.port, subset: s.name, direction: 'outbound', type: h.type, destinationRule: ref(dr!), lbPolicy: lb(s.name) });
      }
    }
  }
  for (const ip of inboundPorts(t, pod)) rows.push({ name: `inbound|${ip.port}||`, fqdn: '', port: ip.port, subset: '', direction: 'inbound', type: 'ORIGINAL_DST', destinationRule: '', lbPolicy: 'CLUSTER_PROVIDED' });
  const fixed = (name: string, type: ClusterRow['type'], lbPolicy = '') => rows.push({ name, fqdn: name, port: undefined, subset: '', direction: '', type, destinationRule: '', lbPolicy });
  fixed('BlackHoleCluster', 'STATIC');
  fixed('InboundPassthroughCluster', 'ORIGINAL_DST', 'CLUSTER_PROVIDED');
  fixed('PassthroughCluster', 'ORIGINAL_DST', 'CLUSTER_PROVIDED');
  fixed('agent', 'STATIC');
  fixed('prometheus_stats', 'STATIC');
  fixed('sds-grpc', 'STATIC');
  fixed('xds-grpc', 'STATIC');
  // istioctl sorts by FQDN, port, subset, direction (byte order: upper case first).
  return rows.sort((a, b) => cmp(a.fqdn, b.fqdn) || (a.port ?? 0) - (b.port ?? 0) || cmp(a.subset, b.subset) || cmp(a.direction, b.direction));
}

function endpoints(t: Topology, pod: PodInfo, hosts: RegistryHost[]): EndpointRow[] {
  const rows: EndpointRow[] = [];
  for (const h of hosts) {
    const dr = destinationRuleFor(t, h.fqdn, pod.namespace, h.namespace);
    for (const p of h.ports) {
      const eps = h.endpoints(p.port);
      // A subset's cluster keeps the endpoints whose pod (or ServiceEntry endpoint) has its labels.
      const add = (cluster: string, labels: Record<string, string>) => {
        for (const e of eps) {
          if (!Object.entries(labels).every(([k, v]) => e.labels[k] === v)) continue;
          rows.push({ endpoint: `${e.ip}:${e.port}`, status: 'HEALTHY', outlierCheck: 'OK', cluster, ...(e.pod ? { pod: e.pod } : {}) });
        }
      };
      add(`outbound|${p.port}||${h.fqdn}`, {});
      for (const s of dr?.subsets ?? []) add(`outbound|${p.port}|${s.name}|${h.fqdn}`, s.labels);
    }
  }
  // By service, port and subset (the whole service's cluster first), then by address.
  const key = (r: EndpointRow) => {
    const [, port, subset, fqdn] = r.cluster.split('|');
    return { fqdn: fqdn!, port: Number(port), subset: subset! };
  };
  return rows.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return cmp(ka.fqdn, kb.fqdn) || ka.port - kb.port || cmp(ka.subset, kb.subset) || cmpEndpoint(a.endpoint, b.endpoint);
  });
}

/** ip:port by number (10.244.1.2 before 10.244.1.10). */
function cmpEndpoint(a: string, b: string): number {
  const n = (s: string) => s.split(/[.:]/).map(Number);
  const x = n(a);
  const y = n(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return cmp(a, b);
}

/** The pod a reference names: "namespace/name", or a pod's id. */
export function findPod(t: Topology, podRef: string): PodInfo | undefined {
  const pods = t.nodes.flatMap((n) => n.pods);
  return pods.find((p) => p.id === podRef) ?? pods.find((p) => `${p.namespace}/${p.name}` === podRef);
}

/** The Envoy configuration istiod would give this pod's sidecar. */
export function proxyConfig(t: Topology, pod: PodInfo): ProxyConfig {
  const hosts = registry(t);
  return { pod: `${pod.namespace}/${pod.name}`, listeners: listeners(t, pod, hosts), routes: routes(t, pod, hosts), clusters: clusters(t, pod, hosts), endpoints: endpoints(t, pod, hosts) };
}

/**
 * The DOMAINS cell as istioctl abbreviates it (configdump route.go describeRouteDomains): the
 * shortest name that is no address, and how many more there are.
 */
export function describeDomains(domains: string[]): string {
  if (domains.length <= 1) return domains[0] ?? '';
  const names = domains.filter((d) => !/^[\d.:]+$/.test(d)).sort((a, b) => a.length - b.length || cmp(a, b));
  const first = names[0] ?? domains[0]!;
  return `${first} + ${domains.length - 1} more...`;
}

/** One view as istioctl's table: its column names, and the added ones podpath shows. */
export function proxyConfigTable(cfg: ProxyConfig, view: ProxyConfigView): ConfigTable {
  const dash = (s: string) => s || '-';
  switch (view) {
    case 'listeners':
      return { columns: ['ADDRESSES', 'PORT', 'MATCH', 'DESTINATION', 'LISTENER'], rows: cfg.listeners.map((l) => [l.address, String(l.port), l.match, l.destination, l.name]) };
    case 'routes':
      return { columns: ['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'DESTINATION', 'VIRTUAL SERVICE'], rows: cfg.routes.map((r) => [r.name, r.vhost, describeDomains(r.domains), r.match, r.destination, r.virtualService]) };
    case 'clusters':
      return { columns: ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE', 'LB POLICY'], rows: cfg.clusters.map((c) => [c.fqdn, c.port === undefined ? '-' : String(c.port), dash(c.subset), dash(c.direction), c.type, c.destinationRule, c.lbPolicy]) };
    case 'endpoints':
      return { columns: ['ENDPOINT', 'STATUS', 'OUTLIER CHECK', 'CLUSTER'], rows: cfg.endpoints.map((e) => [e.endpoint, e.status, e.outlierCheck, e.cluster]) };
  }
}

/** The table as istioctl prints it (text/tabwriter: columns padded to their widest cell, 5 spaces apart). */
export function formatTable(table: ConfigTable): string {
  const all = [table.columns, ...table.rows];
  const widths = table.columns.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 5))).join('').trimEnd()).join('\n') + '\n';
}
