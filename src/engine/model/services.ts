// Services and their endpoints: Service objects (every type), EndpointSlices and legacy Endpoints
// written by hand, and the slices the EndpointSlice controller derives from selectors.

import type { ClusterSettings, EndpointInfo, NodeInfo, PodInfo, Protocol, ServiceInfo, ServicePortInfo, ServiceType } from '../types.ts';
import { fnv1a32 } from '../util/hash.ts';
import { isIPv6 } from '../util/ip.ts';
import { cidrContains, formatIPv4, hostIn, parseCidr, parseIPv4 } from '../util/ipv4.ts';
import type { DocReader, Obj, ObjectMeta } from './objects.ts';
import { fmtLabels } from './workloads.ts';

export interface ServiceIn {
  meta: ObjectMeta;
  r: DocReader;
  type: ServiceType;
  clusterIP?: string;
  headless: boolean;
  selector?: Record<string, string>;
  ports: (ServicePortInfo & { raw: Obj })[];
  externalIPs: string[];
  loadBalancerIPs: string[];
  loadBalancerSourceRanges: string[];
  externalTrafficPolicy: 'Cluster' | 'Local';
  internalTrafficPolicy: 'Cluster' | 'Local';
  healthCheckNodePort?: number;
  affinitySeconds?: number;
  externalName?: string;
}

/** A hand-written EndpointSlice or v1 Endpoints subset, reduced to what kube-proxy reads. */
export interface SliceIn {
  namespace: string;
  service: string;
  ports: { name: string; port: number; protocol: Protocol }[];
  endpoints: { ip: string; ready: boolean; serving: boolean; terminating: boolean; nodeName?: string }[];
}

export interface ServiceOptions {
  /** Fill what the API server would (ClusterIP, NodePort, health-check port, LB IP). */
  apiDefaults: boolean;
}

const policy = (v: string | undefined): 'Cluster' | 'Local' => (v === 'Local' ? 'Local' : 'Cluster');

export function readService(r: DocReader, meta: ObjectMeta): ServiceIn {
  const spec = r.map(meta.raw, 'spec') ?? {};
  const t = r.str(spec, 'type') ?? 'ClusterIP';
  const type: ServiceType = t === 'NodePort' || t === 'LoadBalancer' || t === 'ExternalName' ? t : 'ClusterIP';
  if (t !== type) r.report('PP013', 'error', `Service type must be ClusterIP, NodePort, LoadBalancer or ExternalName (found "${t}").`, spec, 'type');
  const clusterIP = r.str(spec, 'clusterIP');
  const selector = spec.selector === undefined ? undefined : r.strings(spec, 'selector');
  const ports: ServiceIn['ports'] = [];
  const list = r.list(spec, 'ports');
  for (const p of list) {
    if (!p || typeof p !== 'object') continue;
    const po = p as Obj;
    const port = r.int(po, 'port', 1, 65535);
    if (port === undefined) {
      if (po.port === undefined) r.report('PP003', 'error', 'A Service port needs "port".', po);
      continue;
    }
    const tp = po.targetPort;
    const targetPort = typeof tp === 'string' ? tp : r.int(po, 'targetPort', 1, 65535) ?? port;
    const name = r.str(po, 'name') ?? '';
    if (list.length > 1 && !name) r.report('PP003', 'error', 'When a Service has several ports, each needs a name.', po);
    const nodePort = po.nodePort === undefined ? 0 : r.int(po, 'nodePort', 1, 65535) ?? 0;
    ports.push({ name, port, targetPort, protocol: r.protocol(po), nodePort, raw: po });
  }
  if (ports.length === 0 && clusterIP !== 'None' && type !== 'ExternalName') r.report('PP003', 'error', `Service ${meta.name} needs at least one port.`, spec);
  const ipList = (o: Obj | undefined, key: string) =>
    (o ? r.list(o, key) : []).map((v) => String(v)).filter((v) => {
      if (parseIPv4(v) !== undefined || isIPv6(v)) return true;
      r.report('PP013', 'error', `"${v}" in ${key} is not an IP address.`, o, key);
      return false;
    });
  const status = r.map(meta.raw, 'status');
  const lb = status ? r.map(status, 'loadBalancer') : undefined;
  const lbIPs = (lb ? r.list(lb, 'ingress') : []).flatMap((i) => {
    const io = i as Obj;
    const ip = io && r.str(io, 'ip');
    // ipMode "Proxy": the load balancer proxies, so kube-proxy does not capture the VIP
    // (KEP-1860, GA in 1.32).
    return ip && (parseIPv4(ip) !== undefined || isIPv6(ip)) && r.str(io, 'ipMode') !== 'Proxy' ? [ip] : [];
  });
  const affinity = r.str(spec, 'sessionAffinity') === 'ClientIP';
  const cfg = r.map(spec, 'sessionAffinityConfig');
  const clientIP = cfg ? r.map(cfg, 'clientIP') : undefined;
  const timeout = clientIP ? r.int(clientIP, 'timeoutSeconds', 1, 86400) : undefined;
  return {
    meta,
    r,
    type,
    clusterIP: clusterIP === 'None' ? undefined : clusterIP,
    headless: clusterIP === 'None',
    selector,
    ports,
    externalIPs: ipList(spec, 'externalIPs'),
    loadBalancerIPs: type === 'LoadBalancer' ? lbIPs : [],
    loadBalancerSourceRanges: r.list(spec, 'loadBalancerSourceRanges').map((v) => String(v)),
    externalTrafficPolicy: policy(r.str(spec, 'externalTrafficPolicy')),
    internalTrafficPolicy: policy(r.str(spec, 'internalTrafficPolicy')),
    healthCheckNodePort: spec.healthCheckNodePort === undefined ? undefined : r.int(spec, 'healthCheckNodePort', 1, 65535),
    // The API server defaults the ClientIP timeout to 10800 s (3 hours).
    affinitySeconds: affinity ? timeout ?? 10800 : undefined,
    externalName: r.str(spec, 'externalName'),
  };
}

