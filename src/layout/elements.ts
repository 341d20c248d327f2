// The diagram elements of a topology, named with the engine's ids (src/engine/ids.ts), so that a
// hop's `at` finds its element. Shared by the layout (worker) and the diagram (main thread).
import { ids } from '../engine/ids.ts';
import type { NetInterface, NodeInfo, PodInfo } from '../engine/types.ts';

export interface NodeElements {
  group: string;
  eth0?: NetInterface;
  bridge?: NetInterface;
  /** The tunnel device: a VXLAN VTEP (flannel.1, vxlan.calico, cilium_vxlan), Cilium's cilium_geneve
   *  or IPIP's tunl0; none without encapsulation. Cilium's have no address. */
  vtep?: NetInterface;
  /** Cilium's cilium_host: the node's router IP (the pods' gateway), where host-stack packets for
   *  pods reach Cilium's BPF (cil_from_host). Its pair cilium_net carries no hop and is not drawn. */
  host?: NetInterface;
  netfilter: string;
}

export function nodeElements(node: NodeInfo): NodeElements {
  return {
    group: ids.node(node.name),
    eth0: node.interfaces.find((i) => i.kind === 'eth'),
    bridge: node.interfaces.find((i) => i.kind === 'bridge'),
    vtep: node.interfaces.find((i) => i.kind === 'vtep' || i.kind === 'ipip'),
    host: node.interfaces.find((i) => i.name === 'cilium_host'),
    netfilter: ids.netfilter(node.name),
  };
}

export const ifaceId = (node: NodeInfo, iface: NetInterface) => ids.nodeIf(node.name, iface.name);
export const podId = (pod: PodInfo) => ids.pod(pod.id);
export const podEth0Id = (pod: PodInfo) => ids.podEth0(pod.id);
export const vethId = (pod: PodInfo) => ids.nodeIf(pod.node, pod.hostVeth.name);
/** The pod's injected istio-proxy (Envoy), drawn inside the pod when it has one. */
export const sidecarId = (pod: PodInfo) => ids.sidecar(pod.id);

/** Sizes of the boxes, in diagram pixels. Pods are narrow (a generated name is drawn on two lines,
 *  workload and suffix) so that a node with four of them still fits a laptop screen legibly. */
export const size = {
  pod: { width: 168, height: 92 },
  podEth0: { width: 150, height: 26 },
  /** The istio-proxy box, between the pod's name and its eth0; a pod with one is this much taller. */
  sidecar: { width: 150, height: 26 },
  sidecarGap: 4,
  veth: { width: 170, height: 30 },
  iface: { width: 220, height: 42 },
  netfilter: { width: 220, height: 52 },
  service: { width: 280, height: 74 },
  nodeHeader: 54,
  network: 48,
  /** The client outside the cluster, left of the node network bar. */
  external: { width: 220, height: 64 },
} as const;

/** A pod's box: taller when it holds an istio-proxy. */
export function podSize(pod: PodInfo): { width: number; height: number } {
  return pod.sidecar ? { width: size.pod.width, height: size.pod.height + size.sidecar.height + size.sidecarGap } : size.pod;
}
