// Calico's pod network, as calico-node (Felix, BIRD) and the Calico CNI plugin set up each node.
// Sources: projectcalico/calico — cni-plugin/pkg/dataplane/linux/dataplane_linux.go (veth "cali"
// + 11 hex of sha1("<namespace>.<pod>"), host side MAC ee:ee:ee:ee:ee:ee, proxy ARP, the pod's
// routes "169.254.1.1 dev eth0 scope link" and "default via 169.254.1.1 dev eth0", a /32 host
// route per pod), felix/dataplane/linux (ipip_mgr.go: tunl0; vxlan_mgr.go: vxlan.calico, VNI 4096,
// UDP 4789; route_table.go: "proto 80"), confd's BIRD templates (remote blocks "proto bird",
// a blackhole route for the node's own block), and the IPPool documentation (blockSize 26,
// ipipMode / vxlanMode Always | CrossSubnet | Never, natOutgoing).

import { sha1 } from '@noble/hashes/legacy.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import type { ClusterSettings, FdbEntry, NeighbourEntry, NetInterface, RouteEntry } from '../types.ts';
import { ids } from '../ids.ts';
import { macFor } from '../model/names.ts';
import { formatCidr, hostIn, parseCidr } from '../util/ipv4.ts';
import type { NodeAddressing } from './flannel.ts';

/** The MAC of every cali veth's host side (Felix sets it so pods never have to re-ARP). */
export const CALI_MAC = 'ee:ee:ee:ee:ee:ee';
/** The pods' gateway: a link-local address no interface holds; the host answers its ARP by proxy. */
export const CALICO_GATEWAY = '169.254.1.1';

export const calicoDefaults = {
  IPIP: { device: 'tunl0', mtu: 1480 },
  VXLAN: { device: 'vxlan.calico', mtu: 1450 },
  None: { device: '', mtu: 1500 },
  vni: 4096,
  port: 4789,
  blockSize: 26,
} as const;

/** The host side of a pod's veth: "cali" + the first 11 hex digits of sha1("<namespace>.<pod>"). */
export function caliVethName(namespace: string, pod: string): string {
  const digest = sha1(utf8ToBytes(`${namespace}.${pod}`));
  return `cali${Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('').slice(0, 11)}`;
}

/**
 * The IPAM block of the i-th node: Calico hands each node affine blocks of the pool; podpath gives
 * node i the pool's i-th block (the real allocator picks a free block, so the numbers differ).
 */
export function calicoBlock(pool: string, blockSize: number, i: number): string {
  const c = parseCidr(pool)!;
  return formatCidr({ base: (c.base + i * 2 ** (32 - blockSize)) >>> 0, bits: blockSize });
}

/** The tunnel address (tunl0 / vxlan.calico): the first address IPAM gives out of the node's block. */
export function calicoTunnelAddress(block: string): string {
  return hostIn(parseCidr(block)!, 0);
}

export function calicoInterfaces(node: NodeAddressing, s: ClusterSettings): NetInterface[] {
  if (s.cni.plugin !== 'calico' || !s.cni.device) return [];
  const tunnel = calicoTunnelAddress(node.podCIDR);
  return s.cni.encapsulation === 'IPIP'
    ? [{ id: ids.nodeIf(node.name, s.cni.device), name: s.cni.device, kind: 'ipip', address: `${tunnel}/32`, mac: '', mtu: s.cni.mtu }]
    : [{ id: ids.nodeIf(node.name, s.cni.device), name: s.cni.device, kind: 'vtep', address: `${tunnel}/32`, mac: macFor(`vxlan.calico:${node.name}`), mtu: s.cni.mtu }];
}

/** Routes, neighbours and FDB entries of a Calico node (the pods' /32 routes are added per pod). */
export function calicoNodeTables(
  self: NodeAddressing,
  all: { node: NodeAddressing; eth0Mac: string }[],
  s: ClusterSettings,
  nodeNetwork: string,
  gateway: string,
): { routes: RouteEntry[]; neighbours: NeighbourEntry[]; fdb: FdbEntry[] } {
  if (s.cni.plugin !== 'calico') throw new Error('not a Calico cluster');
  const routes: RouteEntry[] = [
    { dst: 'default', via: gateway, dev: 'eth0', proto: 'static' },
    { dst: nodeNetwork, dev: 'eth0', proto: 'kernel', scope: 'link', src: self.ip },
    { dst: self.podCIDR, dev: '', proto: 'bird', type: 'blackhole' },
  ];
  const neighbours: NeighbourEntry[] = [];
  const fdb: FdbEntry[] = [];
  const sameSubnet = (ip: string) => parseCidr(nodeNetwork) !== undefined && hostIn(parseCidr(nodeNetwork)!, 0) === hostIn(parseCidr(`${ip}/${parseCidr(nodeNetwork)!.bits}`)!, 0);
  for (const other of all) {
    if (other.node.name === self.name) continue;
    neighbours.push({ ip: other.node.ip, mac: other.eth0Mac, dev: 'eth0' });
    // CrossSubnet: encapsulate only toward nodes outside this node's subnet.
    const encap = s.cni.encapsulation !== 'None' && !(s.cni.crossSubnet && sameSubnet(other.node.ip));
    if (!encap) routes.push({ dst: other.node.podCIDR, via: other.node.ip, dev: 'eth0', proto: 'bird' });
    else if (s.cni.encapsulation === 'IPIP') routes.push({ dst: other.node.podCIDR, via: other.node.ip, dev: s.cni.device, onlink: true, proto: 'bird' });
    else {
      const vtep = calicoTunnelAddress(other.node.podCIDR);
      const mac = macFor(`vxlan.calico:${other.node.name}`);
      routes.push({ dst: other.node.podCIDR, via: vtep, dev: s.cni.device, onlink: true, proto: '80' });
      neighbours.push({ ip: vtep, mac, dev: s.cni.device });
      fdb.push({ mac, dev: s.cni.device, dst: other.node.ip });
    }
  }
  return { routes, neighbours, fdb };
}
