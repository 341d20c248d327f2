// toFlow: snapshot topology + layout + trace + active hop → React Flow nodes and edges.
// Pure and DOM-free (unit-tested in Node); the diagram is derived, never the source of truth.
import type { Edge, Node } from '@xyflow/react';
import { ids } from '../../engine/ids.ts';
import type { Hop, InterfaceKind, PodInfo, Topology, Trace } from '../../engine/types.ts';
import { ifaceId, nodeElements, podEth0Id, podId, sidecarId, vethId } from '../../layout/elements.ts';
import type { Box, Layout, NetSide } from '../../layout/types.ts';

/** How an element relates to the trace being played. */
export type Mark = 'active' | 'visited' | undefined;

export interface K8sNodeData extends Record<string, unknown> {
  name: string;
  ip: string;
  podCIDR: string;
  roles: string[];
  netSide: NetSide;
  mark: Mark;
}
export interface IfaceData extends Record<string, unknown> {
  name: string;
  address?: string;
  /** 'cilium-host': Cilium's cilium_host (a veth by kind, but the node's router, not a pod's). */
  kind: InterfaceKind | 'pod-eth0' | 'cilium-host';
  mark: Mark;
}
export interface NetfilterData extends Record<string, unknown> {
  node: string;
  /** kube-proxy's mode, shown under the component's name. */
  mode: 'iptables' | 'ipvs' | 'nftables';
  /** Whose rules are in it: kube-proxy's, or only Cilium's (kube-proxy replacement: Services in BPF). */
  rules: 'kube-proxy' | 'cilium' | 'kube-proxy+cilium';
  mark: Mark;
}
export interface PodData extends Record<string, unknown> {
  name: string;
  /** The owning workload's name when the pod's name was generated from it ("productpage-v1" of
   *  "productpage-v1-89fbcd85b-t2fql"): the name is drawn as workload and suffix, on two lines. */
  workload?: string;
  namespace: string;
  ip: string;
  veth: string;
  /** Cilium: the pod's security identity. */
  identity?: number;
  netSide: NetSide;
  mark: Mark;
}
/** A pod's injected istio-proxy (Envoy), drawn inside the pod. */
export interface SidecarData extends Record<string, unknown> {
  pod: string;
  mark: Mark;
}
export interface ServiceData extends Record<string, unknown> {
  name: string;
  namespace: string;
  clusterIP: string;
  ports: string;
  endpoints: number;
  mark: Mark;
}
export interface NetworkData extends Record<string, unknown> {
  cidr: string;
  ports: { id: string; x: number; side: NetSide }[];
  mark: Mark;
}
export interface ExternalData extends Record<string, unknown> {
  /** The outside host's address (empty when unknown). */
  ip: string;
  /** A client that starts the flow from outside, or a server a pod connects to. */
  role: 'client' | 'server';
  mark: Mark;
}
export interface PacketData extends Record<string, unknown> {
  direction: Hop['direction'];
  index: number;
}

export type DiagramNode =
  | Node<K8sNodeData, 'k8snode'>
  | Node<IfaceData, 'iface'>
  | Node<NetfilterData, 'netfilter'>
  | Node<PodData, 'pod'>
  | Node<SidecarData, 'sidecar'>
  | Node<ServiceData, 'service'>
  | Node<NetworkData, 'network'>
  | Node<ExternalData, 'external'>
  | Node<PacketData, 'packet'>;

export interface EdgeData extends Record<string, unknown> {
  lit?: Hop['direction'];
}
export type DiagramEdge = Edge<EdgeData>;

export const PACKET_SIZE = 26;

const center = (b: Box) => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 });

function marksOf(trace: Trace | null, activeHop: number): Map<string, Mark> {
  const marks = new Map<string, Mark>();
  if (!trace) return marks;
  trace.hops.forEach((h, i) => {
    if (i < activeHop && marks.get(h.at) !== 'active') marks.set(h.at, 'visited');
  });
  const active = trace.hops[activeHop];
  if (active) marks.set(active.at, 'active');
  return marks;
}

