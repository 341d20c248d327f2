// Cilium's pod network, as the Cilium agent, its CNI plugin and its BPF programs set up each node.
// Sources (cilium/cilium, v1.15–v1.16): pkg/datapath/connector/veth.go (Endpoint2IfName: "lxc" +
// 12 hex of sha256(endpoint id)), connector/ipam.go (the pod's /32, "<router> dev eth0 scope link",
// "default via <router> dev eth0 mtu <route MTU>"), pkg/mtu/mtu.go (route MTU = 1500 − 50 in
// tunnel mode, devices keep 1500), pkg/datapath/loader/netlink.go (cilium_host / cilium_net veth
// pair, the router IP as a /32 on cilium_host, flow-based cilium_vxlan / cilium_geneve),
// pkg/datapath/linux/node.go (createNodeRouteSpec: "<pod CIDR> via <router> dev cilium_host src
// <router> mtu 1450"; createDirectRouteSpec: "<pod CIDR> via <node IP> dev eth0"), pkg/ipam (the
// router IP and pod IPs: a random free address of the node's CIDR, randomScanStrategy),
// pkg/identity/numericidentity.go (reserved identities; pod identities 256–65535, picked at random
// by the allocator, pkg/idpool), pkg/labelsfilter/filter.go (which labels make an identity),
// pkg/datapath/iptables/iptables.go (CILIUM_POST_nat, CILIUM_FORWARD), bpf/bpf_lxc.c (ARP answered
// with the lxc's MAC).

import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import type { ClusterSettings, NeighbourEntry, NetInterface, PodInfo, RouteEntry, Topology } from '../types.ts';
import { ids } from '../ids.ts';
import { macFor } from '../model/names.ts';
import { fnv1a32 } from '../util/hash.ts';
import { formatIPv4, parseCidr } from '../util/ipv4.ts';
import type { Ruleset } from './kubeProxyIptables.ts';
import type { NodeAddressing } from './flannel.ts';

export const ciliumDefaults = {
  vxlan: { device: 'cilium_vxlan', port: 8472 },
  geneve: { device: 'cilium_geneve', port: 6081 },
  /** Cilium's TunnelOverhead: outer IPv4 20 + UDP 8 + VXLAN/Geneve 8 + inner Ethernet 14. */
  tunnelOverhead: 50,
  clusterPool: '10.0.0.0/8',
  maskSize: 24,
} as const;

/** Reserved security identities (pkg/identity/numericidentity.go). */
export const IDENTITY = { host: 1, world: 2, unmanaged: 3, health: 4, init: 5, remoteNode: 6, kubeApiserver: 7, ingress: 8 } as const;