/** The `ports` of an EndpointSlice or of an Endpoints subset: name, port, protocol. */
function endpointPorts(r: DocReader, parent: Obj): SliceIn['ports'] {
  return r.list(parent, 'ports').flatMap((p) => {
    const po = p as Obj;
    const port = po && r.int(po, 'port', 1, 65535);
    return port ? [{ name: r.str(po, 'name') ?? '', port, protocol: r.protocol(po) }] : [];
  });
}

/** discovery.k8s.io/v1 EndpointSlice: unset conditions mean ready (and serving = ready). */
export function readEndpointSlice(r: DocReader, meta: ObjectMeta): SliceIn | undefined {
  const service = meta.labels['kubernetes.io/service-name'];
  if (!service) {
    r.report('PP003', 'warning', `EndpointSlice ${meta.name} has no kubernetes.io/service-name label, so no Service uses it.`, meta.raw, 'metadata');
    return undefined;
  }
  const addressType = r.str(meta.raw, 'addressType') ?? 'IPv4';
  if (addressType !== 'IPv4' && addressType !== 'IPv6') return undefined; // FQDN slices: kube-proxy ignores them
  const ports = endpointPorts(r, meta.raw);
  const endpoints: SliceIn['endpoints'] = [];
  for (const e of r.list(meta.raw, 'endpoints')) {
    const eo = e as Obj;
    if (!eo) continue;
    const cond = r.map(eo, 'conditions') ?? {};
    const ready = cond.ready === undefined || cond.ready === null ? true : cond.ready === true;
    const serving = cond.serving === undefined || cond.serving === null ? ready : cond.serving === true;
    const terminating = cond.terminating === true;
    for (const a of r.list(eo, 'addresses')) endpoints.push({ ip: String(a), ready, serving, terminating, nodeName: r.str(eo, 'nodeName') });
  }
  return { namespace: meta.namespace, service: service, ports, endpoints };
}