export function toFlow(
  topology: Topology,
  layout: Layout,
  trace: Trace | null,
  activeHop: number,
): { nodes: DiagramNode[]; edges: DiagramEdge[] } {
  const nodes: DiagramNode[] = [];
  const edges: DiagramEdge[] = [];
  const marks = marksOf(trace, activeHop);
  const box = (id: string) => layout.boxes[id];

  function place<T extends DiagramNode>(node: Omit<T, 'position' | 'width' | 'height'>, parent?: string): void {
    const b = box(node.id);
    if (!b) return;
    const p = parent ? box(parent) : undefined;
    nodes.push({
      ...node,
      position: { x: b.x - (p?.x ?? 0), y: b.y - (p?.y ?? 0) },
      width: b.width,
      height: b.height,
      ...(parent && p ? { parentId: parent } : {}),
      draggable: false,
      selectable: false,
    } as DiagramNode);
  }

  function connect(source: string, target: string, extra: Partial<DiagramEdge> = {}) {
    const a = box(source);
    const b = box(target);
    if (!a || !b) return;
    const down = center(a).y <= center(b).y;
    edges.push({
      id: `e:${source}->${target}`,
      source,
      target,
      sourceHandle: down ? 'bs' : 'ts',
      targetHandle: down ? 'tt' : 'bt',
      ...extra,
    });
  }

  const netId = ids.nodeNetwork();
  const net = box(netId);
  const netPorts: NetworkData['ports'] = [];
  const cni = topology.settings.cni;
  const rules: NetfilterData['rules'] = cni.plugin !== 'cilium' ? 'kube-proxy' : cni.kubeProxyReplacement ? 'cilium' : 'kube-proxy+cilium';

  for (const svc of topology.services) {
    const id = ids.service(svc.id);
    place<Node<ServiceData, 'service'>>({
      id,
      type: 'service',
      data: {
        name: svc.name,
        namespace: svc.namespace,
        clusterIP: svc.clusterIP,
        ports: svc.ports.map((p) => `${p.port}/${p.protocol}`).join(', '),
        endpoints: svc.endpoints.length,
        mark: marks.get(id),
      },
    });
  }

  for (const node of topology.nodes) {
    const els = nodeElements(node);
    const netSide = layout.netSide[els.group] ?? 'bottom';
    place<Node<K8sNodeData, 'k8snode'>>({
      id: els.group,
      type: 'k8snode',
      data: { name: node.name, ip: node.ip, podCIDR: node.podCIDR, roles: node.roles, netSide, mark: marks.get(els.group) },
    });
    for (const iface of [els.bridge, els.host, els.vtep, els.eth0]) {
      if (!iface) continue;
      const id = ifaceId(node, iface);
      place<Node<IfaceData, 'iface'>>(
        { id, type: 'iface', data: { name: iface.name, address: iface.address, kind: iface === els.host ? 'cilium-host' : iface.kind, mark: marks.get(id) } },
        els.group,
      );
    }
    place<Node<NetfilterData, 'netfilter'>>(
      { id: els.netfilter, type: 'netfilter', data: { node: node.name, mode: topology.settings.kubeProxy.mode, rules, mark: marks.get(els.netfilter) } },
      els.group,
    );
    for (const pod of node.pods) {
      const pid = podId(pod);
      place<Node<PodData, 'pod'>>(
        {
          id: pid,
          type: 'pod',
          data: {
            name: pod.name,
            namespace: pod.namespace,
            ip: pod.ip,
            veth: pod.hostVeth.name,
            ...workloadOf(pod),
            ...(pod.identity !== undefined ? { identity: pod.identity } : {}),
            netSide,
            mark: marks.get(pid),
          },
        },
        els.group,
      );
      const eid = podEth0Id(pod);
      place<Node<IfaceData, 'iface'>>(
        { id: eid, type: 'iface', data: { name: 'eth0', address: pod.eth0.address ?? pod.ip, kind: 'pod-eth0', mark: marks.get(eid) } },
        pid,
      );
      if (pod.sidecar) {
        const sid = sidecarId(pod);
        place<Node<SidecarData, 'sidecar'>>({ id: sid, type: 'sidecar', data: { pod: pod.name, mark: marks.get(sid) } }, pid);
      }
      const vid = vethId(pod);
      place<Node<IfaceData, 'iface'>>(
        { id: vid, type: 'iface', data: { name: pod.hostVeth.name, kind: 'veth', mark: marks.get(vid) } },
        els.group,
      );
      connect(eid, vid);
      connect(vid, els.bridge ? ifaceId(node, els.bridge) : els.netfilter);
    }
    const chain = [els.bridge && ifaceId(node, els.bridge), els.netfilter, els.vtep && ifaceId(node, els.vtep), els.eth0 && ifaceId(node, els.eth0)];
    const present = chain.filter((c): c is string => !!c);
    for (let i = 1; i < present.length; i++) connect(present[i - 1]!, present[i]!);
    if (els.host) connect(ifaceId(node, els.host), els.netfilter);

    if (els.eth0 && net) {
      const eth = box(ifaceId(node, els.eth0));
      if (eth) {
        const port = `p:${node.name}`;
        const side: NetSide = center(eth).y < net.y ? 'top' : 'bottom';
        netPorts.push({ id: port, x: center(eth).x - net.x, side });
        const ethId = ifaceId(node, els.eth0);
        edges.push({
          id: `e:${ethId}->${netId}`,
          source: ethId,
          target: netId,
          sourceHandle: side === 'top' ? 'bs' : 'ts',
          targetHandle: `${port}:t`,
        });
      }
    }
  }

  if (net) {
    nodes.push({
      id: netId,
      type: 'network',
      position: { x: net.x, y: net.y },
      width: net.width,
      height: net.height,
      draggable: false,
      selectable: false,
      data: { cidr: topology.settings.nodeNetwork, ports: netPorts, mark: marks.get(netId) },
    });
  }

  // The client outside the cluster: only while the trace goes through it.
  const extId = ids.external();
  const extHop = trace?.hops.find((h) => h.at === extId);
  if (extHop && net) {
    const server = trace!.hops[0]!.at !== extId;
    place<Node<ExternalData, 'external'>>({ id: extId, type: 'external', data: { ip: server ? serverIp(extHop) : clientIp(extHop), role: server ? 'server' : 'client', mark: marks.get(extId) } });
    if (box(extId)) edges.push({ id: `e:${extId}->${netId}`, source: extId, target: netId, sourceHandle: 'rs', targetHandle: 'lt' });
  }

  for (const svc of topology.services) {
    for (const ep of svc.endpoints) {
      if (!ep.podId) continue;
      connect(ids.service(svc.id), ids.pod(ep.podId), { className: 'edge-endpoint', data: {} });
    }
  }

  litPath(trace, activeHop, edges);
  // The svc→pod edges were pushed last; keep ids unique when a pod backs a port twice.
  dedupeEdges(edges);

  const hop = trace?.hops[activeHop];
  const at = hop ? box(hop.at) : undefined;
  if (hop && at) {
    // On the element's left edge, so the element's own label stays readable; for the boxes inside
    // a pod (its eth0, its istio-proxy), on the pod's left edge: their labels fill their width.
    const owner = topology.nodes.flatMap((n) => n.pods).find((p) => hop.at === podEth0Id(p) || hop.at === sidecarId(p));
    const pod = owner ? box(podId(owner)) : undefined;
    const c = { x: (pod ?? at).x, y: at.y + at.height / 2 };
    nodes.push({
      id: 'packet',
      type: 'packet',
      position: { x: c.x - PACKET_SIZE / 2, y: c.y - PACKET_SIZE / 2 },
      width: PACKET_SIZE,
      height: PACKET_SIZE,
      zIndex: 1000,
      draggable: false,
      selectable: false,
      focusable: false,
      data: { direction: hop.direction, index: hop.index },
    });
  }
  return { nodes, edges };
}

