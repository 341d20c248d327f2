// Between nodes: the ways a packet crosses the node network to another node — unencapsulated
// (flannel host-gw, Calico BGP, or the other node itself), in VXLAN (flannel.1, vxlan.calico) or in
// IP-in-IP (Calico's tunl0) — and, on the far side, back into that node's stack.

import type { NodeInfo, Packet, RouteEntry } from '../types.ts';
import type { NfPacket } from '../dataplane/netfilter.ts';
import { formatRoute } from '../dataplane/flannel.ts';
import { ids } from '../ids.ts';
import { ip, ipipDecap, ipipEncap, setEthernet, vxlanDecap, vxlanEncap, vxlanSourcePort } from '../packet/packet.ts';
import { fnv1a32 } from '../util/hash.ts';
import { nodeStack, type Arrival } from './nodeStack.ts';
import { CITE_CALICO, CITE_FLANNEL, CITE_NETFILTER, nfContext, type Walk } from './walk.ts';

type Text = { title: string; detail: string };

/**
 * An encapsulated packet crosses the node network as the sending node's own packet: OUTPUT and
 * POSTROUTING on the sender (a new flow between node addresses), the wire, then PREROUTING and
 * INPUT on the receiver, whose own address it is.
 */
export function carryOuter(w: Walk, node: NodeInfo, remote: NodeInfo, outer: Packet, nf: Omit<NfPacket, 'inIface' | 'outIface'>, text: { out: Text; wire: Text; in: Text }) {
  const outNf: NfPacket = { ...nf, outIface: 'eth0' };
  const o1 = w.hook(node.name, 'OUTPUT', outNf, nfContext(w, node, 'NEW', false), true);
  const o2 = w.hook(node.name, 'POSTROUTING', o1.packet, nfContext(w, node, 'NEW', false), true);
  w.add(ids.nodeIf(node.name, 'eth0'), node.name, { kind: 'netfilter', ...text.out, rules: [...o1.steps, ...o2.steps], cite: CITE_NETFILTER }, outer, outer);
  w.add(ids.nodeNetwork(), undefined, { kind: 'wire', ...text.wire }, outer, outer);
  const inNf: NfPacket = { ...nf, inIface: 'eth0' };
  const i1 = w.hook(remote.name, 'PREROUTING', inNf, nfContext(w, remote, 'NEW', false), true);
  const i2 = w.hook(remote.name, 'INPUT', i1.packet, nfContext(w, remote, 'NEW', false), true);
  w.add(ids.nodeIf(remote.name, 'eth0'), remote.name, { kind: 'netfilter', ...text.in, rules: [...i1.steps, ...i2.steps], cite: CITE_NETFILTER }, outer, outer);
}

/**
 * Direct routing, no encapsulation (flannel host-gw, Calico's BGP-only pools): the route sends the
 * packet out of eth0 to the remote node's own address as the next hop.
 */
export function toPeerNode(w: Walk, node: NodeInfo, p: Packet, peer: NodeInfo, route: RouteEntry): Arrival {
  const eth0 = node.interfaces.find((i) => i.name === route.dev)!;
  const peerEth0 = peer.interfaces.find((i) => i.name === 'eth0')!;
  const framed = setEthernet(p, eth0.mac, peerEth0.mac);
  const calico = w.t.settings.cni.plugin === 'calico';
  if (!route.via) {
    // The destination is the other node itself, on the node network's subnet.
    w.add(eth0.id, node.name, { kind: 'route', title: `${route.dev} out: to ${peer.name} ${peer.ip} on the node network's own subnet`, detail: `The connected route "${formatRoute(route)}" reaches ${peer.name} directly: the frame goes to its MAC ${peerEth0.mac} (from ARP), no router in between.`, cite: 'Linux net/ipv4/route.c' }, p, framed);
    w.add(ids.nodeNetwork(), undefined, { kind: 'wire', title: `node network: ${node.name} → ${peer.name}, ${ip(p).src} → ${ip(p).dst}`, detail: `On the wire: ${ip(p).src} → ${ip(p).dst}.` }, framed, framed);
    return nodeStack(w, peer, framed, 'eth0');
  }
  w.add(eth0.id, node.name, { kind: 'route', title: `${route.dev} out: next hop ${peer.name} ${peer.ip} (no encapsulation)`, detail: `The route "${formatRoute(route)}" ${calico ? 'was learned over BGP: BIRD on ' + peer.name + ' announces its IPAM block ' + peer.podCIDR : 'was written by flanneld (host-gw backend) for ' + peer.name + "'s pod subnet"}. The packet keeps its pod addresses; only the Ethernet header changes, to ${peer.name}'s MAC ${peerEth0.mac}. This needs the nodes on one L2 network.`, cite: calico ? CITE_CALICO : 'flannel pkg/backend/hostgw; Documentation/backends.md' }, p, framed);
  w.add(ids.nodeNetwork(), undefined, { kind: 'wire', title: `node network: ${node.name} → ${peer.name}, pod addresses on the wire`, detail: `Without a tunnel the node network carries ${ip(p).src} → ${ip(p).dst} as it is: the underlay must accept pod addresses (same L2 segment, or routers that learned the routes).` }, framed, framed);
  return nodeStack(w, peer, framed, 'eth0');
}

