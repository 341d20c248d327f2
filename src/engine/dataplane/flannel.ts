// flannel's VXLAN backend, as flanneld and the CNI bridge plugin set up each node.
// Sources: flannel-io/flannel pkg/backend/vxlan (vxlan.go, vxlan_network.go, device.go) and
// Documentation/backends.md; containernetworking/plugins plugins/main/bridge.

import type { ClusterSettings, FdbEntry, NeighbourEntry, NetInterface, RouteEntry } from '../types.ts';
import type { Ruleset } from './kubeProxyIptables.ts';
import { ids } from '../ids.ts';
import { macFor } from '../model/names.ts';
import { hostIn, parseCidr } from '../util/ipv4.ts';

export const flannelDefaults = {
  // VNI 1 and UDP 8472 (the Linux kernel's historical VXLAN port, not IANA's 4789) are flannel's
  // defaults (Documentation/backends.md: "VNI ... Defaults to 1", "Port ... Defaults to 8472").
  vni: 1,
  port: 8472,
  // flannel.1's MTU is the underlay MTU minus the 50 bytes of VXLAN encapsulation
  // (pkg/backend/vxlan/vxlan.go: MTU: underlay MTU - encapOverhead).
  mtu: 1450,
  device: 'flannel.1',
  bridge: 'cni0',
} as const;

/** Outer Ethernet (14) + IPv4 (20) + UDP (8) + VXLAN (8) headers. */
export const VXLAN_OVERHEAD = 50;

export interface NodeAddressing {
  name: string;
  ip: string;
  podCIDR: string;
}

export function nodeEth0(node: NodeAddressing, prefixLen: number): NetInterface {
  return { id: ids.nodeIf(node.name, 'eth0'), name: 'eth0', kind: 'eth', address: `${node.ip}/${prefixLen}`, mac: macFor(`eth0:${node.name}`), mtu: 1500 };
}

/** The VTEP's address is the network address of the node's pod subnet, as a /32 (flannel: "10.244.1.0/32"). */
export function vtepAddress(node: NodeAddressing): string {
  const c = parseCidr(node.podCIDR)!;
  return hostIn(c, 0);
}

export function bridgeAddress(node: NodeAddressing): string {
  return hostIn(parseCidr(node.podCIDR)!, 1);
}

export function flannelInterfaces(node: NodeAddressing, s: ClusterSettings): NetInterface[] {
  const prefix = parseCidr(node.podCIDR)!.bits;
  const bridge: NetInterface = { id: ids.nodeIf(node.name, s.cni.bridge), name: s.cni.bridge, kind: 'bridge', address: `${bridgeAddress(node)}/${prefix}`, mac: macFor(`cni0:${node.name}`), mtu: s.cni.mtu };
  if (!s.cni.device) return [bridge]; // host-gw: no tunnel device
  return [bridge, { id: ids.nodeIf(node.name, s.cni.device), name: s.cni.device, kind: 'vtep', address: `${vtepAddress(node)}/32`, mac: macFor(`vtep:${node.name}`), mtu: s.cni.mtu }];
}

/**
 * Per remote node, flanneld writes three entries (pkg/backend/vxlan/vxlan_network.go handleSubnetEvents):
 * a route to the remote pod subnet via the remote VTEP address on flannel.1 with "onlink" (the
 * gateway is not on any local subnet), a permanent neighbour entry for that VTEP address with the
 * remote VTEP MAC, and an FDB entry mapping the VTEP MAC to the remote node's underlay IP.
 */