/** The workload a generated pod name starts with (Deployment → ReplicaSet → pod, StatefulSet …). */
function workloadOf(pod: PodInfo): { workload?: string } {
  const owner = pod.owner?.split('/').pop();
  return owner && pod.name.length > owner.length + 1 && pod.name.startsWith(`${owner}-`) ? { workload: owner } : {};
}

/** The outside client's address: the IPv4 source of the packet it sends. */
function clientIp(hop: Hop): string {
  for (const p of [hop.before, hop.after]) {
    const ip = p.headers.find((h) => h.proto === 'ipv4');
    if (ip) return ip.src;
  }
  return '';
}

/** The outside server's address: the IPv4 destination of the packet delivered to it. */
function serverIp(hop: Hop): string {
  return hop.after.headers.find((h) => h.proto === 'ipv4')?.dst ?? '';
}

/** Lights the edge between the previous hop's place and the active one (adds one if none exists). */
function litPath(trace: Trace | null, activeHop: number, edges: DiagramEdge[]) {
  const hop = trace?.hops[activeHop];
  const prev = trace?.hops[activeHop - 1];
  if (!hop || !prev || prev.at === hop.at) return;
  const existing = edges.find(
    (e) => (e.source === prev.at && e.target === hop.at) || (e.source === hop.at && e.target === prev.at),
  );
  const cls = `edge-lit edge-${hop.direction}`;
  if (existing) {
    existing.data = { ...existing.data, lit: hop.direction };
    existing.className = [existing.className, cls].filter(Boolean).join(' ');
    existing.animated = true;
    existing.zIndex = 999;
  } else {
    edges.push({
      id: `hop:${activeHop}`,
      source: prev.at,
      target: hop.at,
      className: cls,
      animated: true,
      zIndex: 999,
      data: { lit: hop.direction },
    });
  }
}

function dedupeEdges(edges: DiagramEdge[]) {
  const seen = new Set<string>();
  for (let i = edges.length - 1; i >= 0; i--) {
    const id = edges[i]!.id;
    if (seen.has(id)) edges.splice(i, 1);
    else seen.add(id);
  }
}

/** A short human name for a diagram element id, for the hop list. */
export function placeLabel(topology: Topology, at: string): string {
  if (at === ids.nodeNetwork()) return `node network ${topology.settings.nodeNetwork}`;
  if (at === ids.external()) return 'client outside the cluster';
  for (const node of topology.nodes) {
    if (at === ids.node(node.name)) return node.name;
    if (at === ids.netfilter(node.name)) return `${node.name} netfilter`;
    for (const iface of node.interfaces) if (at === ids.nodeIf(node.name, iface.name)) return `${node.name} ${iface.name}`;
    for (const pod of node.pods) {
      if (at === podId(pod)) return `${pod.namespace}/${pod.name}`;
      if (at === podEth0Id(pod)) return `${pod.name} eth0`;
      if (at === sidecarId(pod)) return `${pod.name} istio-proxy`;
      if (at === vethId(pod)) return `${node.name} ${pod.hostVeth.name}`;
    }
  }
  for (const svc of topology.services) if (at === ids.service(svc.id)) return `Service ${svc.namespace}/${svc.name}`;
  return at;
}
