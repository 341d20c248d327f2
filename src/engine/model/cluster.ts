// Manifests + defaults → the cluster: nodes with their network setup, scheduled pods with IPs,
// Services with ClusterIPs and endpoints, and the flows to trace.

import type { ClusterSettings, Diagnostic, FlowSpec, MeshConfig, NetworkPolicyInfo, NodeInfo, PodInfo, Topology } from '../types.ts';
import { ISTIO_KINDS, ISTIO_NETWORKING_VERSIONS, SECURITY_VERSIONS, readDestinationRule, readGateway, readMeshConfigMap, readPeerAuthentication, readServiceEntry, readVirtualService } from '../mesh/objects.ts';
import { APP_BEHAVIOR_KIND, readAppBehavior, type AppBehaviorInfo } from '../mesh/apps.ts';
import { injectSidecars } from '../mesh/inject.ts';
import { gatewayObjects } from '../mesh/gatewayInstall.ts';
import { applyLegacy, isIstioIngress, readIstioIngress, readRouteRule, type LegacyIngress, type LegacyRouteRule } from '../mesh/legacy.ts';
import { legacyTranslations, type LegacyTranslation } from '../mesh/legacyView.ts';
import { readNetworkPolicy } from './networkPolicy.ts';
import { buildFlows, readFlow, type FlowIn } from './flows.ts';
import { ids } from '../ids.ts';
import { flannelDefaults, flannelInterfaces, flannelNodeTables, nodeEth0 } from '../dataplane/flannel.ts';
import { fnv1a32 } from '../util/hash.ts';
import { cidrContains, formatIPv4, hostIn, parseCidr, parseIPv4, subnet } from '../util/ipv4.ts';
import { hostVethName, macFor } from './names.ts';
import { DocReader, knownKinds, readMeta, type Obj, type ObjectMeta } from './objects.ts';
import { buildServices, readEndpointSlice, readEndpoints, readService, type ServiceIn, type ServiceOptions, type SliceIn } from './services.ts';
import { expandWorkload, type PodSpecIn, type Toleration } from './workloads.ts';
import { parseYaml } from './yaml.ts';
import { isKubeProxyConfiguration, readKubeProxyConfiguration } from './kubeProxyConfig.ts';
import { applyCni, calicoFromIPPool, ciliumFromConfigMap, flannelFromConfigMap, IPPOOL_API_VERSIONS, type CniChoice } from './cni.ts';
import { CALI_MAC, caliVethName, calicoBlock, calicoInterfaces, calicoNodeTables } from '../dataplane/calico.ts';
import { allocateAddress, assignIdentities, ciliumInterfaces, ciliumNodeTables, containerIdOf, lxcName } from '../dataplane/cilium.ts';

export const defaultSettings: ClusterSettings = {
  podCIDR: '10.244.0.0/16',
  serviceCIDR: '10.96.0.0/12',
  nodeNetwork: '192.168.1.0/24',
  dnsIP: '10.96.0.10',
  clusterDomain: 'cluster.local',
  cni: { plugin: 'flannel', backend: 'vxlan', ...flannelDefaults },
  kubeProxy: { mode: 'iptables', masqueradeBit: 14, masqueradeAll: false, localhostNodePorts: true, nodePortAddresses: null, clusterCIDR: '10.244.0.0/16' },
};

export interface ClusterModel {
  topology: Topology;
  flows: FlowSpec[];
  diagnostics: Diagnostic[];
  /** Istio 0.x objects beside what replaced them (mesh/legacyView.ts). */
  legacyTranslations: LegacyTranslation[];
  failed: boolean;
}

interface NodeIn {
  name: string;
  ip?: string;
  podCIDR?: string;
  labels: Record<string, string>;
  taints: { key: string; value?: string; effect: string }[];
  source?: NodeInfo['source'];
}

export interface BuildOptions extends Partial<ServiceOptions> {
  /** Override cluster settings (e.g. a test's service CIDR). */
  settings?: Partial<Pick<ClusterSettings, 'podCIDR' | 'serviceCIDR'>>;
}