/** v1 Endpoints (legacy; cndjp4 writes one): addresses are ready, notReadyAddresses are not. */
export function readEndpoints(r: DocReader, meta: ObjectMeta): SliceIn[] {
  return r.list(meta.raw, 'subsets').map((sub) => {
    const so = (sub ?? {}) as Obj;
    const addr = (key: string, ready: boolean) =>
      r.list(so, key).flatMap((a) => {
        const ao = a as Obj;
        const ip = ao && r.str(ao, 'ip');
        return ip ? [{ ip, ready, serving: ready, terminating: false, nodeName: r.str(ao, 'nodeName') }] : [];
      });
    const ports = endpointPorts(r, so);
    return { namespace: meta.namespace, service: meta.name, ports, endpoints: [...addr('addresses', true), ...addr('notReadyAddresses', false)] };
  });
}

export function buildServices(servicesIn: ServiceIn[], slices: SliceIn[], nodes: NodeInfo[], s: ClusterSettings, opts: ServiceOptions): ServiceInfo[] {
  const svcNet = parseCidr(s.serviceCIDR)!;
  const size = 2 ** (32 - svcNet.bits);
  // 10.96.0.1 is the kubernetes Service and 10.96.0.10 kube-dns in a kubeadm cluster.
  const used = new Set<number>([svcNet.base + 1, parseIPv4(s.dnsIP)!]);
  const usedNodePorts = new Set(servicesIn.flatMap((sv) => sv.ports.map((p) => p.nodePort)).filter((n) => n));
  const pods = nodes.flatMap((n) => n.pods);
  let lbNext = 10;
  const result: ServiceInfo[] = [];
  for (const sv of servicesIn) {
    const { meta, r } = sv;
    let ip = sv.clusterIP;
    if (ip && opts.apiDefaults) {
      const n = parseIPv4(ip);
      if (n === undefined || !cidrContains(svcNet, n)) {
        r.report('PP013', 'error', `spec.clusterIP ${ip} is not in the service CIDR ${s.serviceCIDR}.`, meta.raw.spec, 'clusterIP');
        ip = undefined;
      } else if (used.has(n)) {
        r.report('PP013', 'error', `spec.clusterIP ${ip} is already allocated.`, meta.raw.spec, 'clusterIP');
        ip = undefined;
      } else used.add(n);
    }
    if (!ip && !sv.headless && sv.type !== 'ExternalName' && opts.apiDefaults) {
      // The API server picks a free address at random; we pick it from a hash of namespace/name.
      let k = (fnv1a32(`${meta.namespace}/${meta.name}`) % (size - 2)) + 1;
      while (used.has(svcNet.base + k)) k = (k % (size - 2)) + 1;
      used.add(svcNet.base + k);
      ip = formatIPv4(svcNet.base + k);
    }
    const exposed = sv.type === 'NodePort' || sv.type === 'LoadBalancer';
    const ports = sv.ports.map(({ raw: _raw, ...p }) => {
      if (p.nodePort || !exposed || !opts.apiDefaults) return p;
      // NodePorts come from 30000-32767 (--service-node-port-range); chosen by hash here.
      let np = 30000 + (fnv1a32(`${meta.namespace}/${meta.name}:${p.name}:${p.port}`) % 2768);
      while (usedNodePorts.has(np)) np = np === 32767 ? 30000 : np + 1;
      usedNodePorts.add(np);
      return { ...p, nodePort: np };
    });
    let loadBalancerIPs = sv.loadBalancerIPs;
    if (sv.type === 'LoadBalancer' && loadBalancerIPs.length === 0 && opts.apiDefaults) {
      // No cloud here: a simulated load-balancer controller assigns from 203.0.113.0/24 (TEST-NET-3).
      loadBalancerIPs = [hostIn(parseCidr('203.0.113.0/24')!, lbNext++)];
    }
    // kube-proxy serves the health-check port only for LoadBalancer + externalTrafficPolicy Local
    // (apiservice.NeedsHealthCheck).
    const needsHealthCheck = sv.type === 'LoadBalancer' && sv.externalTrafficPolicy === 'Local';
    let healthCheckNodePort = needsHealthCheck ? sv.healthCheckNodePort ?? 0 : 0;
    if (needsHealthCheck && !healthCheckNodePort && opts.apiDefaults) {
      healthCheckNodePort = 30000 + (fnv1a32(`hc:${meta.namespace}/${meta.name}`) % 2768);
      while (usedNodePorts.has(healthCheckNodePort)) healthCheckNodePort = healthCheckNodePort === 32767 ? 30000 : healthCheckNodePort + 1;
      usedNodePorts.add(healthCheckNodePort);
    }

    const endpoints = sv.type === 'ExternalName' ? [] : endpointsOf(sv, ports, pods, slices);
    if (sv.selector && Object.keys(sv.selector).length && !endpoints.some((e) => e.podId)) {
      r.report('PP007', 'warning', `Service ${meta.namespace}/${meta.name}: selector ${fmtLabels(sv.selector)} matches no pod in namespace ${meta.namespace}, so it has no endpoints (connections are rejected).`, meta.raw.spec, 'selector');
    }
    result.push({
      id: `${meta.namespace}/${meta.name}`,
      namespace: meta.namespace,
      name: meta.name,
      type: sv.type,
      clusterIP: sv.headless ? 'None' : ip ?? '',
      selector: sv.selector ?? {},
      ports,
      endpoints,
      externalIPs: sv.externalIPs,
      loadBalancerIPs,
      loadBalancerSourceRanges: sv.loadBalancerSourceRanges,
      externalTrafficPolicy: exposed || sv.externalIPs.length ? sv.externalTrafficPolicy : 'Cluster',
      internalTrafficPolicy: sv.internalTrafficPolicy,
      healthCheckNodePort,
      affinitySeconds: sv.affinitySeconds,
      externalName: sv.externalName,
      source: meta.source,
    });
  }
  return result;
}

