// Istio's traffic-management objects, read from the text: VirtualService, DestinationRule and
// Gateway (networking.istio.io v1, v1beta1, v1alpha3 — the same schema). Field meanings follow
// istio/api networking/v1alpha3/virtual_service.proto, destination_rule.proto, gateway.proto.

import type { DestinationRuleInfo, GatewayInfo, HttpMatchInfo, HttpRouteInfo, PeerAuthenticationInfo, ServiceEntryInfo, StringMatch, TcpRouteInfo, TrafficPolicyInfo, VirtualServiceInfo } from '../types.ts';
import type { DocReader, Obj, ObjectMeta } from '../model/objects.ts';

export const ISTIO_NETWORKING_VERSIONS = ['networking.istio.io/v1', 'networking.istio.io/v1beta1', 'networking.istio.io/v1alpha3'];
export const ISTIO_KINDS = ['VirtualService', 'DestinationRule', 'Gateway', 'ServiceEntry'] as const;

/** "7s", "1.5s", "100ms", "2m", "1h" (Go durations as Istio accepts them) → milliseconds. */
export function durationMs(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

function stringMatch(r: DocReader, o: unknown, where: Obj, key: string): StringMatch | null | undefined {
  if (o === undefined) return undefined;
  if (o === null || (typeof o === 'object' && Object.keys(o as object).length === 0)) return null;
  const m = o as Record<string, unknown>;
  for (const k of ['exact', 'prefix', 'regex'] as const) if (typeof m[k] === 'string') return { [k]: m[k] } as StringMatch;
  r.report('PP013', 'error', `"${key}" needs exact, prefix or regex.`, where, key);
  return undefined;
}

function matches(r: DocReader, o: Obj, key: 'headers' | 'withoutHeaders' | 'queryParams'): Record<string, StringMatch | null> {
  const m = r.map(o, key);
  const out: Record<string, StringMatch | null> = {};
  if (!m) return out;
  for (const [name, v] of Object.entries(m)) {
    const sm = stringMatch(r, v, m, name);
    if (sm !== undefined) out[key === 'queryParams' ? name : name.toLowerCase()] = sm;
  }
  return out;
}

function readMatch(r: DocReader, o: Obj): HttpMatchInfo {
  const one = (key: string) => stringMatch(r, o[key], o, key) ?? undefined;
  const port = o.port;
  const labels = r.map(o, 'sourceLabels');
  return {
    name: r.str(o, 'name'),
    uri: one('uri'),
    ignoreUriCase: o.ignoreUriCase === true,
    method: one('method'),
    authority: one('authority'),
    scheme: one('scheme'),
    headers: matches(r, o, 'headers'),
    withoutHeaders: matches(r, o, 'withoutHeaders'),
    queryParams: matches(r, o, 'queryParams'),
    port: typeof port === 'number' ? port : undefined,
    sourceLabels: labels ? Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])) : undefined,
    sourceNamespace: r.str(o, 'sourceNamespace'),
    gateways: Array.isArray(o.gateways) ? o.gateways.map(String) : undefined,
  };
}

/** A fault's percentage: `percentage.value` (a double), or the deprecated integer `percent`; neither: 0 — no request is affected (virtual_service.proto). */
function percentOf(o: Obj): number {
  const p = o.percentage as { value?: unknown } | undefined;
  if (p && typeof p.value === 'number') return p.value;
  return typeof o.percent === 'number' ? o.percent : 0;
}