/**
 * Calico IP-in-IP: tunl0 puts the whole IPv4 packet inside a new IPv4 header (protocol 4) from
 * this node to the next hop — the remote node — and sends it on eth0: 20 bytes more. The outer
 * header inherits the inner TTL and DF (tunl0 has ttl 0 = inherit; ip_tunnel_xmit).
 */
export function overIpip(w: Walk, node: NodeInfo, p: Packet, via: string): Arrival {
  const remote = w.t.nodes.find((n) => n.ip === via);
  const tunl = node.interfaces.find((i) => i.kind === 'ipip')!;
  if (!remote) return { kind: 'unreachable', at: tunl.id, message: `tunl0 on ${node.name}: the next hop ${via} is no node.` };
  const eth0 = node.interfaces.find((i) => i.name === 'eth0')!;
  const remoteEth0 = remote.interfaces.find((i) => i.name === 'eth0')!;
  const outer = ipipEncap(p, { srcMac: eth0.mac, dstMac: remoteEth0.mac, src: node.ip, dst: remote.ip });
  w.add(tunl.id, node.name, { kind: 'ipip-encap', title: `${tunl.name}: IP-in-IP encapsulation ${node.ip} → ${remote.ip} (IP protocol 4), +20 bytes`, detail: `The route "${ip(p).dst} … via ${via} dev ${tunl.name} onlink" (BIRD learned ${remote.name}'s block ${remote.podCIDR} over BGP) sends the packet into the IPIP tunnel. The tunnel prepends an outer IPv4 header from ${node.ip} to ${remote.ip} with protocol 4: no Ethernet, UDP or tunnel header inside — only 20 bytes, which is why the pods' MTU is ${w.t.settings.cni.mtu}. The outer TTL and DF are copied from the inner packet.`, cite: `${CITE_CALICO}; Linux net/ipv4/ipip.c, ip_tunnel.c (ip_tunnel_xmit)` }, p, outer);
  carryOuter(w, node, remote, outer, { src: node.ip, dst: remote.ip, proto: 'ipip', sport: 0, dport: 0, mark: 0 }, {
    out: { title: `eth0 out: the IPIP packet passes OUTPUT and POSTROUTING (no rule acts)`, detail: `The tunnel sends the outer packet as the node's own: it walks OUTPUT and POSTROUTING; no kube-proxy rule matches IP protocol 4 between nodes.` },
    wire: { title: `node network ${w.t.settings.nodeNetwork}: ${node.name} → ${remote.name}, IP protocol 4`, detail: `On the wire: ${node.ip} → ${remote.ip}, protocol 4 (IPIP). The pod addresses are in the inner header. Some clouds filter protocol 4 — one reason Calico offers VXLAN.` },
    in: { title: `eth0 in: IPIP packet to ${remote.ip} — PREROUTING, INPUT, handed to tunl0`, detail: `${remote.ip} is ${remote.name}'s own address; the kernel's IPIP handler (protocol 4) gives the packet to tunl0.` },
  });
  const inner = ipipDecap(outer);
  const rtunl = remote.interfaces.find((i) => i.kind === 'ipip')!;
  w.add(rtunl.id, remote.name, { kind: 'ipip-decap', title: `${rtunl.name}: IP-in-IP decapsulation — the inner packet appears on ${rtunl.name}`, detail: `tunl0 strips the outer IPv4 header; the inner packet (${ip(inner).src} → ${ip(inner).dst}) is received on ${rtunl.name} and routed like any other.`, cite: 'Linux net/ipv4/ipip.c (ipip_rcv), ip_tunnel.c' }, outer, inner);
  return nodeStack(w, remote, inner, rtunl.name);
}

