// Stable ids for every element the diagram draws and a hop can point at.
// The engine names places with these; the UI looks them up. Keep both sides on these helpers.

export const ids = {
  node: (node: string) => `node:${node}`,
  /** A node-side interface: eth0, cni0, flannel.1 or the host end of a pod's veth. */
  nodeIf: (node: string, ifName: string) => `if:${node}:${ifName}`,
  /** The node's netfilter hooks (iptables tables and chains). */
  netfilter: (node: string) => `nf:${node}`,
  /** The node's routing table (drawn on its netfilter/route component). */
  pod: (podId: string) => `pod:${podId}`,
  /** The pod's own eth0 (inside the pod's network namespace). */
  podEth0: (podId: string) => `pod:${podId}:eth0`,
  /** The pod's injected istio-proxy (Envoy) and its capture rules. */
  sidecar: (podId: string) => `pod:${podId}:istio-proxy`,
  service: (svcId: string) => `svc:${svcId}`,
  /** The node network: the L2 segment all nodes' eth0 attach to. */
  nodeNetwork: () => 'net:nodes',
  /** A client outside the cluster, beyond the node network's router. */
  external: () => 'ext:client',
} as const;