function readRoute(r: DocReader, o: Obj, vsNamespace: string): HttpRouteInfo {
  const dests = r.list(o, 'route').map((d) => {
    const dest = ((d as Obj).destination ?? {}) as Obj;
    const port = dest.port as { number?: unknown } | undefined;
    const host = r.str(dest, 'host');
    if (!host) r.report('PP013', 'error', 'A route destination needs destination.host.', d as Obj, 'destination');
    return { host: host ?? '', subset: r.str(dest, 'subset'), port: typeof port?.number === 'number' ? port.number : undefined, weight: typeof (d as Obj).weight === 'number' ? ((d as Obj).weight as number) : -1 };
  });
  // A single destination without a weight takes all traffic; Istio requires the weights of several to add up.
  if (dests.length === 1 && dests[0]!.weight < 0) dests[0]!.weight = 100;
  for (const d of dests) if (d.weight < 0) d.weight = 0;
  const fault = o.fault as Obj | undefined;
  const delay = fault?.delay as Obj | undefined;
  const abort = fault?.abort as Obj | undefined;
  const retries = o.retries as Obj | undefined;
  const mirror = o.mirror as Obj | undefined;
  const redirect = o.redirect as Obj | undefined;
  const rewrite = o.rewrite as Obj | undefined;
  const direct = o.directResponse as Obj | undefined;
  void vsNamespace;
  return {
    name: r.str(o, 'name'),
    match: r.list(o, 'match').map((m) => readMatch(r, m as Obj)),
    route: dests,
    fault: fault ? { delay: delay ? { ms: durationMs(delay.fixedDelay) ?? 0, percent: percentOf(delay) } : undefined, abort: abort ? { status: typeof abort.httpStatus === 'number' ? abort.httpStatus : 503, percent: percentOf(abort) } : undefined } : undefined,
    timeoutMs: durationMs(o.timeout),
    retries: retries ? { attempts: typeof retries.attempts === 'number' ? retries.attempts : 0, perTryTimeoutMs: durationMs(retries.perTryTimeout), retryOn: typeof retries.retryOn === 'string' ? retries.retryOn : undefined } : undefined,
    mirror: mirror ? { host: String(mirror.host ?? ''), subset: typeof mirror.subset === 'string' ? mirror.subset : undefined, percent: percentOf((o.mirrorPercentage ? { percentage: o.mirrorPercentage } : { percent: 100 }) as Obj) } : undefined,
    redirect: redirect ? { uri: typeof redirect.uri === 'string' ? redirect.uri : undefined, authority: typeof redirect.authority === 'string' ? redirect.authority : undefined, code: typeof redirect.redirectCode === 'number' ? redirect.redirectCode : 301 } : undefined,
    directResponse: direct ? { status: typeof direct.status === 'number' ? direct.status : 200 } : undefined,
    rewrite: rewrite ? { uri: typeof rewrite.uri === 'string' ? rewrite.uri : undefined, authority: typeof rewrite.authority === 'string' ? rewrite.authority : undefined } : undefined,
    source: r.at(o),
  };
}

/** A tcp route (virtual_service.proto TCPRoute / L4MatchAttributes): its destinations are read as an http route's. */
function readTcpRoute(r: DocReader, o: Obj): TcpRouteInfo {
  const { route, source } = readRoute(r, { route: o.route } as Obj, '');
  const match = r.list(o, 'match').map((m) => {
    const mo = m as Obj;
    const port = count(mo.port);
    const sourceLabels = r.map(mo, 'sourceLabels') ? r.strings(mo, 'sourceLabels') : undefined;
    return { ...(port !== undefined ? { port } : {}), destinationSubnets: r.list(mo, 'destinationSubnets').map(String), ...(sourceLabels ? { sourceLabels } : {}), ...(typeof mo.sourceNamespace === 'string' ? { sourceNamespace: mo.sourceNamespace } : {}), ...(Array.isArray(mo.gateways) ? { gateways: mo.gateways.map(String) } : {}) };
  });
  return { match, route, source: r.at(o) ?? source };
}

