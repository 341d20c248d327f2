// What an Envoy proxy does with one HTTP request, as Istio configures it: the route configuration
// for the port (virtual hosts per service), the VirtualService's http routes in order (first match
// wins; the blocks of one match are ORed, the conditions inside a block ANDed), weighted
// destinations, clusters named "outbound|<port>|<subset>|<fqdn>", the subset's endpoints from the
// DestinationRule's labels, faults, timeouts and retries.
// Sources: istio/api networking/v1alpha3/virtual_service.proto and destination_rule.proto (field
// semantics); istio/istio pilot/pkg/networking/core/route/route.go (translateRoute, translateFault,
// weighted clusters), pilot/pkg/model/service.go (BuildSubsetKey: outbound|port|subset|host),
// pilot/pkg/networking/core/route/retry/retry.go (default retry policy), Istio 1.14 release notes
// (default load balancer LEAST_REQUEST); Envoy's response flags (NR no route, NC no cluster, UH no
// healthy upstream, FI fault injected).

import type { DestinationRuleInfo, ServicePortInfo, EndpointInfo, GatewayInfo, ServiceEntryInfo, HttpMatchInfo, HttpRouteDestination, HttpRouteInfo, PodInfo, ServiceInfo, StringMatch, TcpRouteInfo, Topology, TrafficPolicyInfo, VirtualServiceInfo } from '../types.ts';
import type { Prng } from '../util/prng.ts';
import { fnv1a32 } from '../util/hash.ts';
import { cidrContains, parseCidr, parseIPv4 } from '../util/ipv4.ts';

export type PortProtocol = 'http' | 'tcp' | 'auto';

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

export interface MeshRequest {
  /** The Host / :authority the application used, without the port. */
  host: string;
  port: number;
  path: string;
  method: string;
  /** Request headers, names in lower case. */
  headers: Record<string, string>;
  /** A connection that carries no HTTP (a TCP Service port): Envoy's tcp_proxy routes it by the VirtualService's tcp routes. */
  tcp?: boolean;
}

/** Where the request is routed: a sidecar for its pod, or a gateway proxy for its Gateway objects. */
export type Proxy = { kind: 'sidecar'; pod: PodInfo } | { kind: 'gateway'; namespace: string; labels: Record<string, string> };

export type MeshDecision =
  | {
      ok: true;
      /** The Kubernetes Service routed to; undefined for a ServiceEntry host or the PassthroughCluster. */
      service?: ServiceInfo;
      virtualService?: VirtualServiceInfo;
      /** 1-based index of the http route, and of the match block that matched (0: a route without match). */
      route?: { index: number; match: number };
      destination: HttpRouteDestination;
      cluster: string;
      subset?: string;
      port: number;
      endpoints: EndpointInfo[];
      endpoint: EndpointInfo;
      loadBalancer: string;
      /** The DestinationRule that applies, and its traffic policy with the subset's merged over it. */
      destinationRule?: DestinationRuleInfo;
      trafficPolicy?: TrafficPolicyInfo;
      fault: { delayMs?: number; abortStatus?: number };
      /** A copy of the request Envoy sends to another cluster (VirtualService mirror), its answer discarded. */
      mirror?: { cluster: string; authority: string };
      timeoutMs?: number;
      retries: { attempts: number; perTryTimeoutMs?: number; retryOn: string };
      why: string[];
    }
  | { ok: false; status: number; flag: 'NR' | 'NC' | 'UH' | 'FI' | '-'; why: string[]; virtualService?: VirtualServiceInfo; cluster?: string };