export function identityName(id: number): string {
  const reserved = Object.entries(IDENTITY).find(([, v]) => v === id);
  if (!reserved) return `identity ${id}`;
  const name = reserved[0] === 'remoteNode' ? 'remote-node' : reserved[0] === 'kubeApiserver' ? 'kube-apiserver' : reserved[0];
  return `reserved:${name} (${id})`;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** A container ID for the pod's sandbox: the runtime's is random; podpath derives one from the pod's name. */
export function containerIdOf(podId: string): string {
  return hex(sha256(utf8ToBytes(`sandbox:${podId}`)));
}

/**
 * The host side of a pod's veth: "lxc" + the first 12 hex digits of sha256 of the endpoint id —
 * "<container ID>:eth0" since Cilium 1.15 (plugins/cilium-cni/cmd/cmd.go) — 15 characters, the
 * most IFNAMSIZ allows next to the "tmp" prefix used while the pair is set up.
 */
export function lxcName(containerId: string, ifName = 'eth0'): string {
  return `lxc${hex(sha256(utf8ToBytes(`${containerId}:${ifName}`))).slice(0, 12)}`;
}

/**
 * Cilium's IPAM (cluster-pool) hands out a random free address of the node's CIDR: a random
 * start, then the next free one (pkg/ipam/service/allocator randomScanStrategy), never the
 * network or broadcast address. podpath draws the start from a hash of what is being allocated.
 */
export function allocateAddress(cidr: string, key: string, used: Set<string>): string {
  const c = parseCidr(cidr)!;
  const size = 2 ** (32 - c.bits);
  const usable = size - 2;
  const start = fnv1a32(key) % usable;
  for (let k = 0; k < usable; k++) {
    const a = formatIPv4((c.base + 1 + ((start + k) % usable)) >>> 0);
    if (!used.has(a)) {
      used.add(a);
      return a;
    }
  }
  throw new Error(`Cilium IPAM: ${cidr} is full`);
}

export interface CiliumNode extends NodeAddressing {
  routerIP: string;
}

export function ciliumInterfaces(node: CiliumNode, s: ClusterSettings): NetInterface[] {
  if (s.cni.plugin !== 'cilium') return [];
  const out: NetInterface[] = [
    { id: ids.nodeIf(node.name, 'cilium_host'), name: 'cilium_host', kind: 'veth', address: `${node.routerIP}/32`, mac: macFor(`cilium_host:${node.name}`), mtu: 1500 },
    { id: ids.nodeIf(node.name, 'cilium_net'), name: 'cilium_net', kind: 'veth', mac: macFor(`cilium_net:${node.name}`), mtu: 1500 },
  ];
  // A flow-based ("external") tunnel device: no address, no FDB; the BPF program sets the
  // tunnel key (VNI, remote node) of every packet it sends through it.
  if (s.cni.device) out.push({ id: ids.nodeIf(node.name, s.cni.device), name: s.cni.device, kind: 'vtep', mac: macFor(`${s.cni.device}:${node.name}`), mtu: 1500 });
  return out;
}

/** The routes and neighbours of a Cilium node; the pods need no per-pod route (BPF delivers to them). */
export function ciliumNodeTables(self: CiliumNode, all: { node: CiliumNode; eth0Mac: string }[], s: ClusterSettings, nodeNetwork: string, gateway: string): { routes: RouteEntry[]; neighbours: NeighbourEntry[]; fdb: [] } {
  if (s.cni.plugin !== 'cilium') throw new Error('not a Cilium cluster');
  const r = self.routerIP;
  const routes: RouteEntry[] = [
    { dst: 'default', via: gateway, dev: 'eth0', proto: 'static' },
    { dst: nodeNetwork, dev: 'eth0', proto: 'kernel', scope: 'link', src: self.ip },
    // The node's own pod CIDR, for traffic from the host to its pods (enable-local-node-route).
    { dst: self.podCIDR, via: r, dev: 'cilium_host', proto: 'kernel', src: r },
    { dst: r, dev: 'cilium_host', proto: 'kernel', scope: 'link' },
  ];
  const neighbours: NeighbourEntry[] = [];
  for (const other of all) {
    if (other.node.name === self.name) continue;
    neighbours.push({ ip: other.node.ip, mac: other.eth0Mac, dev: 'eth0' });
    if (s.cni.routing === 'tunnel') routes.push({ dst: other.node.podCIDR, via: r, dev: 'cilium_host', proto: 'kernel', src: r, mtu: s.cni.mtu });
    else routes.push({ dst: other.node.podCIDR, via: other.node.ip, dev: 'eth0', proto: 'kernel' });
  }
  return { routes, neighbours, fdb: [] };
}

/** Labels that never make an identity (pkg/labelsfilter/filter.go, defaultLabelPrefixCfg). */
const IGNORED_LABEL = /^(io\.kubernetes|kubernetes\.io|.*beta\.kubernetes\.io|k8s\.io)|^(pod-template-generation|pod-template-hash|controller-revision-hash)$/;

/** The labels a pod's identity is made of: its own (filtered) and its namespace. */
export function identityLabels(pod: Pick<PodInfo, 'namespace' | 'labels'>): string[] {
  const own = Object.entries(pod.labels)
    .filter(([k]) => !IGNORED_LABEL.test(k))
    .map(([k, v]) => `k8s:${k}=${v}`);
  return [...own, `k8s:io.kubernetes.pod.namespace=${pod.namespace}`].sort();
}

/**
 * Every distinct identity label set gets one number from 256–65535. The allocator leases a random
 * free ID (pkg/idpool LeaseAvailableID); podpath's "random" is a hash of the labels, probed on
 * collision, so the numbers look like a real cluster's and stay put while the labels do.
 */
export function assignIdentities(pods: PodInfo[]) {
  const byLabels = new Map<string, number>();
  const used = new Set<number>();
  const keys = [...new Set(pods.map((p) => identityLabels(p).join(',')))].sort();
  for (const k of keys) {
    let id = 256 + (fnv1a32(`identity:${k}`) % (65536 - 256));
    while (used.has(id)) id = id === 65535 ? 256 : id + 1;
    used.add(id);
    byLabels.set(k, id);
  }
  for (const p of pods) p.identity = byLabels.get(identityLabels(p).join(','));
}

/**
 * Cilium's own iptables rules (pkg/datapath/iptables/iptables.go), as far as podpath walks them:
 * the feeder rules Cilium inserts at the top of POSTROUTING and FORWARD, the masquerade of pod
 * traffic leaving the cluster (iptables masquerade, the default: enable-bpf-masquerade false),
 * and CILIUM_FORWARD's accepts for traffic to and from the cluster devices.
 */
export function addCiliumRules(rs: Ruleset, t: Topology, nodePodCIDR: string): Ruleset {
  const s = t.settings.cni;
  if (s.plugin !== 'cilium') return rs;
  const out: Ruleset = { ...rs, tables: { filter: rs.tables.filter.map((c) => ({ ...c, rules: [...c.rules] })), nat: rs.tables.nat.map((c) => ({ ...c, rules: [...c.rules] })) } };
  const chain = (table: 'nat' | 'filter', name: string) => {
    let c = out.tables[table].find((x) => x.name === name);
    if (!c) out.tables[table].push((c = { name, rules: [] }));
    return c;
  };
  chain('nat', 'POSTROUTING').rules.unshift('-m comment --comment "cilium-feeder: CILIUM_POST_nat" -j CILIUM_POST_nat');
  const post = chain('nat', 'CILIUM_POST_nat');
  if (s.masquerade) { // BPF masquerade is not modelled: traced as the iptables rule (cni.ts warns)
    // The exclusion is ipv4-native-routing-cidr when set, otherwise the node's own pod CIDR.
    const exclude = s.nativeRoutingCIDR || nodePodCIDR;
    post.rules.push(`-s ${nodePodCIDR} ! -d ${exclude} ! -o cilium_+ -m comment --comment "cilium masquerade non-cluster" -j MASQUERADE`);
  }
  chain('filter', 'FORWARD').rules.unshift('-m comment --comment "cilium-feeder: CILIUM_FORWARD" -j CILIUM_FORWARD');
  chain('filter', 'CILIUM_FORWARD').rules.push(
    '-o cilium_host -m comment --comment "cilium: any->cluster on cilium_host forward accept" -j ACCEPT',
    '-i cilium_host -m comment --comment "cilium: cluster->any on cilium_host forward accept (nodeport)" -j ACCEPT',
    '-i lxc+ -m comment --comment "cilium: cluster->any on lxc+ forward accept" -j ACCEPT',
    '-i cilium_net -m comment --comment "cilium: cluster->any on cilium_net forward accept (nodeport)" -j ACCEPT',
  );
  return out;
}

/** A ruleset with nothing but the built-in chains: what a node without kube-proxy starts from. */
export function emptyRuleset(): Ruleset {
  return { tables: { filter: [], nat: [] } };
}