export function buildCluster(text: string, opts: BuildOptions = {}): ClusterModel {
  const diagnostics: Diagnostic[] = [];
  const parsed = parseYaml(text);
  if (parsed.error) {
    const e = parsed.error;
    diagnostics.push({ code: 'PP001', severity: 'error', message: `YAML syntax error: ${e.message}`, doc: e.doc, line: e.line, col: e.col });
  }

  const settings: ClusterSettings = { ...defaultSettings, ...opts.settings };
  settings.kubeProxy = { ...settings.kubeProxy, clusterCIDR: settings.podCIDR };
  const namespaces = new Set<string>(['default', 'kube-system']);
  const declaredNamespaces = new Set<string>(['default', 'kube-system']);
  const nodesIn: NodeIn[] = [];
  const podsIn: PodSpecIn[] = [];
  const servicesIn: ServiceIn[] = [];
  const slicesIn: SliceIn[] = [];
  const flowsIn: FlowIn[] = [];
  const seen = new Map<string, ObjectMeta>();
  const nsUses: { ns: string; r: DocReader; meta: ObjectMeta }[] = [];
  const cniIn: { choice: CniChoice; r: DocReader; meta: ObjectMeta }[] = [];
  const mesh: MeshConfig = { virtualServices: [], destinationRules: [], gateways: [], serviceEntries: [], peerAuthentications: [], outboundTrafficPolicy: 'ALLOW_ANY' };
  const legacyRules: LegacyRouteRule[] = [];
  const legacyIngresses: LegacyIngress[] = [];
  const apps: AppBehaviorInfo[] = [];
  const policiesIn: NetworkPolicyInfo[] = [];
  const nsLabels = new Map<string, Record<string, string>>();

  for (const d of parsed.docs) {
    const r = new DocReader(parsed, d.index, diagnostics);
    if (isKubeProxyConfiguration(d.value)) {
      Object.assign(settings, { kubeProxy: readKubeProxyConfiguration(r, d.value, settings) });
      continue;
    }
    const meta = readMeta(r, d.value);
    if (!meta) continue;
    // The pod network's configuration objects (model/cni.ts).
    if (meta.kind === 'IPPool' && IPPOOL_API_VERSIONS.includes(meta.apiVersion)) {
      const c = calicoFromIPPool(r, meta);
      if (c) cniIn.push({ choice: c, r, meta });
      continue;
    }
    if (meta.kind === 'ConfigMap' && meta.apiVersion === 'v1' && meta.name === 'kube-flannel-cfg') {
      const c = flannelFromConfigMap(r, meta);
      if (c) cniIn.push({ choice: c, r, meta });
      continue;
    }
    if (meta.kind === 'ConfigMap' && meta.apiVersion === 'v1' && meta.name === 'cilium-config') {
      const c = ciliumFromConfigMap(r, meta);
      if (c) cniIn.push({ choice: c, r, meta });
      continue;
    }
    // What the applications do with a request (mesh/apps.ts).
    if (meta.kind === APP_BEHAVIOR_KIND) {
      const key = `${meta.kind}/${meta.namespace}/${meta.name}`;
      if (seen.has(key)) {
        r.report('PP008', 'error', `${meta.kind} ${meta.namespace}/${meta.name} is defined twice; the later one is ignored.`, meta.raw, 'metadata');
        continue;
      }
      seen.set(key, meta);
      pushDefined(apps, readAppBehavior(r, meta));
      continue;
    }
    // Istio's traffic management (mesh/objects.ts).
    // Istio 0.x objects (mesh/legacy.ts): translated to what replaced them.
    if (meta.kind === 'RouteRule' && meta.apiVersion === 'config.istio.io/v1alpha2') {
      const rr = readRouteRule(r, meta);
      if (rr) legacyRules.push(rr);
      continue;
    }
    if (meta.kind === 'Ingress' && isIstioIngress(meta)) {
      if (meta.apiVersion === 'extensions/v1beta1' || meta.apiVersion === 'networking.k8s.io/v1beta1') r.report('PP005', 'warning', `${meta.apiVersion} Ingress was removed from Kubernetes (1.22); use networking.k8s.io/v1. podpath reads it anyway.`, meta.raw, 'apiVersion');
      r.report('PP005', 'warning', 'An Ingress of class "istio" is served by Istio\'s ingress gateway: Istio turns it into the Gateway istio-system/istio-autogenerated-k8s-ingress and a VirtualService bound to it. Today a Gateway and a VirtualService (or the Gateway API) say this directly.', meta.raw, 'kind');
      legacyIngresses.push(readIstioIngress(r, meta));
      continue;
    }
    if ((ISTIO_KINDS as readonly string[]).includes(meta.kind) && ISTIO_NETWORKING_VERSIONS.includes(meta.apiVersion)) {
      const key = `${meta.kind}/${meta.namespace}/${meta.name}`;
      if (seen.has(key)) {
        r.report('PP008', 'error', `${meta.kind} ${meta.namespace}/${meta.name} is defined twice; the later one is ignored.`, meta.raw, 'metadata');
        continue;
      }
      seen.set(key, meta);
      if (meta.kind === 'VirtualService') pushDefined(mesh.virtualServices, readVirtualService(r, meta));
      else if (meta.kind === 'DestinationRule') pushDefined(mesh.destinationRules, readDestinationRule(r, meta));
      else if (meta.kind === 'ServiceEntry') pushDefined(mesh.serviceEntries, readServiceEntry(r, meta));
      else pushDefined(mesh.gateways, readGateway(r, meta));
      continue;
    }
    if (meta.kind === 'PeerAuthentication' && SECURITY_VERSIONS.includes(meta.apiVersion)) {
      mesh.peerAuthentications.push(readPeerAuthentication(r, meta));
      continue;
    }
    if (meta.kind === 'ConfigMap' && meta.name === 'istio' && meta.namespace === 'istio-system') {
      mesh.outboundTrafficPolicy = readMeshConfigMap(r, meta) ?? mesh.outboundTrafficPolicy;
      continue;
    }
    const known = knownKinds[meta.kind];
    if (!known) {
      r.report('PP004', 'info', `${meta.kind} is not modelled yet; podpath ignores it for now.`, meta.raw, 'kind');
      continue;
    }
    if (known.removed?.includes(meta.apiVersion)) {
      r.report('PP005', 'warning', `${meta.apiVersion} ${meta.kind} was removed from Kubernetes; use apiVersion: ${known.current}. podpath reads it as ${known.current}.`, meta.raw, 'apiVersion');
    } else if (meta.apiVersion !== known.current) {
      r.report('PP013', 'error', `${meta.kind} has apiVersion ${meta.apiVersion}; expected ${known.current}.`, meta.raw, 'apiVersion');
      continue;
    }
    const clusterScoped = meta.kind === 'Namespace' || meta.kind === 'Node';
    const key = `${meta.kind}/${clusterScoped ? '' : meta.namespace + '/'}${meta.name}`;
    if (seen.has(key)) {
      r.report('PP008', 'error', `${meta.kind} ${clusterScoped ? '' : meta.namespace + '/'}${meta.name} is defined twice; the later one is ignored.`, meta.raw, 'metadata');
      continue;
    }
    seen.set(key, meta);
    if (!clusterScoped) nsUses.push({ ns: meta.namespace, r, meta });

    switch (meta.kind) {
      case 'Namespace':
        declaredNamespaces.add(meta.name);
        namespaces.add(meta.name);
        nsLabels.set(meta.name, meta.labels);
        break;
      case 'NetworkPolicy': {
        const p = readNetworkPolicy(r, meta);
        if (p) policiesIn.push(p);
        break;
      }
      case 'Node':
        nodesIn.push(readNode(r, meta));
        break;
      case 'Service':
        servicesIn.push(readService(r, meta));
        break;
      case 'EndpointSlice': {
        const slice = readEndpointSlice(r, meta);
        if (slice) slicesIn.push(slice);
        break;
      }
      case 'Endpoints':
        slicesIn.push(...readEndpoints(r, meta));
        break;
      case 'Flow':
        flowsIn.push(readFlow(r, meta));
        break;
      default:
        podsIn.push(...expandWorkload(r, meta));
    }
  }

  // Istio's ingress and egress gateways, when a Gateway needs one and the text has none (mesh/gatewayInstall.ts).
  for (const kind of ['ingress', 'egress'] as const) {
    const gwNeeding = mesh.gateways.find((g) => g.selector.istio === `${kind}gateway`);
    if (!gwNeeding || podsIn.some((p) => p.labels.istio === `${kind}gateway`)) continue;
    const extra = gatewayObjects(kind, gwNeeding, diagnostics);
    podsIn.push(...extra.pods);
    servicesIn.push(...extra.services);
    namespaces.add('istio-system');
  }
  for (const u of nsUses) {
    if (!declaredNamespaces.has(u.ns)) {
      declaredNamespaces.add(u.ns);
      u.r.report('PP009', 'warning', `Namespace "${u.ns}" is not declared in this text; it is assumed to exist (kubectl would refuse to create ${u.meta.kind} ${u.meta.name} until it does).`, u.meta.raw.metadata ?? u.meta.raw);
    }
    namespaces.add(u.ns);
  }

  if (cniIn.length) {
    applyCni(settings, cniIn[0]!.choice);
    const first = cniIn[0]!;
    const pool = parseCidr(settings.podCIDR)!;
    const svc = parseCidr(settings.serviceCIDR)!;
    if (first.choice.cni.plugin === 'cilium' && (cidrContains(pool, svc.base) || cidrContains(svc, pool.base))) {
      first.r.report('PP013', 'warning', `Cilium's pod pool ${settings.podCIDR} overlaps the Service CIDR ${settings.serviceCIDR}: a pod could get an address that is also a ClusterIP. Set cluster-pool-ipv4-cidr to a range of its own (Cilium's default 10.0.0.0/8 overlaps kubeadm's 10.96.0.0/12).`, first.meta.raw.data ?? first.meta.raw, 'cluster-pool-ipv4-cidr');
    }
    for (const extra of cniIn.slice(1)) extra.r.report('PP008', 'warning', `A second pod network configuration (${extra.meta.kind} ${extra.meta.name}); podpath uses the first, ${cniIn[0]!.meta.kind} ${cniIn[0]!.meta.name}.`, extra.meta.raw, 'kind');
  }
  const nodes = buildNodes(nodesIn, settings, diagnostics);
  placePods(podsIn, nodes, settings, diagnostics);
  if (settings.cni.plugin === 'cilium') assignIdentities(nodes.flatMap((n) => n.pods));
  const services = buildServices(servicesIn, slicesIn, nodes, settings, { apiDefaults: opts.apiDefaults ?? true });
  if (policiesIn.length && settings.cni.plugin === 'flannel') {
    for (const p of policiesIn) {
      const at = p.source;
      diagnostics.push({ code: 'PP014', severity: 'warning', message: `flannel does not enforce NetworkPolicy: ${p.namespace}/${p.name} has no effect on this cluster, and every packet passes as if it did not exist. Pick a pod network that enforces it (Calico).`, doc: at.doc, line: at.line, col: at.col });
    }
  }
  const namespaceLabels = Object.fromEntries([...namespaces].sort().map((ns) => [ns, { ...(nsLabels.get(ns) ?? {}), 'kubernetes.io/metadata.name': ns }]));
  const topology: Topology = { settings, nodes, services, namespaces: [...namespaces].sort(), namespaceLabels, policies: policiesIn, mesh };
  const legacyApplied = applyLegacy(mesh, legacyRules, legacyIngresses);
  injectSidecars(topology);
  if (apps.length) topology.apps = apps;
  const flows = buildFlows(flowsIn, topology);
  return { topology, flows, diagnostics, legacyTranslations: legacyTranslations(text, legacyApplied, diagnostics), failed: parsed.error !== undefined };
}

