// proxy-config routes: the HTTP route configurations istiod gives a sidecar (see proxyConfig.ts),
// from the same VirtualServices mesh/routing.ts routes a request with.
//
// Sources (istio/istio):
// - pilot/pkg/networking/core/httproute.go (BuildSidecarOutboundVirtualHosts: one virtual host per
//   service and port named "<fqdn>:<port>", generateVirtualHostDomains / generateAltVirtualHosts
//   for the domains; the allow_any virtual host to PassthroughCluster) and route/route.go
//   (BuildHTTPRoutesForVirtualService / translateRoute: one Envoy route per HTTPMatchRequest, in
//   order; sourceMatchHTTP drops match blocks whose sourceLabels, sourceNamespace, gateways or port
//   do not fit this proxy; BuildDefaultHTTPOutboundRoute for a service without a VirtualService).
// - meshConfig.outboundTrafficPolicy (ALLOW_ANY: the allow_any virtual host; REGISTRY_ONLY:
//   block_all).

import type { HttpMatchInfo, HttpRouteInfo, PodInfo, StringMatch, Topology, VirtualServiceInfo } from '../types.ts';
import { inboundPorts, ref, type RegistryHost } from './proxyRegistry.ts';
import { expandHost, hostMatches, serviceForHost } from './routing.ts';

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

/** The VirtualService a sidecar applies to a service host: the first (oldest) bound to the mesh that claims it — as routing.ts picks it. */
export function virtualServiceFor(t: Topology, fqdn: string): VirtualServiceInfo | undefined {
  const d = t.settings.clusterDomain;
  return t.mesh.virtualServices.find((vs) => (vs.gateways.length === 0 || vs.gateways.includes('mesh')) && vs.hosts.some((h) => hostMatches(expandHost(h, vs.namespace, d), fqdn)));
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

export function describeDestination(t: Topology, r: HttpRouteInfo, vsNamespace: string, listenerPort: number): string {
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

export function routes(t: Topology, pod: PodInfo, hosts: RegistryHost[]): RouteRow[] {
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