export function flannelNodeTables(
  self: NodeAddressing,
  all: { node: NodeAddressing; vtepMac: string; eth0Mac: string }[],
  s: ClusterSettings,
  nodeNetwork: string,
  gateway: string,
): { routes: RouteEntry[]; neighbours: NeighbourEntry[]; fdb: FdbEntry[] } {
  const routes: RouteEntry[] = [
    { dst: 'default', via: gateway, dev: 'eth0', proto: 'static' },
    { dst: self.podCIDR, dev: s.cni.bridge, proto: 'kernel', scope: 'link', src: bridgeAddress(self) },
    { dst: nodeNetwork, dev: 'eth0', proto: 'kernel', scope: 'link', src: self.ip },
  ];
  const neighbours: NeighbourEntry[] = [];
  const fdb: FdbEntry[] = [];
  for (const other of all) {
    if (other.node.name === self.name) continue;
    if (s.cni.plugin === 'flannel' && s.cni.backend === 'host-gw') {
      // host-gw: a plain route to the remote pod subnet via the remote node's own IP; the nodes
      // must share an L2 network (pkg/backend/hostgw, Documentation/backends.md).
      routes.push({ dst: other.node.podCIDR, via: other.node.ip, dev: 'eth0', proto: 'flannel' });
      neighbours.push({ ip: other.node.ip, mac: other.eth0Mac, dev: 'eth0' });
      continue;
    }
    routes.push({ dst: other.node.podCIDR, via: vtepAddress(other.node), dev: s.cni.device, onlink: true, proto: 'flannel' });
    neighbours.push({ ip: vtepAddress(other.node), mac: other.vtepMac, dev: s.cni.device });
    fdb.push({ mac: other.vtepMac, dev: s.cni.device, dst: other.node.ip });
    // The underlay neighbour is learned by ARP on first use; shown as already resolved.
    neighbours.push({ ip: other.node.ip, mac: other.eth0Mac, dev: 'eth0' });
  }
  return { routes, neighbours, fdb };
}

export function formatRoute(r: RouteEntry): string {
  if (r.type === 'blackhole') return `blackhole ${r.dst} proto ${r.proto}`;
  const parts = [r.dst];
  if (r.via) parts.push('via', r.via);
  parts.push('dev', r.dev);
  if (r.proto !== 'static' && r.proto !== 'flannel') parts.push('proto', r.proto);
  if (r.scope) parts.push('scope', r.scope);
  if (r.src) parts.push('src', r.src);
  if (r.onlink) parts.push('onlink');
  if (r.mtu) parts.push('mtu', String(r.mtu));
  return parts.join(' ');
}

/**
 * flanneld's own iptables rules (--ip-masq, as kube-flannel.yml runs it; flannel-io/flannel
 * pkg/trafficmngr/iptables/iptables.go masqRules, forwardRules): FLANNEL-POSTRTG masquerades pod
 * traffic leaving the cluster network (not traffic kube-proxy marked, not pod-to-pod), and
 * FLANNEL-FWD accepts forwarding to and from the pod network. Both are appended after kube-proxy's
 * jumps (kube-proxy inserts its own at the top).
 */
export function addFlannelRules(rs: Ruleset, clusterCIDR: string, nodePodCIDR: string): Ruleset {
  const out: Ruleset = { ...rs, tables: { filter: rs.tables.filter.map((c) => ({ ...c, rules: [...c.rules] })), nat: rs.tables.nat.map((c) => ({ ...c, rules: [...c.rules] })) } };
  const chain = (table: 'nat' | 'filter', name: string) => {
    let c = out.tables[table].find((x) => x.name === name);
    if (!c) out.tables[table].push((c = { name, rules: [] }));
    return c;
  };
  const masq = '-m comment --comment "flanneld masq"';
  chain('nat', 'POSTROUTING').rules.push(`${masq} -j FLANNEL-POSTRTG`);
  chain('nat', 'FLANNEL-POSTRTG').rules.push(
    `-m mark --mark 0x4000/0x4000 ${masq} -j RETURN`,
    `-s ${nodePodCIDR} -d ${clusterCIDR} ${masq} -j RETURN`,
    `-s ${clusterCIDR} -d ${nodePodCIDR} ${masq} -j RETURN`,
    `! -s ${clusterCIDR} -d ${nodePodCIDR} ${masq} -j RETURN`,
    `-s ${clusterCIDR} ! -d 224.0.0.0/4 ${masq} -j MASQUERADE --random-fully`,
    `! -s ${clusterCIDR} -d ${clusterCIDR} ${masq} -j MASQUERADE --random-fully`,
  );
  const fwd = '-m comment --comment "flanneld forward"';
  chain('filter', 'FORWARD').rules.push(`${fwd} -j FLANNEL-FWD`);
  chain('filter', 'FLANNEL-FWD').rules.push(`-s ${clusterCIDR} ${fwd} -j ACCEPT`, `-d ${clusterCIDR} ${fwd} -j ACCEPT`);
  return out;
}