function readNode(r: DocReader, meta: ObjectMeta): NodeIn {
  const spec = r.map(meta.raw, 'spec');
  const status = r.map(meta.raw, 'status');
  let ip: string | undefined;
  for (const a of status ? r.list(status, 'addresses') : []) {
    const ao = a as Obj;
    if (ao && r.str(ao, 'type') === 'InternalIP') {
      const v = r.str(ao, 'address');
      if (v && parseIPv4(v) !== undefined) ip = v;
      else r.report('PP013', 'error', `InternalIP "${v}" is not an IPv4 address.`, ao, 'address');
    }
  }
  const podCIDR = spec ? r.str(spec, 'podCIDR') : undefined;
  if (podCIDR && !parseCidr(podCIDR)) r.report('PP013', 'error', `spec.podCIDR "${podCIDR}" is not an IPv4 CIDR.`, spec, 'podCIDR');
  const taints: NodeIn['taints'] = [];
  for (const t of spec ? r.list(spec, 'taints') : []) {
    const to = t as Obj;
    const key = to && r.str(to, 'key');
    if (key) taints.push({ key, value: r.str(to, 'value'), effect: r.str(to, 'effect') ?? 'NoSchedule' });
  }
  return { name: meta.name, ip, podCIDR: podCIDR && parseCidr(podCIDR) ? podCIDR : undefined, labels: meta.labels, taints, source: meta.source };
}