/** Istio's default retry policy when a route sets none (retry.go DefaultPolicy). */
export const DEFAULT_RETRIES = { attempts: 2, retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes' };

export const serviceFqdn = (svc: { name: string; namespace: string }, domain: string) => `${svc.name}.${svc.namespace}.svc.${domain}`;

/** A host as Istio reads it in a rule of namespace `ns`: a short name (no dot) means <name>.<ns>.svc.<domain>; anything else is taken as written. */
export function expandHost(host: string, ns: string, domain: string): string {
  const h = host.includes('/') ? host.slice(host.indexOf('/') + 1) : host;
  return h === '*' || h.includes('.') ? h : `${h}.${ns}.svc.${domain}`;
}

export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

function stringMatches(m: StringMatch, v: string, ignoreCase = false): boolean {
  const val = ignoreCase ? v.toLowerCase() : v;
  if ('exact' in m) return val === (ignoreCase ? m.exact.toLowerCase() : m.exact);
  if ('prefix' in m) return val.startsWith(ignoreCase ? m.prefix.toLowerCase() : m.prefix);
  // RE2 full match; JavaScript's syntax agrees for the patterns Istio users write.
  return new RegExp(`^(?:${m.regex})$`).test(v);
}

function queryOf(path: string): Map<string, string> {
  const q = new Map<string, string>();
  const i = path.indexOf('?');
  if (i < 0) return q;
  for (const part of path.slice(i + 1).split('&')) {
    if (!part) continue;
    const [k, v = ''] = part.split('=');
    const dec = (x: string) => decodeURIComponent(x.replace(/\+/g, ' '));
    if (!q.has(dec(k!))) q.set(dec(k!), dec(v));
  }
  return q;
}

const describe = (m: StringMatch) => ('exact' in m ? `exact "${m.exact}"` : 'prefix' in m ? `prefix "${m.prefix}"` : `regex "${m.regex}"`);

/** Does one match block hold for the request? The failing condition, or undefined when all hold. */
function blockFails(b: HttpMatchInfo, req: MeshRequest, proxy: Proxy, gateway: { name: string; refMatches: (ref: string) => boolean } | undefined): string | undefined {
  const path = req.path.split('?')[0]!;
  if (b.uri && !stringMatches(b.uri, path, b.ignoreUriCase)) return `uri ${describe(b.uri)} ≠ ${path}`;
  if (b.method && !stringMatches(b.method, req.method)) return `method ${describe(b.method)} ≠ ${req.method}`;
  if (b.authority && !stringMatches(b.authority, req.host)) return `authority ${describe(b.authority)} ≠ ${req.host}`;
  if (b.scheme && !stringMatches(b.scheme, 'http')) return `scheme ${describe(b.scheme)}`;
  for (const [name, m] of Object.entries(b.headers)) {
    const v = req.headers[name];
    if (v === undefined) return `header ${name} is absent`;
    if (m && !stringMatches(m, v)) return `header ${name}: ${describe(m)} ≠ "${v}"`;
  }
  for (const [name, m] of Object.entries(b.withoutHeaders)) {
    const v = req.headers[name];
    if (v !== undefined && (!m || stringMatches(m, v))) return `withoutHeaders ${name} is present`;
  }
  const query = queryOf(req.path);
  for (const [name, m] of Object.entries(b.queryParams)) {
    const v = query.get(name);
    if (v === undefined) return `query parameter ${name} is absent`;
    if (m && !stringMatches(m, v)) return `query parameter ${name}: ${describe(m)} ≠ "${v}"`;
  }
  if (b.port !== undefined && b.port !== req.port) return `port ${b.port} ≠ ${req.port}`;
  if (b.sourceLabels) {
    if (proxy.kind !== 'sidecar') return 'sourceLabels apply to sidecars only';
    const miss = Object.entries(b.sourceLabels).find(([k, v]) => proxy.pod.labels[k] !== v);
    if (miss) return `sourceLabels ${miss[0]}=${miss[1]} not on the client pod`;
  }
  if (b.sourceNamespace && (proxy.kind !== 'sidecar' || proxy.pod.namespace !== b.sourceNamespace)) return `sourceNamespace ${b.sourceNamespace}`;
  if (b.gateways && !b.gateways.some((g) => (gateway ? g !== 'mesh' && gateway.refMatches(g) : g === 'mesh'))) return `gateways ${b.gateways.join(', ')} do not include ${gateway?.name ?? 'mesh'}`;
  return undefined;
}

/** A narrower traffic policy (a subset's, a port's) over a wider one, field by field: what it sets wins (Istio's MergeTrafficPolicy). */
export function mergePolicy(wider: TrafficPolicyInfo | undefined, narrower: TrafficPolicyInfo | undefined): TrafficPolicyInfo | undefined {
  if (!narrower) return wider;
  return { ...wider, ...Object.fromEntries(Object.entries(narrower).filter(([, v]) => v !== undefined)) };
}

/** A traffic policy as it applies to one port: its portLevelSettings for the port merged over it. */
export const policyForPort = (policy: TrafficPolicyInfo | undefined, port: number) => mergePolicy(policy, policy?.portLevel?.find((x) => x.port === port)?.policy);

/**
 * The first tcp route whose match holds for the connection (virtual_service.proto TCPRoute: match
 * blocks ORed — port, destinationSubnets against the address dialled, sourceLabels, sourceNamespace,
 * gateways — first route wins), with its 1-based index and match block (0: no match).
 */
export function tcpRouteFor(t: Topology, vs: VirtualServiceInfo, req: Pick<MeshRequest, 'host' | 'port'>, proxy: Proxy, gateway: { refMatches: (ref: string) => boolean } | undefined): { route: TcpRouteInfo; index: number; block: number } | undefined {
  const dialled = /^\d+\.\d+\.\d+\.\d+$/.test(req.host) ? req.host : serviceForHost(t, req.host, proxy.kind === 'sidecar' ? proxy.pod.namespace : proxy.namespace)?.clusterIP;
  for (const [i, r] of vs.tcp.entries()) {
    if (r.match.length === 0) return { route: r, index: i + 1, block: 0 };
    const j = r.match.findIndex((b) => {
      if (b.port !== undefined && b.port !== req.port) return false;
      if (b.destinationSubnets.length && !b.destinationSubnets.some((c) => { const n = parseCidr(c.includes('/') ? c : `${c}/32`); const a = dialled ? parseIPv4(dialled) : undefined; return !!n && a !== undefined && cidrContains(n, a); })) return false;
      if (b.sourceLabels && (proxy.kind !== 'sidecar' || Object.entries(b.sourceLabels).some(([k, v]) => proxy.pod.labels[k] !== v))) return false;
      if (b.sourceNamespace && (proxy.kind !== 'sidecar' || proxy.pod.namespace !== b.sourceNamespace)) return false;
      if (b.gateways && !b.gateways.some((g) => (gateway ? g !== 'mesh' && gateway.refMatches(g) : g === 'mesh'))) return false;
      return true;
    });
    if (j >= 0) return { route: r, index: i + 1, block: j + 1 };
  }
  return undefined;
}

/** Does this port of the Service the host names carry TCP only (port name tcp-*, mongo, redis …)? Then Envoy routes it by tcp routes. */
export function isTcpPort(t: Topology, host: string, port: number, ns: string): boolean {
  const svc = serviceForHost(t, host, ns);
  const sp = svc?.ports.find((p) => p.port === port);
  if (sp) return portProtocol(sp) === 'tcp';
  const se = serviceEntryFor(t, host, port);
  const p = se?.ports.find((x) => x.number === port);
  return !!p && ['TCP', 'TLS', 'MONGO', 'MYSQL', 'REDIS'].includes(p.protocol);
}

/** The DestinationRule for a service host, looked up as Istio does: the client's namespace, then the service's, then any. */
export function destinationRuleFor(t: Topology, fqdn: string, clientNs: string, svcNs: string): DestinationRuleInfo | undefined {
  const d = t.settings.clusterDomain;
  const all = t.mesh.destinationRules.filter((r) => hostMatches(expandHost(r.host, r.namespace, d), fqdn));
  return all.find((r) => r.namespace === clientNs) ?? all.find((r) => r.namespace === svcNs) ?? all[0];
}

/** An equality selector (a Gateway's, a Service's) picks these labels: it names at least one, and every one matches. */
export const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The Gateways whose selector picks a gateway workload with these labels, in text order. */
export const gatewaysOf = (t: Topology, labels: Record<string, string>): GatewayInfo[] => t.mesh.gateways.filter((g) => selects(g.selector, labels));

/**
 * The ports of the Services of `namespace` that select a gateway workload: a Gateway server's port
 * is one of them, and the Envoy listens on its targetPort (istio/istio pilot/pkg/networking/core/
 * gateway.go: server ports mapped through the gateway's Services).
 */
export const gatewayServicePorts = (t: Topology, namespace: string, labels: Record<string, string>) => t.services.filter((x) => x.namespace === namespace && selects(x.selector, labels)).flatMap((x) => x.ports);

/** Does a VirtualService's gateway reference ("name", relative to the VirtualService's namespace, or "namespace/name") name this Gateway? */
export function gatewayRefMatches(ref: string, vsNs: string, gw: GatewayInfo): boolean {
  const [ns, name] = ref.includes('/') ? ref.split('/') : [vsNs, ref];
  return name === gw.name && ns === gw.namespace;
}

/** The Service an in-mesh host name stands for, resolved like the client's DNS (search path of its namespace). */
export function serviceForHost(t: Topology, host: string, ns: string): ServiceInfo | undefined {
  const d = t.settings.clusterDomain;
  const byIP = t.services.find((s) => s.clusterIP === host);
  if (byIP) return byIP;
  const name = host.replace(/\.$/, '');
  for (const cand of [`${name}.${ns}.svc.${d}`, `${name}.svc.${d}`, `${name}.${d}`, name]) {
    const svc = t.services.find((s) => serviceFqdn(s, d) === cand);
    if (svc) return svc;
  }
  return undefined;
}

/**
 * Route one request through a proxy. For a sidecar the request's host names a Service; for a
 * gateway the Gateway servers on the request's port and the VirtualServices bound to them decide.
 */
export function routeRequest(t: Topology, proxy: Proxy, request: MeshRequest, rng: Prng): MeshDecision {
  const d = t.settings.clusterDomain;
  const why: string[] = [];
  let req = request;
  let candidates: VirtualServiceInfo[];
  let gatewayName: string | undefined;
  let gateway: { name: string; refMatches: (ref: string) => boolean } | undefined;
  // Set once the VirtualService is known: a gateway reference without a namespace is relative to its namespace.
  let vsNs = '';
  let svcHost: string;
  if (proxy.kind === 'gateway') {
    // A server's port is the gateway Service's port; the Envoy listens on its targetPort.
    const servicePorts = gatewayServicePorts(t, proxy.namespace, proxy.labels);
    const serverPorts = new Set([req.port, ...servicePorts.filter((p) => p.targetPort === req.port).map((p) => p.port)]);
    const fits = (g: GatewayInfo) => g.servers.find((sv) => serverPorts.has(sv.port) && sv.hosts.some((h) => hostMatches(expandHost(h, g.namespace, d), req.host)));
    const gws = t.mesh.gateways.filter((g) => Object.entries(g.selector).every(([k, v]) => proxy.labels[k] === v) && fits(g));
    if (!gws.length) return { ok: false, status: 404, flag: 'NR', why: [`No Gateway selecting this gateway's pods has a server on port ${req.port} for host "${req.host}": its listener has no route.`] };
    gatewayName = `${gws[0]!.namespace}/${gws[0]!.name}`;
    const serverPort = fits(gws[0]!)!.port;
    if (serverPort !== req.port) why.push(`The gateway's Envoy listens on ${req.port}, the targetPort of its Service's port ${serverPort}: the Gateway server on port ${serverPort}.`);
    req = { ...req, port: serverPort };
    gateway = { name: gatewayName, refMatches: (ref) => gws.some((g) => gatewayRefMatches(ref, vsNs, g)) };
    candidates = t.mesh.virtualServices.filter((vs) => vs.gateways.some((ref) => gws.some((g) => gatewayRefMatches(ref, vs.namespace, g))) && vs.hosts.some((h) => hostMatches(expandHost(h, vs.namespace, d), req.host)));
    why.push(`Gateway ${gatewayName} has a server on port ${serverPort} whose hosts accept "${req.host}".`);
    svcHost = req.host;
  } else {
    const svc = serviceForHost(t, req.host, proxy.pod.namespace);
    const meshBound = (vs: VirtualServiceInfo, host: string) => (vs.gateways.length === 0 || vs.gateways.includes('mesh')) && vs.hosts.some((h) => hostMatches(expandHost(h, vs.namespace, d), host));
    if (!svc) {
      // A ServiceEntry host is in the registry too: VirtualServices for it apply (the egress gateway task).
      const se = serviceEntryFor(t, req.host, req.port);
      const forSe = se ? t.mesh.virtualServices.filter((vs) => meshBound(vs, req.host)) : [];
      if (!forSe.length) return outsideRegistry(t, req, rng);
      svcHost = req.host;
      candidates = forSe;
    } else {
      svcHost = serviceFqdn(svc, d);
      candidates = t.mesh.virtualServices.filter((vs) => meshBound(vs, svcHost));
    }
  }
  const vs = candidates[0];
  if (candidates.length > 1) why.push(`${candidates.length} VirtualServices claim ${svcHost}; Istio uses one (${vs!.namespace}/${vs!.name}, the oldest) and ignores the rest.`);

  let routeInfo: HttpRouteInfo | undefined;
  let position: { index: number; match: number } | undefined;
  if (vs && req.tcp) {
    vsNs = vs.namespace;
    const hit = tcpRouteFor(t, vs, req, proxy, gateway);
    if (hit) {
      routeInfo = { match: [], route: hit.route.route, source: hit.route.source };
      position = { index: hit.index, match: hit.block };
      why.push(`VirtualService ${vs.namespace}/${vs.name}: tcp route ${hit.index} ${hit.block ? `matches (match block ${hit.block})` : 'has no match, so it takes every connection'} — Envoy's tcp_proxy sees no HTTP, only the connection.`);
    } else why.push(`VirtualService ${vs.namespace}/${vs.name} has no tcp route for this connection: it goes to the service's own cluster.`);
  } else if (vs) {
    vsNs = vs.namespace;
    for (const [i, r] of vs.http.entries()) {
      if (r.match.length === 0) {
        routeInfo = r;
        position = { index: i + 1, match: 0 };
        why.push(`VirtualService ${vs.namespace}/${vs.name}: http route ${i + 1}${r.name ? ` (${r.name})` : ''} has no match, so it takes every request that reached it.`);
        break;
      }
      const fails = r.match.map((b) => blockFails(b, req, proxy, gateway));
      const hit = fails.findIndex((f) => f === undefined);
      if (hit >= 0) {
        routeInfo = r;
        position = { index: i + 1, match: hit + 1 };
        why.push(`VirtualService ${vs.namespace}/${vs.name}: http route ${i + 1}${r.name ? ` (${r.name})` : ''} matches (match block ${hit + 1}: every condition holds).`);
        break;
      }
      why.push(`VirtualService ${vs.namespace}/${vs.name}: http route ${i + 1} does not match (${fails.join('; ')}).`);
    }
    if (!routeInfo) return { ok: false, status: 404, flag: 'NR', why: [...why, 'No http route matches: Envoy answers 404 (response flag NR, "no route").'], virtualService: vs };
  } else if (proxy.kind === 'gateway') {
    return { ok: false, status: 404, flag: 'NR', why: [...why, `No VirtualService bound to ${gatewayName} accepts host "${req.host}": 404 (NR).`] };
  }

  // The destination: one of the route's weighted destinations, or the service itself.
  let dest: HttpRouteDestination;
  if (routeInfo) {
    if (routeInfo.directResponse) return { ok: false, status: routeInfo.directResponse.status, flag: 'NR', why: [...why, `The route answers directly with ${routeInfo.directResponse.status}.`], virtualService: vs };
    const total = routeInfo.route.reduce((a, r) => a + r.weight, 0);
    if (total <= 0) return { ok: false, status: 503, flag: 'NC', why: [...why, 'The route has no destination with a weight.'], virtualService: vs };
    let x = rng.next() * total;
    dest = routeInfo.route.find((r) => (x -= r.weight) < 0) ?? routeInfo.route[routeInfo.route.length - 1]!;
    if (routeInfo.route.length > 1) why.push(`Weighted destinations ${routeInfo.route.map((r) => `${r.subset ?? r.host} ${r.weight}`).join(' / ')}: Envoy draws one per request (this trace's seed) — ${dest.subset ?? dest.host}.`);
  } else {
    const svc = serviceForHost(t, svcHost, proxy.kind === 'sidecar' ? proxy.pod.namespace : 'default');
    dest = { host: svc ? serviceFqdn(svc, d) : svcHost, weight: 100 };
    if (!vs) why.push(`No VirtualService for ${svcHost}: the default route sends it to the service's own cluster.`);
  }
  const ruleNs = vs?.namespace ?? (proxy.kind === 'sidecar' ? proxy.pod.namespace : proxy.namespace);
  const destFqdn = expandHost(dest.host, ruleNs, d);
  const service = t.services.find((s) => serviceFqdn(s, d) === destFqdn);
  const port = dest.port ?? (service?.ports.length === 1 ? service.ports[0]!.port : req.port);
  const cluster = `outbound|${port}|${dest.subset ?? ''}|${destFqdn}`;
  if (!service) {
    const se = serviceEntryFor(t, destFqdn, port);
    if (!se) return { ok: false, status: 503, flag: 'NC', why: [...why, `${destFqdn} is no Service of the mesh: cluster ${cluster} does not exist, so Envoy answers 503 (NC, "no cluster").`], virtualService: vs, cluster };
    const dr = destinationRuleFor(t, destFqdn, proxy.kind === 'sidecar' ? proxy.pod.namespace : proxy.namespace, se.namespace);
    const endpoints = serviceEntryEndpoints(se, destFqdn, port);
    why.push(`${destFqdn} is ServiceEntry ${se.namespace}/${se.name} (${se.location}, resolution ${se.resolution}): cluster ${cluster}.`);
    if (!endpoints.list.length) return { ok: false, status: 503, flag: 'UH', why: [...why, 'It has no endpoint to send to: 503 (UH).'], virtualService: vs, cluster };
    if (endpoints.note) why.push(endpoints.note);
    const endpoint = endpoints.list[rng.int(0, endpoints.list.length - 1)]!;
    why.push(`Endpoint ${endpoint.ip}:${endpoint.port}.`);
    const policy = policyForPort(dr?.trafficPolicy, port);
    return { ok: true, virtualService: vs, route: position, destination: dest, cluster, subset: dest.subset, port, endpoints: endpoints.list, endpoint, loadBalancer: policy?.loadBalancer ?? 'LEAST_REQUEST', ...(dr ? { destinationRule: dr } : {}), ...(policy ? { trafficPolicy: policy } : {}), fault: {}, timeoutMs: routeInfo?.timeoutMs, retries: routeInfo?.retries ? { attempts: routeInfo.retries.attempts, perTryTimeoutMs: routeInfo.retries.perTryTimeoutMs, retryOn: routeInfo.retries.retryOn ?? DEFAULT_RETRIES.retryOn } : DEFAULT_RETRIES, why };
  }
  const sp = service.ports.find((p) => p.port === port);
  const dr = destinationRuleFor(t, destFqdn, proxy.kind === 'sidecar' ? proxy.pod.namespace : proxy.namespace, service.namespace);
  let labels: Record<string, string> = {};
  let policy = dr?.trafficPolicy;
  if (dest.subset) {
    const subset = dr?.subsets.find((s) => s.name === dest.subset);
    if (!subset) return { ok: false, status: 503, flag: 'NC', why: [...why, `Subset "${dest.subset}" is defined by no DestinationRule for ${destFqdn}${dr ? ` (${dr.namespace}/${dr.name} has ${dr.subsets.map((s) => s.name).join(', ') || 'none'})` : ''}: Istio builds no cluster ${cluster}, and Envoy answers 503 (NC). A subset needs a DestinationRule — and the DestinationRule a ClusterIP Service.`], virtualService: vs, cluster };
    labels = subset.labels;
    // A subset's traffic policy overrides the DestinationRule's field by field (MergeTrafficPolicy).
    policy = mergePolicy(policy, subset.trafficPolicy ?? {});
    why.push(`DestinationRule ${dr!.namespace}/${dr!.name}: subset ${subset.name} = pods with ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(', ') || 'any labels'}.`);
  }
  policy = policyForPort(policy, port);
  const podsById = new Map(t.nodes.flatMap((n) => n.pods).map((p) => [p.id, p]));
  const endpoints = service.endpoints.filter((e) => e.ready && (!sp || e.portName === sp.name) && Object.entries(labels).every(([k, v]) => podsById.get(e.podId ?? '')?.labels[k] === v));
  if (!endpoints.length) return { ok: false, status: 503, flag: 'UH', why: [...why, `Cluster ${cluster} has no ready endpoint: Envoy answers 503 (UH, "no healthy upstream").`], virtualService: vs, cluster };
  const loadBalancer = policy?.loadBalancer ?? 'LEAST_REQUEST';
  // With no requests in flight every endpoint ties, so LEAST_REQUEST, ROUND_ROBIN and RANDOM all
  // come down to a draw here; the seed stands for the proxy's state.
  const endpoint = endpoints[rng.int(0, endpoints.length - 1)]!;
  why.push(`Cluster ${cluster}: ${endpoints.length} endpoint(s) ${endpoints.map((e) => `${e.ip}:${e.port}`).join(', ')}; load balancer ${loadBalancer}${policy?.loadBalancer ? '' : ' (Istio\'s default)'} picks ${endpoint.ip}:${endpoint.port}.`);
  const fault: { delayMs?: number; abortStatus?: number } = {};
  if (routeInfo?.fault?.delay && rng.next() * 100 < routeInfo.fault.delay.percent) {
    fault.delayMs = routeInfo.fault.delay.ms;
    why.push(`Fault injection: this request is delayed ${routeInfo.fault.delay.ms / 1000} s (${routeInfo.fault.delay.percent}% of requests).`);
  }
  if (routeInfo?.fault?.abort && rng.next() * 100 < routeInfo.fault.abort.percent) {
    fault.abortStatus = routeInfo.fault.abort.status;
    why.push(`Fault injection: this request is aborted with ${routeInfo.fault.abort.status} (${routeInfo.fault.abort.percent}% of requests); it never reaches the upstream (response flag FI).`);
  }
  // Mirroring (request_mirror_policies): a copy goes to the mirror cluster with "-shadow" added to
  // the authority; Envoy does not wait for it and drops its response. mirrorPercentage unset: 100 %.
  let mirror: { cluster: string; authority: string } | undefined;
  if (routeInfo?.mirror && rng.next() * 100 < routeInfo.mirror.percent) {
    const mh = expandHost(routeInfo.mirror.host, ruleNs, d);
    mirror = { cluster: `outbound|${port}|${routeInfo.mirror.subset ?? ''}|${mh}`, authority: `${req.host}-shadow` };
    why.push(`The route mirrors the request to ${mirror.cluster} (authority ${mirror.authority}); the copy's answer is discarded.`);
  }
  const retries = routeInfo?.retries ? { attempts: routeInfo.retries.attempts, perTryTimeoutMs: routeInfo.retries.perTryTimeoutMs, retryOn: routeInfo.retries.retryOn ?? DEFAULT_RETRIES.retryOn } : DEFAULT_RETRIES;
  return { ok: true, service, virtualService: vs, route: position, destination: dest, cluster, subset: dest.subset, port, endpoints, endpoint, loadBalancer, ...(dr ? { destinationRule: dr } : {}), ...(policy ? { trafficPolicy: policy } : {}), fault, ...(mirror ? { mirror } : {}), timeoutMs: routeInfo?.timeoutMs, retries, why };
}

/** The ServiceEntry that puts `host` (on `port`) in the registry. */
function serviceEntryFor(t: Topology, host: string, port: number): ServiceEntryInfo | undefined {
  return t.mesh.serviceEntries.find((e) => e.hosts.some((h) => hostMatches(h, host)) && (e.ports.length === 0 || e.ports.some((p) => p.number === port)));
}

/**
 * The endpoints Envoy sends a ServiceEntry host's requests to: its endpoints (STATIC, or DNS with
 * endpoints), the address the app dialled (NONE), or the name's DNS answer (DNS without endpoints:
 * Envoy resolves the host itself, STRICT_DNS). The Internet is not in podpath, so a name's "DNS
 * answer" is an address of TEST-NET-1 (192.0.2.0/24, RFC 5737) derived from the name — said so.
 * A port's targetPort sends to another port (ServiceEntry.Port.targetPort).
 */
function serviceEntryEndpoints(se: ServiceEntryInfo, host: string, port: number): { list: EndpointInfo[]; note?: string } {
  const isIP = /^\d+\.\d+\.\d+\.\d+$/.test(host);
  const sp = se.ports.find((p) => p.number === port);
  const toPort = sp?.targetPort ?? port;
  const ep = (ip: string) => ({ ip, port: toPort, portName: sp?.name ?? '', protocol: 'TCP' as const, ready: true, serving: true, terminating: false });
  if (se.resolution === 'STATIC') return { list: se.endpoints.map((e) => ep(e.address)) };
  if (se.resolution === 'NONE') return { list: (isIP ? [host] : se.addresses).map(ep) };
  if (se.endpoints.length) return { list: se.endpoints.map((e) => ep(e.address)) };
  const name = se.hosts.find((h) => hostMatches(h, host)) ?? host;
  if (name.startsWith('*')) return { list: [] };
  const addr = worldAddress(name);
  return { list: [ep(addr)], note: `Envoy resolves ${name} by DNS itself (resolution ${se.resolution}). podpath has no Internet: ${addr} (TEST-NET-1) stands in for the DNS answer.` };
}

/** A stand-in public address for a DNS name outside the cluster: 192.0.2.1–254, from the name's hash. */
export const worldAddress = (name: string) => `192.0.2.${1 + (fnv1a32(name) % 254)}`;

/**
 * A host no Kubernetes Service names: a ServiceEntry puts it in the registry (its own cluster
 * outbound|port||host); otherwise meshConfig.outboundTrafficPolicy decides — ALLOW_ANY sends it to
 * PassthroughCluster (the original destination, as the app addressed it), REGISTRY_ONLY to the
 * "block_all" virtual host, which answers 502 (istio/istio pilot/pkg/networking/core
 * httproute.go BlackHoleCluster / block_all; cluster_builder.go PassthroughCluster).
 */
function outsideRegistry(t: Topology, req: MeshRequest, rng: Prng): MeshDecision {
  const se = serviceEntryFor(t, req.host, req.port);
  const isIP = /^\d+\.\d+\.\d+\.\d+$/.test(req.host);
  const base = { subset: undefined, port: req.port, loadBalancer: 'LEAST_REQUEST', fault: {}, retries: DEFAULT_RETRIES } as const;
  if (se) {
    const host = se.hosts.find((h) => hostMatches(h, req.host))!;
    const cluster = `outbound|${req.port}||${host}`;
    const eps = serviceEntryEndpoints(se, req.host, req.port);
    const why = [`"${req.host}" is no Kubernetes Service, but ServiceEntry ${se.namespace}/${se.name} (${se.location}, resolution ${se.resolution}) adds it to the mesh: cluster ${cluster}.`];
    if (!eps.list.length) return { ok: false, status: 503, flag: 'UH', why: [...why, 'It has no endpoint to send to: 503 (UH).'], cluster };
    if (eps.note) why.push(eps.note);
    const endpoint = eps.list[rng.int(0, eps.list.length - 1)]!;
    const dr = destinationRuleFor(t, host, '', se.namespace);
    return { ok: true, ...base, ...(dr ? { destinationRule: dr, trafficPolicy: policyForPort(dr.trafficPolicy, req.port) } : {}), destination: { host, weight: 100 }, cluster, endpoints: eps.list, endpoint, why: [...why, `Endpoint ${endpoint.ip}:${endpoint.port}.`] };
  }
  if (t.mesh.outboundTrafficPolicy === 'REGISTRY_ONLY') {
    return { ok: false, status: 502, flag: '-', cluster: 'BlackHoleCluster', why: [`"${req.host}" is in no Service and no ServiceEntry, and meshConfig.outboundTrafficPolicy is REGISTRY_ONLY: the route configuration's "block_all" virtual host answers 502 (BlackHoleCluster). Add a ServiceEntry for it.`] };
  }
  if (!isIP) return { ok: false, status: 503, flag: 'NC', why: [`"${req.host}" is in no Service and no ServiceEntry; the app's DNS lookup of it is outside podpath's cluster DNS. Address it by IP to follow PassthroughCluster.`] };
  const endpoint = { ip: req.host, port: req.port, portName: '', protocol: 'TCP' as const, ready: true, serving: true, terminating: false };
  return { ok: true, ...base, destination: { host: req.host, weight: 100 }, cluster: 'PassthroughCluster', endpoints: [endpoint], endpoint, why: [`${req.host}:${req.port} is in no Service and no ServiceEntry. meshConfig.outboundTrafficPolicy is ALLOW_ANY (Istio's default), so Envoy sends it to PassthroughCluster: straight to the original destination, unchanged.`] };
}

/**
 * The PeerAuthentication mode for a workload: a policy selecting it, else its namespace's, else the
 * mesh-wide one in the root namespace istio-system; UNSET inherits; the default is PERMISSIVE
 * (istio/api security/v1beta1/peer_authentication.proto).
 */
export function peerAuthMode(t: Topology, pod: PodInfo): 'STRICT' | 'PERMISSIVE' | 'DISABLE' {
  const pas = t.mesh.peerAuthentications;
  const sel = (x: (typeof pas)[number]) => Object.keys(x.selector).length > 0;
  const chain = [pas.find((x) => x.namespace === pod.namespace && sel(x) && Object.entries(x.selector).every(([k, v]) => pod.labels[k] === v)), pas.find((x) => x.namespace === pod.namespace && !sel(x)), pas.find((x) => x.namespace === 'istio-system' && !sel(x))];
  for (const x of chain) if (x && x.mode !== 'UNSET') return x.mode;
  return 'PERMISSIVE';
}