/** Selector-derived endpoints (the EndpointSlice controller) plus every slice written for the Service. */
function endpointsOf(sv: ServiceIn, ports: ServicePortInfo[], pods: PodInfo[], slices: SliceIn[]): EndpointInfo[] {
  const { meta, r } = sv;
  const selected = sv.selector ? pods.filter((p) => p.namespace === meta.namespace && matches(sv.selector!, p.labels)) : [];
  const out: EndpointInfo[] = [];
  for (const port of ports) {
    for (const p of selected) {
      const target = resolveTargetPort(port, p);
      if (target === undefined) {
        const raw = sv.ports.find((x) => x.name === port.name)?.raw;
        r.report('PP012', 'warning', `targetPort "${port.targetPort}" names no port of pod ${p.name}'s containers; that pod is left out of the endpoints.`, raw, 'targetPort');
        continue;
      }
      out.push({ ip: p.ip, port: target, portName: port.name, protocol: port.protocol, ready: true, serving: true, terminating: false, nodeName: p.node, podId: p.id });
    }
  }
  for (const sl of slices) {
    if (sl.namespace !== meta.namespace || sl.service !== meta.name) continue;
    for (const sp of sl.ports) {
      if (!ports.some((p) => p.name === sp.name && p.protocol === sp.protocol)) continue;
      for (const e of sl.endpoints) {
        const pod = pods.find((p) => p.ip === e.ip);
        out.push({ ip: e.ip, port: sp.port, portName: sp.name, protocol: sp.protocol, ready: e.ready, serving: e.serving, terminating: e.terminating, nodeName: e.nodeName ?? pod?.node, podId: pod?.id });
      }
    }
  }
  // kube-proxy keeps each port's endpoints sorted by "IP:port" (pkg/proxy/endpointslicecache.go, byEndpoint).
  const key = (e: EndpointInfo) => (isIPv6(e.ip) ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`);
  const unique = new Map<string, EndpointInfo>();
  for (const e of out) unique.set(`${e.portName}|${key(e)}`, e);
  return [...unique.values()].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

function resolveTargetPort(port: ServicePortInfo, pod: PodInfo): number | undefined {
  if (typeof port.targetPort === 'number') return port.targetPort;
  for (const c of pod.containers) for (const p of c.ports) if (p.name === port.targetPort && p.protocol === port.protocol) return p.containerPort;
  return undefined;
}