function buildNodes(nodesIn: NodeIn[], s: ClusterSettings, out: Diagnostic[]): NodeInfo[] {
  // Default: a kubeadm-like cluster of three nodes, node-1 the tainted control plane.
  const list: NodeIn[] = nodesIn.length
    ? nodesIn
    : ['node-1', 'node-2', 'node-3'].map((name, i): NodeIn => ({
        name,
        labels: i === 0 ? { 'node-role.kubernetes.io/control-plane': '' } : ({} as Record<string, string>),
        taints: i === 0 ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] : [],
      }));
  const net = parseCidr(s.nodeNetwork)!;
  const podNet = parseCidr(s.podCIDR)!;
  const usedIPs = new Set(list.map((n) => n.ip).filter(Boolean));
  const usedCIDRs = new Set(list.map((n) => n.podCIDR).filter(Boolean));
  let nextHost = 11;
  let nextSubnet = 0;
  let addressedCount = 0;
  const addressed = list.map((n) => {
    let ip = n.ip;
    while (!ip) {
      const cand = hostIn(net, nextHost++);
      if (!usedIPs.has(cand)) ip = cand;
    }
    // Calico's IPAM ignores the node's spec.podCIDR and gives each node blocks of its IPPool.
    if (s.cni.plugin === 'calico') return { n, addr: { name: n.name, ip, podCIDR: calicoBlock(s.podCIDR, s.cni.blockSize, addressedCount++), routerIP: '' } };
    // Cilium's cluster-pool IPAM ignores it too: the operator gives each node the pool's next free
    // CIDR of cluster-pool-ipv4-mask-size; the agent takes the router IP (cilium_host) from it.
    if (s.cni.plugin === 'cilium') {
      const podCIDR = `${formatIPv4(subnet(podNet, s.cni.maskSize, addressedCount++).base)}/${s.cni.maskSize}`;
      return { n, addr: { name: n.name, ip, podCIDR, routerIP: allocateAddress(podCIDR, `router:${n.name}`, new Set()) } };
    }
    // kube-controller-manager's range allocator hands out the pod CIDR's /24s in order.
    let podCIDR = n.podCIDR;
    while (!podCIDR) {
      const c = subnet(podNet, 24, nextSubnet++);
      const cand = `${formatIPv4(c.base)}/24`;
      if (!usedCIDRs.has(cand)) podCIDR = cand;
    }
    if (n.ip && !cidrContains(net, parseIPv4(n.ip)!)) {
      out.push({ code: 'PP013', severity: 'warning', message: `Node ${n.name}'s InternalIP ${n.ip} is outside the node network ${s.nodeNetwork}.`, ...(n.source ?? { doc: 0, line: 1, col: 1 }) });
    }
    return { n, addr: { name: n.name, ip, podCIDR, routerIP: '' } };
  });
  const all = addressed.map(({ addr }) => ({ node: addr, vtepMac: macFor(`vtep:${addr.name}`), eth0Mac: macFor(`eth0:${addr.name}`) }));
  const gateway = hostIn(net, 1);
  return addressed.map(({ n, addr }) => {
    const tables = s.cni.plugin === 'calico' ? calicoNodeTables(addr, all, s, s.nodeNetwork, gateway) : s.cni.plugin === 'cilium' ? ciliumNodeTables(addr, all, s, s.nodeNetwork, gateway) : flannelNodeTables(addr, all, s, s.nodeNetwork, gateway);
    const roles = Object.keys(n.labels)
      .filter((k) => k.startsWith('node-role.kubernetes.io/'))
      .map((k) => k.slice('node-role.kubernetes.io/'.length));
    return {
      id: ids.node(n.name),
      name: n.name,
      ip: addr.ip,
      podCIDR: addr.podCIDR,
      roles,
      taints: n.taints.map((t) => `${t.key}${t.value ? '=' + t.value : ''}:${t.effect}`),
      interfaces: [nodeEth0(addr, net.bits), ...(s.cni.plugin === 'calico' ? calicoInterfaces(addr, s) : s.cni.plugin === 'cilium' ? ciliumInterfaces(addr, s) : flannelInterfaces(addr, s))],
      ...tables,
      pods: [],
      source: n.source,
    };
  });
}