/** flannel.1 / vxlan.calico: the neighbour and FDB entries name the remote VTEP; the vxlan driver wraps the frame. */
export function overVxlan(w: Walk, node: NodeInfo, p: Packet, via: string): Arrival {
  const s = w.t.settings.cni;
  const vtep = node.interfaces.find((i) => i.kind === 'vtep')!;
  const eth0 = node.interfaces.find((i) => i.name === 'eth0')!;
  const neigh = node.neighbours.find((n) => n.ip === via && n.dev === s.device);
  const fdb = neigh && node.fdb.find((f) => f.mac === neigh.mac);
  const remote = fdb && w.t.nodes.find((n) => n.ip === fdb.dst);
  if (!neigh || !fdb || !remote) return { kind: 'unreachable', at: vtep.id, message: `flannel.1 on ${node.name} has no neighbour/FDB entry for ${via}.` };
  const inner = setEthernet(p, vtep.mac, neigh.mac);
  const remoteEth0 = remote.interfaces.find((i) => i.name === 'eth0')!;
  const sport = vxlanSourcePort(inner, fnv1a32);
  const outer = vxlanEncap(inner, { srcMac: eth0.mac, dstMac: remoteEth0.mac, src: node.ip, dst: remote.ip, sport, dport: s.port, vni: s.vni });
  w.add(
    vtep.id,
    node.name,
    {
      kind: 'vxlan-encap',
      title: `${s.device}: VXLAN encapsulation (VNI ${s.vni}, UDP ${sport} → ${s.port}) ${node.ip} → ${remote.ip}, +50 bytes`,
      detail: `The neighbour entry "${via} lladdr ${neigh.mac} dev ${s.device} PERMANENT" gives the remote VTEP's MAC; the FDB entry "${fdb.mac} dev ${s.device} dst ${fdb.dst}" says which node owns it. The vxlan driver wraps the whole inner frame in outer Ethernet / IPv4 (${node.ip} → ${remote.ip}) / UDP (dst ${s.port}, src from a hash of the inner flow) / VXLAN (flags 0x08, VNI ${s.vni}): 14 + 20 + 8 + 8 = 50 bytes more, which is why ${s.device}'s MTU is ${s.mtu}.`,
      cite: s.plugin === 'calico' ? `${CITE_CALICO}; Linux drivers/net/vxlan/vxlan_core.c` : CITE_FLANNEL,
    },
    p,
    outer,
  );
  carryOuter(w, node, remote, outer, { src: node.ip, dst: remote.ip, proto: 'udp', sport, dport: s.port, mark: 0 }, {
    out: { title: `eth0 out: outer UDP passes OUTPUT and POSTROUTING (no rule acts), route ${remote.ip} dev eth0`, detail: `The encapsulated datagram is a locally generated packet of ${node.name}, so it walks OUTPUT and POSTROUTING; no kube-proxy rule matches node-to-node UDP ${s.port}. Route "${w.t.settings.nodeNetwork} dev eth0" sends it straight to ${remote.name}.` },
    wire: { title: `node network ${w.t.settings.nodeNetwork}: ${node.name} → ${remote.name}`, detail: `On the wire only node addresses are visible: ${node.ip} → ${remote.ip}, UDP port ${s.port}. The pod addresses travel inside the VXLAN payload.` },
    in: { title: `eth0 in: outer UDP to ${remote.ip}:${s.port} — PREROUTING, INPUT, local delivery to the VXLAN socket`, detail: `${remote.ip} is ${remote.name}'s own address, so the datagram is delivered locally (INPUT) to the UDP socket the vxlan driver listens on (port ${s.port}).` },
  });
  const decap = vxlanDecap(outer);
  const rvtep = remote.interfaces.find((i) => i.kind === 'vtep')!;
  w.add(rvtep.id, remote.name, { kind: 'vxlan-decap', title: `${s.device}: VXLAN decapsulation (VNI ${s.vni}) — inner frame appears on ${rvtep.name}`, detail: `The vxlan driver checks the VNI, strips the 50 outer bytes, and the inner frame (for ${rvtep.name}'s MAC ${rvtep.mac}) arrives on ${remote.name}'s ${rvtep.name} as if received there.`, cite: s.plugin === 'calico' ? CITE_CALICO : CITE_FLANNEL }, outer, decap);
  return nodeStack(w, remote, decap, s.device);
}