export function readVirtualService(r: DocReader, meta: ObjectMeta): VirtualServiceInfo | undefined {
  const spec = r.map(meta.raw, 'spec');
  if (!spec) {
    r.report('PP003', 'error', 'VirtualService needs a spec (hosts, http routes).', meta.raw, 'kind');
    return undefined;
  }
  const hosts = r.list(spec, 'hosts').map(String);
  if (!hosts.length) r.report('PP013', 'error', 'VirtualService spec.hosts must name at least one host.', spec, 'hosts');
  if (spec.tls) r.report('PP004', 'info', 'tls routes (SNI matching, TLS passthrough) are not modelled yet; podpath uses the http and tcp routes.', spec, 'tls');
  return {
    namespace: meta.namespace,
    name: meta.name,
    hosts,
    gateways: r.list(spec, 'gateways').map(String),
    http: r.list(spec, 'http').map((h) => readRoute(r, h as Obj, meta.namespace)),
    tcp: r.list(spec, 'tcp').map((h) => readTcpRoute(r, h as Obj)),
    exportTo: r.list(spec, 'exportTo').map(String),
    source: meta.source,
  };
}

/** A whole number ≥ 0 as written (YAML may quote it), else undefined. */
const count = (v: unknown): number | undefined => {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
};

function trafficPolicy(o: unknown): TrafficPolicyInfo | undefined {
  if (!o || typeof o !== 'object') return undefined;
  const p = o as Obj;
  const lb = p.loadBalancer as Obj | undefined;
  const tls = p.tls as Obj | undefined;
  const cp = p.connectionPool as { http?: Obj; tcp?: Obj } | undefined;
  const od = p.outlierDetection as Obj | undefined;
  return {
    loadBalancer: typeof lb?.simple === 'string' ? lb.simple : lb?.consistentHash ? 'CONSISTENT_HASH' : undefined,
    tlsMode: typeof tls?.mode === 'string' ? tls.mode : undefined,
    connectionPool: cp ? { http1MaxPendingRequests: count(cp.http?.http1MaxPendingRequests), http2MaxRequests: count(cp.http?.http2MaxRequests), maxRequestsPerConnection: count(cp.http?.maxRequestsPerConnection), maxRetries: count(cp.http?.maxRetries), tcpMaxConnections: count(cp.tcp?.maxConnections) } : undefined,
    portLevel: Array.isArray(p.portLevelSettings) ? (p.portLevelSettings as Obj[]).flatMap((x) => {
      const port = count((x?.port as Obj | undefined)?.number);
      const policy = port !== undefined ? trafficPolicy({ ...x, portLevelSettings: undefined }) : undefined;
      return port !== undefined && policy ? [{ port, policy }] : [];
    }) : undefined,
    outlierDetection: od ? { consecutive5xxErrors: count(od.consecutive5xxErrors ?? od.consecutiveErrors), consecutiveGatewayErrors: count(od.consecutiveGatewayErrors), intervalMs: durationMs(od.interval), baseEjectionTimeMs: durationMs(od.baseEjectionTime), maxEjectionPercent: count(od.maxEjectionPercent), minHealthPercent: count(od.minHealthPercent) } : undefined,
  };
}

export function readDestinationRule(r: DocReader, meta: ObjectMeta): DestinationRuleInfo | undefined {
  const spec = r.map(meta.raw, 'spec');
  const host = spec && r.str(spec, 'host');
  if (!spec || !host) {
    r.report('PP013', 'error', 'DestinationRule needs spec.host.', spec ?? meta.raw, spec ? undefined : 'kind');
    return undefined;
  }
  return {
    namespace: meta.namespace,
    name: meta.name,
    host,
    subsets: r.list(spec, 'subsets').map((s) => {
      const so = s as Obj;
      const labels = r.map(so, 'labels') ?? {};
      return { name: String(so.name ?? ''), labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])), trafficPolicy: trafficPolicy(so.trafficPolicy) };
    }),
    trafficPolicy: trafficPolicy(spec.trafficPolicy),
    exportTo: r.list(spec, 'exportTo').map(String),
    source: meta.source,
  };
}