function tolerates(tols: Toleration[], taint: string): boolean {
  const [kv, effect] = taint.split(':');
  const [key, value] = (kv ?? '').split('=');
  return tols.some(
    (t) =>
      (t.key === undefined ? t.operator === 'Exists' : t.key === key) &&
      (t.operator === 'Exists' || (t.value ?? '') === (value ?? '')) &&
      (!t.effect || t.effect === effect),
  );
}

function placePods(podsIn: PodSpecIn[], nodes: NodeInfo[], s: ClusterSettings, out: Diagnostic[]) {
  const eligible = (p: PodSpecIn) => nodes.filter((n) => n.taints.every((t) => t.endsWith(':PreferNoSchedule') || tolerates(p.tolerations, t)));
  const place = (p: PodSpecIn, node: NodeInfo, name: string) => {
    // flannel: host-local IPAM hands out the node's pod subnet in order; .1 is cni0, the gateway.
    // Calico: its IPAM hands out the node's block in order, after the tunnel's address.
    // Cilium: a random free address of the node's CIDR (see allocateAddress).
    const calico = s.cni.plugin === 'calico';
    const cilium = s.cni.plugin === 'cilium';
    const id = `${p.namespace}/${name}`;
    const routerIP = cilium ? node.interfaces.find((i) => i.name === 'cilium_host')!.address!.split('/')[0]! : '';
    const ip = cilium ? allocateAddress(node.podCIDR, `pod:${id}`, new Set([routerIP, ...node.pods.map((x) => x.ip)])) : hostIn(parseCidr(node.podCIDR)!, node.pods.length + (calico ? (s.cni.device ? 1 : 0) : 2));
    const vethName = calico ? caliVethName(p.namespace, name) : cilium ? lxcName(containerIdOf(id)) : hostVethName(id);
    // Cilium's veths keep the device MTU; only the pod's default route carries the tunnel MTU.
    const mtu = cilium ? 1500 : s.cni.mtu;
    if (calico) node.routes.push({ dst: ip, dev: vethName, scope: 'link', proto: 'static' });
    const pod: PodInfo = {
      id,
      namespace: p.namespace,
      name,
      node: node.name,
      ip,
      mac: macFor(`pod:${id}`),
      labels: p.labels,
      annotations: p.annotations,
      containers: p.containers,
      owner: p.owner,
      hostVeth: { id: ids.nodeIf(node.name, vethName), name: vethName, kind: 'veth', mac: calico ? CALI_MAC : macFor(`veth:${id}`), mtu },
      // Calico and Cilium give the pod a /32 (gateway: 169.254.1.1, or the router IP); flannel's bridge plugin the node's /24.
      eth0: { id: ids.podEth0(id), name: 'eth0', kind: 'veth', address: `${ip}/${calico || cilium ? 32 : parseCidr(node.podCIDR)!.bits}`, mac: macFor(`pod:${id}`), mtu },
      source: p.source,
    };
    node.pods.push(pod);
  };
  for (const p of podsIn) {
    const candidates = eligible(p);
    if (p.perNode) {
      for (const n of candidates) place(p, n, `${p.name}-${fnv1a32(n.name).toString(36).slice(0, 5)}`);
      continue;
    }
    if (p.nodeName) {
      const n = nodes.find((x) => x.name === p.nodeName);
      if (n) place(p, n, p.name);
      else out.push({ code: 'PP011', severity: 'error', message: `Pod ${p.namespace}/${p.name} asks for node "${p.nodeName}", which does not exist.`, ...p.source });
      continue;
    }
    if (candidates.length === 0) {
      out.push({ code: 'PP011', severity: 'error', message: `No node can take pod ${p.namespace}/${p.name}: every node has a taint it does not tolerate (it stays Pending).`, ...p.source });
      continue;
    }
    // The default scheduler spreads a workload's replicas over nodes (default PodTopologySpread
    // constraints on kubernetes.io/hostname) and otherwise scores by free resources, which this
    // model does not know. podpath places replica i of a workload on the eligible node
    // (h + i) mod n, h a hash of the workload: replicas spread evenly, and scaling one workload
    // never moves the pods of another.
    const start = fnv1a32(p.spread.key);
    place(p, candidates[(start + p.spread.index) % candidates.length]!, p.name);
  }
}

function pushDefined<T>(list: T[], v: T | undefined) {
  if (v !== undefined) list.push(v);
}