export function readGateway(r: DocReader, meta: ObjectMeta): GatewayInfo | undefined {
  const spec = r.map(meta.raw, 'spec');
  if (!spec) {
    r.report('PP003', 'error', 'Gateway needs a spec (selector, servers).', meta.raw, 'kind');
    return undefined;
  }
  const selector = r.map(spec, 'selector') ?? {};
  return {
    namespace: meta.namespace,
    name: meta.name,
    selector: Object.fromEntries(Object.entries(selector).map(([k, v]) => [k, String(v)])),
    servers: r.list(spec, 'servers').map((s) => {
      const so = s as Obj;
      const port = (so.port ?? {}) as Obj;
      return { port: typeof port.number === 'number' ? port.number : 0, portName: String(port.name ?? ''), protocol: String(port.protocol ?? 'HTTP').toUpperCase(), hosts: r.list(so, 'hosts').map(String) };
    }),
    source: meta.source,
  };
}

export function readServiceEntry(r: DocReader, meta: ObjectMeta): ServiceEntryInfo | undefined {
  const spec = r.map(meta.raw, 'spec');
  const hosts = spec ? r.list(spec, 'hosts').map(String) : [];
  if (!spec || !hosts.length) {
    r.report('PP013', 'error', 'ServiceEntry needs spec.hosts.', spec ?? meta.raw, spec ? 'hosts' : 'kind');
    return undefined;
  }
  const resolution = String(spec.resolution ?? 'NONE');
  return {
    namespace: meta.namespace,
    name: meta.name,
    hosts,
    addresses: r.list(spec, 'addresses').map(String),
    ports: r.list(spec, 'ports').map((p) => {
      const po = p as Obj;
      const targetPort = count(po.targetPort);
      return { number: Number(po.number ?? 0), name: String(po.name ?? ''), protocol: String(po.protocol ?? 'TCP').toUpperCase(), ...(targetPort ? { targetPort } : {}) };
    }),
    location: spec.location === 'MESH_INTERNAL' ? 'MESH_INTERNAL' : 'MESH_EXTERNAL',
    resolution: (['NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN'].includes(resolution) ? resolution : 'NONE') as ServiceEntryInfo['resolution'],
    endpoints: r.list(spec, 'endpoints').map((e) => ({ address: String((e as Obj).address ?? ''), labels: r.strings(e as Obj, 'labels') })),
    source: meta.source,
  };
}

export const SECURITY_VERSIONS = ['security.istio.io/v1', 'security.istio.io/v1beta1'];

export function readPeerAuthentication(r: DocReader, meta: ObjectMeta): PeerAuthenticationInfo {
  const spec = r.map(meta.raw, 'spec') ?? {};
  const sel = r.map(spec, 'selector');
  const mode = String((spec.mtls as Obj | undefined)?.mode ?? 'UNSET');
  return { namespace: meta.namespace, name: meta.name, selector: sel ? r.strings(sel, 'matchLabels') : {}, mode: (['STRICT', 'PERMISSIVE', 'DISABLE'].includes(mode) ? mode : 'UNSET') as PeerAuthenticationInfo['mode'], source: meta.source };
}

/** meshConfig from the ConfigMap istio (istio-system), key "mesh": only outboundTrafficPolicy.mode is read. */
export function readMeshConfigMap(r: DocReader, meta: ObjectMeta): 'ALLOW_ANY' | 'REGISTRY_ONLY' | undefined {
  const data = r.map(meta.raw, 'data');
  const text = data && r.str(data, 'mesh');
  if (!text) return undefined;
  const m = /outboundTrafficPolicy:\s*\n?\s*mode:\s*(\w+)/.exec(text) ?? /outboundTrafficPolicy:\s*\{\s*mode:\s*(\w+)/.exec(text);
  if (!m) return undefined;
  if (m[1] !== 'ALLOW_ANY' && m[1] !== 'REGISTRY_ONLY') {
    r.report('PP013', 'error', `outboundTrafficPolicy.mode must be ALLOW_ANY or REGISTRY_ONLY (found ${m[1]}).`, data!, 'mesh');
    return undefined;
  }
  return m[1];
}
