// Cilium's eBPF datapath: per-endpoint BPF programs on each pod's lxc veth instead of a bridge and
// iptables, identity-carrying tunnels, and Services translated by BPF — at connect() (socket LB),
// per packet in bpf_lxc when socket LB is off, or at the node's device for NodePorts.
// Sources (cilium/cilium v1.15–v1.16): bpf/bpf_lxc.c (cil_from_container, handle_ipv4_from_lxc,
// tail_handle_arp, pass_to_stack), bpf/lib/l3.h (ipv4_local_delivery, ipv4_l3), bpf/lib/encap.h and
// overloadable_skb.h (tunnel key: VNI = source identity, TTL 64, zero UDP checksum), bpf/bpf_overlay.c
// (cil_from_overlay), bpf/bpf_host.c (cil_from_netdev, cil_from_host), bpf/lib/nodeport.h
// (nodeport_lb4, tail_nodeport_nat_egress_ipv4, rev_nodeport_lb4), bpf/bpf_sock.c
// (cil_sock4_connect: a random backend for TCP), pkg/monitor/datapath_policy.go (verdict lines).

import type { EndpointInfo, NodeInfo, Packet, PodInfo, ServiceInfo, ServicePortInfo, Topology } from '../types.ts';
import { ids } from '../ids.ts';
import { IDENTITY, identityName } from '../dataplane/cilium.ts';
import { decide, describePolicy, podByIP } from '../dataplane/policy.ts';
import { inSubnet } from '../dataplane/routing.ts';
import { decrementTtl, eth, ip, setAddresses, setEthernet, tcp, vxlanDecap, vxlanEncap, vxlanSourcePort } from '../packet/packet.ts';
import { fnv1a32 } from '../util/hash.ts';
import { deliverToPod, nodeStack, toOutside, type Arrival } from './nodeStack.ts';
import { carryOuter } from './underlay.ts';
import { key, tupleOf, type Walk } from './walk.ts';

export const CITE_CILIUM = 'cilium/cilium bpf/bpf_lxc.c, bpf/lib/l3.h, bpf/lib/encap.h, bpf/bpf_overlay.c, bpf/bpf_host.c';
const CITE_SOCK = 'cilium/cilium bpf/bpf_sock.c (cil_sock4_connect, __sock4_xlate_fwd, sock_select_slot)';
const CITE_NODEPORT = 'cilium/cilium bpf/lib/nodeport.h (nodeport_lb4, tail_nodeport_nat_egress_ipv4, rev_nodeport_lb4)';

export const routerIPOf = (n: NodeInfo) => n.interfaces.find((i) => i.name === 'cilium_host')?.address?.split('/')[0] ?? '';
const nodeOf = (w: Walk, name: string) => w.t.nodes.find((n) => n.name === name)!;
const cni = (w: Walk) => {
  const c = w.t.settings.cni;
  if (c.plugin !== 'cilium') throw new Error('not a Cilium cluster');
  return c;
};

/** The endpoint ID `cilium-dbg endpoint list` shows (1–4095, allocated per node; here from a hash). */
export function endpointId(pod: PodInfo): number {
  return 1 + (fnv1a32(`endpoint:${pod.id}`) % 4095);
}

/** The ipcache's identity for an address, as seen from `node`: a pod's, the host's, another node's, or the world. */
export function identityOf(t: Topology, node: NodeInfo, addr: string): number {
  const pod = podByIP(t, addr);
  if (pod) return pod.identity ?? IDENTITY.world;
  const owner = t.nodes.find((n) => n.ip === addr || routerIPOf(n) === addr);
  if (owner) return owner.name === node.name ? IDENTITY.host : IDENTITY.remoteNode;
  return IDENTITY.world;
}

/** The node whose pod CIDR holds `addr` (where the ipcache's tunnel endpoint points). */
function podCidrOwner(t: Topology, addr: string): NodeInfo | undefined {
  return t.nodes.find((n) => inSubnet(n.podCIDR, addr));
}

export interface Frontend {
  svc: ServiceInfo;
  port: ServicePortInfo;
  kind: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalIP';
  backends: EndpointInfo[];
}

/** A Service frontend in Cilium's BPF Service map for `addr:port` on `node`, with the backends it may pick. */
export function findFrontend(t: Topology, node: NodeInfo, addr: string, port: number, kinds: Frontend['kind'][]): Frontend | undefined {
  for (const svc of t.services) {
    for (const sp of svc.ports) {
      if (sp.protocol !== 'TCP') continue;
      let kind: Frontend['kind'] | undefined;
      if (svc.clusterIP === addr && sp.port === port) kind = 'ClusterIP';
      else if (sp.nodePort === port && (addr === node.ip || routerIPOf(node) === addr)) kind = 'NodePort';
      else if (svc.loadBalancerIPs.includes(addr) && sp.port === port) kind = 'LoadBalancer';
      else if (svc.externalIPs.includes(addr) && sp.port === port) kind = 'ExternalIP';
      if (!kind || !kinds.includes(kind)) continue;
      const local = kind === 'ClusterIP' ? svc.internalTrafficPolicy === 'Local' : svc.externalTrafficPolicy === 'Local';
      const backends = svc.endpoints.filter((e) => e.portName === sp.name && e.protocol === sp.protocol && e.ready && (!local || e.nodeName === node.name));
      return { svc, port: sp, kind, backends };
    }
  }
  return undefined;
}

/**
 * kube-proxy replacement with socket LB: cil_sock4_connect runs when the pod calls connect() and
 * rewrites the socket's destination to a backend — the very first SYN carries the backend's
 * address, and no packet of the connection is ever DNATed. Undefined when the address is no
 * Service frontend (or socket LB is off).
 */
export function socketConnect(w: Walk, clientNode: string, dst: { ip: string; port: number }): { backend?: { ip: string; port: number }; title: string; detail: string } | undefined {
  const c = cni(w);
  if (!c.socketLB) return undefined;
  const fe = findFrontend(w.t, nodeOf(w, clientNode), dst.ip, dst.port, ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalIP']);
  if (!fe) return undefined;
  if (fe.backends.length === 0) {
    return { title: `cil_sock4_connect: ${dst.ip}:${dst.port} has no backends — connect() fails`, detail: `connect() to ${dst.ip}:${dst.port} fails at once: Service ${fe.svc.namespace}/${fe.svc.name} has no ready backend in Cilium's Service map, so the BPF program on the connect4 hook refuses the connection — no packet is sent.` };
  }
  // TCP: a random slot (sock_select_slot → get_prandom_u32), even with bpf-lb-algorithm maglev.
  const b = fe.backends[w.rng.int(0, fe.backends.length - 1)]!;
  return {
    backend: { ip: b.ip, port: b.port },
    title: `cil_sock4_connect: connect(${dst.ip}:${dst.port}) → backend ${b.ip}:${b.port} (${fe.kind} of ${fe.svc.namespace}/${fe.svc.name})`,
    detail: `kube-proxy-replacement is on, so Cilium's BPF program on the cgroup's connect4 hook runs inside the client's connect() call (in pods and, by default, in the host's own processes too). It looks ${dst.ip}:${dst.port} up in the BPF Service map (${fe.backends.length} backend${fe.backends.length === 1 ? '' : 's'}: ${fe.backends.map((e) => `${e.ip}:${e.port}`).join(', ')}), picks one at random (the draw comes from this trace's seed) and rewrites the socket's destination to ${b.ip}:${b.port}. Every packet of the connection carries the backend's address from the first SYN on: no per-packet DNAT, no iptables walk, no conntrack NAT entry. getpeername() still answers ${dst.ip}:${dst.port} (cil_sock4_getpeername), so the application never notices.`,
  };
}
export { CITE_SOCK };

/** The policy verdict as `cilium-dbg monitor` prints it; a denied packet ends the flow. */
function policyVerdict(w: Walk, node: NodeInfo, dir: 'Egress' | 'Ingress', pod: PodInfo, p: Packet, remoteId: number): Arrival | undefined {
  if (w.direction !== 'request' || w.t.policies.length === 0) return undefined;
  const peerIP = dir === 'Egress' ? ip(p).dst : ip(p).src;
  // A packet that entered as "world" (a NodePort client behind SNAT) only matches CIDR rules
  // that cover every address: the identity, not the rewritten source, is what policy sees.
  const asSeen = dir === 'Ingress' && remoteId === IDENTITY.world && identityOf(w.t, node, peerIP) !== IDENTITY.world ? '0.0.0.0' : peerIP;
  const d = decide(w.t, dir, pod, asSeen, tcp(p).dstPort);
  const rule = d.by && (dir === 'Ingress' ? d.by.policy.ingress : d.by.policy.egress)[d.by.rule - 1];
  const match = !d.allowed ? 'none' : !rule ? 'all' : rule.peers === 'all' && rule.ports === 'all' ? 'all' : rule.peers === 'all' ? 'L4-Only' : rule.ports === 'all' ? 'L3-Only' : 'L3-L4';
  const log = `Policy verdict log: flow 0x0 local EP ID ${endpointId(pod)}, remote ID ${remoteId}, proto 6, ${dir.toLowerCase()}, action ${d.allowed ? 'allow' : 'deny'}, auth: disabled, match ${match}, ${ip(p).src}:${tcp(p).srcPort} -> ${ip(p).dst}:${tcp(p).dstPort} tcp SYN`;
  const what = `${dir === 'Egress' ? 'egress of' : 'ingress to'} ${pod.namespace}/${pod.name} (identity ${pod.identity})`;
  const title = d.selecting.length === 0 ? `Cilium policy: ${what} — no policy selects it, allowed` : d.allowed ? `Cilium policy: ${what} allowed by ${d.by!.policy.namespace}/${d.by!.policy.name}` : `Cilium policy: ${what} denied (Policy denied)`;
  const detail = `${dir === 'Egress' ? "The source endpoint's BPF program checks its egress policy map" : "The destination endpoint's policy program (tail call from the delivering program) checks its ingress policy map"} for remote identity ${identityName(remoteId)} and TCP port ${tcp(p).dstPort}. ${d.selecting.length === 0 ? `No NetworkPolicy selects ${pod.name} for ${dir.toLowerCase()}, so nothing is enforced.` : `Selected by ${d.selecting.map(describePolicy).join('; ')}. ${d.allowed ? `Rule ${d.by!.rule} of ${d.by!.policy.name} allows it.` : 'No rule allows this identity and port: the BPF program drops the packet (drop reason 133, "Policy denied"); the client sees no answer.'}`} Cilium decides by identity, not by address: every pod with the same labels shares identity ${pod.identity}. \`cilium-dbg monitor\`: ${log}`;
  w.add(pod.hostVeth.id, node.name, { kind: 'policy', title, detail, cite: 'cilium/cilium bpf/bpf_lxc.c (policy_can_egress4, tail_ipv4_policy); pkg/monitor/datapath_policy.go' }, p, p);
  return d.allowed ? undefined : { kind: 'dropped', at: pod.hostVeth.id, message: `Cilium dropped the packet: ${dir.toLowerCase()} policy of ${pod.namespace}/${pod.name} denies it (Policy denied).` };
}

/**
 * A frame leaves a pod on a Cilium node: the lxc veth's tc ingress runs cil_from_container. It
 * (optionally) load-balances per packet, applies egress policy, and then — from the ipcache —
 * delivers to a local endpoint, tunnels to the node that owns the destination, or hands the
 * packet to the kernel's stack (native routing, the node, the world).
 */
export function fromContainer(w: Walk, pod: PodInfo, p0: Packet): Arrival {
  const c = cni(w);
  const node = nodeOf(w, pod.node);
  const lxc = pod.hostVeth;
  w.add(lxc.id, node.name, { kind: 'ebpf', title: `${lxc.name}: tc ingress → cil_from_container (BPF), no bridge`, detail: `The frame crosses the veth pair to ${lxc.name}. The pod's routes are "${routerIPOf(node)} dev eth0 scope link" and "default via ${routerIPOf(node)} dev eth0${c.routing === 'tunnel' ? ` mtu ${c.mtu}` : ''}" (the router IP on cilium_host); the pod's ARP for it was answered by the BPF ARP responder on ${lxc.name} with ${lxc.name}'s own MAC ${lxc.mac}. Instead of a bridge and iptables, the BPF program attached to ${lxc.name}'s tc ingress decides what happens to the packet.`, cite: 'cilium/cilium bpf/bpf_lxc.c (cil_from_container, tail_handle_arp); pkg/datapath/connector/ipam.go' }, p0, p0);
  let p = p0;
  if (w.direction === 'request' && !c.socketLB) {
    // Without socket LB, bpf_lxc translates ClusterIPs per packet (ENABLE_PER_PACKET_LB), before
    // any iptables rule of kube-proxy could see the packet.
    const fe = findFrontend(w.t, node, ip(p).dst, tcp(p).dstPort, ['ClusterIP']);
    if (fe) {
      if (fe.backends.length === 0) return { kind: 'dropped', at: lxc.id, message: `Service ${fe.svc.namespace}/${fe.svc.name} has no backends: Cilium drops the packet (no service backend).` };
      const b = fe.backends[w.rng.int(0, fe.backends.length - 1)]!;
      const dnat = setAddresses(p, { dst: b.ip, dport: b.port });
      w.bpfNat.set(`${node.name}|${key({ src: b.ip, sport: b.port, dst: ip(p).src, dport: tcp(p).srcPort })}`, { front: { ip: ip(p).dst, port: tcp(p).dstPort } });
      w.add(lxc.id, node.name, { kind: 'ebpf', title: `bpf_lxc per-packet LB: ${ip(p).dst}:${tcp(p).dstPort} → ${b.ip}:${b.port} (DNAT in BPF)`, detail: `Socket LB is off (kube-proxy-replacement is not "true"), so cil_from_container looks the ClusterIP up in the BPF Service map and rewrites the destination itself (lb4_local, a random backend). kube-proxy's iptables rules exist on the node but never see this packet. Cilium's BPF conntrack remembers the translation and reverses it on the reply.`, cite: 'cilium/cilium bpf/bpf_lxc.c (__per_packet_lb_svc_xlate_4), bpf/lib/lb.h (lb4_local)' }, p, dnat);
      p = dnat;
    }
  }
  if (w.direction === 'request') {
    const denied = policyVerdict(w, node, 'Egress', pod, p, identityOf(w.t, node, ip(p).dst));
    if (denied) return denied;
  }
  const np = w.bpfNat.get(`${node.name}|${key(tupleOf(p))}`);
  if (w.direction === 'reply' && np?.client) return nodePortReply(w, node, p, np as Required<typeof np>);
  const dst = ip(p).dst;
  const local = node.pods.find((x) => x.ip === dst);
  if (local) return localDelivery(w, node, p, local, pod.identity ?? IDENTITY.world);
  const owner = podCidrOwner(w.t, dst);
  if (owner && owner.name !== node.name && c.routing === 'tunnel') return tunnelTo(w, node, p, owner, pod.identity ?? IDENTITY.world, `${dst} is in ${owner.name}'s pod CIDR ${owner.podCIDR}`);
  // Legacy host routing (the default unless BPF masquerade is on): back to the kernel.
  const up = decrementTtl(p);
  w.add(lxc.id, node.name, { kind: 'ebpf', title: `cil_from_container: ${dst} is ${owner && owner.name !== node.name ? `in ${owner.name}'s pod CIDR (native routing)` : identityName(identityOf(w.t, node, dst))} — to the kernel's stack (TTL−1)`, detail: `The ipcache says ${dst} is ${identityName(identityOf(w.t, node, dst))}${owner && owner.name !== node.name ? `, in ${owner.name}'s pod CIDR — with native routing the node network routes it` : ''}. bpf_lxc's pass_to_stack decrements the TTL (ipv4_l3) and returns the packet to the kernel (CTX_ACT_OK): from here the node's routing table and iptables — Cilium's CILIUM_* chains — handle it like any forwarded packet, so it is decremented once more there.`, cite: 'cilium/cilium bpf/bpf_lxc.c (pass_to_stack); pkg/datapath/iptables/iptables.go' }, p, up);
  return nodeStack(w, node, up, lxc.name);
}

/**
 * ipv4_local_delivery: the endpoint lives on this node. The destination's policy program runs,
 * the TTL drops by one, the MACs become "lxc → pod", and the packet is redirected straight into
 * the pod — no bridge, no routing table, no iptables.
 */
function localDelivery(w: Walk, node: NodeInfo, p0: Packet, pod: PodInfo, srcIdentity: number): Arrival {
  const denied = policyVerdict(w, node, 'Ingress', pod, p0, srcIdentity);
  if (denied) return denied;
  let p = p0;
  const rev = w.direction === 'reply' ? w.bpfNat.get(`${node.name}|${key(tupleOf(p))}`) : undefined;
  if (rev && !rev.client) {
    const back = setAddresses(p, { src: rev.front.ip, sport: rev.front.port });
    w.add(pod.hostVeth.id, node.name, { kind: 'ebpf', title: `BPF rev-NAT: source ${ip(p).src}:${tcp(p).srcPort} → ${rev.front.ip}:${rev.front.port}`, detail: `The reply belongs to a connection bpf_lxc load-balanced per packet. Before delivery, the client endpoint's program finds it in Cilium's conntrack and restores the Service address as the source (lb4_rev_nat), so the client's socket accepts it.`, cite: 'cilium/cilium bpf/lib/lb.h (lb4_rev_nat)' }, p, back);
    p = back;
  }
  const framed = decrementTtl(setEthernet(p, pod.hostVeth.mac, pod.mac));
  w.add(pod.hostVeth.id, node.name, { kind: 'ebpf', title: `ipv4_local_delivery → ${pod.hostVeth.name} → ${pod.name}: TTL−1, MAC ${pod.hostVeth.mac} → ${pod.mac}, redirect`, detail: `${ip(p).dst} is a local endpoint (ID ${endpointId(pod)}, identity ${pod.identity}). The BPF program rewrites the Ethernet header as a router would (source: ${pod.hostVeth.name}'s MAC, destination: the pod's), decrements the TTL, and redirects the packet to ${pod.hostVeth.name}, which puts it into ${pod.name}'s network namespace. The node's routing table and iptables never see it.`, cite: 'cilium/cilium bpf/lib/l3.h (ipv4_local_delivery, ipv4_l3), bpf/lib/lxc.h (redirect_ep)' }, p, framed);
  return deliverToPod(w, node, pod, framed);
}

/**
 * Tunnel mode: the ipcache names the node that owns the destination; the BPF program sets the
 * tunnel key — VNI = the sender's security identity, remote = that node — and redirects the packet
 * to the flow-based cilium_vxlan / cilium_geneve, whose driver adds the outer headers.
 */
function tunnelTo(w: Walk, node: NodeInfo, p: Packet, remote: NodeInfo, identity: number, why: string): Arrival {
  const c = cni(w);
  const dev = node.interfaces.find((i) => i.name === c.device)!;
  const eth0 = node.interfaces.find((i) => i.name === 'eth0')!;
  const remoteEth0 = remote.interfaces.find((i) => i.name === 'eth0')!;
  const geneve = c.tunnelProtocol === 'geneve';
  const sport = vxlanSourcePort(p, fnv1a32);
  const outer = vxlanEncap(p, { srcMac: eth0.mac, dstMac: remoteEth0.mac, src: node.ip, dst: remote.ip, sport, dport: c.port, vni: identity, geneve });
  const proto = geneve ? 'Geneve' : 'VXLAN';
  w.add(dev.id, node.name, { kind: 'vxlan-encap', title: `${dev.name}: ${proto} VNI ${identity} (the sender's identity) ${node.ip} → ${remote.ip}, UDP ${sport} → ${c.port}, +50 bytes`, detail: `${why}: the ipcache's tunnel endpoint for it is ${remote.name} (${remote.ip}). The BPF program sets the tunnel key — VNI ${identity} = ${identityName(identity)}, so the receiver knows who sent it without looking at addresses; remote ${remote.ip}; TTL 64 — and redirects the packet to ${dev.name}, a flow-based ("external") ${proto} device with no FDB or neighbour entries. The driver wraps the inner frame unchanged (the pod's MAC → ${eth(p).dst}, TTL ${ip(p).ttl}) in Ethernet / IPv4 / UDP (port ${c.port}, source from a hash of the inner flow, checksum 0) / ${proto}: 50 bytes, which is why the pods' route MTU is ${c.mtu}.`, cite: 'cilium/cilium bpf/lib/encap.h (__encap_with_nodeid4), bpf/lib/overloadable_skb.h (ctx_set_encap_info4), pkg/datapath/loader/netlink.go' }, p, outer);
  carryOuter(w, node, remote, outer, { src: node.ip, dst: remote.ip, proto: 'udp', sport, dport: c.port, mark: 0 }, {
    out: { title: `eth0 out: outer UDP passes OUTPUT and POSTROUTING, to ${remote.ip}`, detail: `The ${proto} datagram is sent by the node itself, so it walks OUTPUT and POSTROUTING; no rule acts on node-to-node UDP ${c.port}. The inner packet never passed the host's iptables.` },
    wire: { title: `node network ${w.t.settings.nodeNetwork}: ${node.name} → ${remote.name}, ${proto} VNI ${identity}`, detail: `On the wire: ${node.ip} → ${remote.ip}, UDP ${c.port}. The pod addresses and the sender's identity (VNI ${identity}) travel inside.` },
    in: { title: `eth0 in: outer UDP to ${remote.ip}:${c.port} — PREROUTING, INPUT, to the ${proto} socket`, detail: `${remote.ip} is ${remote.name}'s own address: the datagram goes to the ${proto} driver's UDP socket (port ${c.port}), which hands the inner frame to ${c.device}.` },
  });
  const inner = vxlanDecap(outer);
  const rdev = remote.interfaces.find((i) => i.name === c.device)!;
  w.add(rdev.id, remote.name, { kind: 'vxlan-decap', title: `${rdev.name}: decapsulated; cil_from_overlay reads identity ${identity} from the VNI`, detail: `The ${proto} driver strips the 50 outer bytes and puts the tunnel key (VNI ${identity}, from ${node.ip}) beside the inner packet; the BPF program on ${rdev.name}'s tc ingress takes the sender's identity from it — ${identityName(identity)} — and looks the destination ${ip(inner).dst} up.`, cite: 'cilium/cilium bpf/bpf_overlay.c (cil_from_overlay, handle_ipv4)' }, outer, inner);
  const np = w.bpfNat.get(`${remote.name}|${key(tupleOf(inner))}`);
  if (np?.client) return nodePortReply(w, remote, inner, np as Required<typeof np>);
  const pod = remote.pods.find((x) => x.ip === ip(inner).dst);
  if (!pod && (ip(inner).dst === routerIPOf(remote) || ip(inner).dst === remote.ip)) {
    // For the host itself: handed to the kernel's stack through cilium_host.
    const host = remote.interfaces.find((i) => i.name === 'cilium_host')!;
    w.add(host.id, remote.name, { kind: 'ebpf', title: `cil_from_overlay: ${ip(inner).dst} is ${remote.name} itself — to the host stack via cilium_host`, detail: `The ipcache marks ${ip(inner).dst} as the host (identity 1): the program passes the packet to the kernel through cilium_host, where routing delivers it locally.`, cite: 'cilium/cilium bpf/bpf_overlay.c (handle_ipv4), bpf/lib/host_firewall.h' }, inner, inner);
    return nodeStack(w, remote, inner, 'cilium_host');
  }
  if (!pod) return { kind: 'unreachable', at: rdev.id, message: `${ip(inner).dst} is no endpoint of ${remote.name}: cil_from_overlay drops it.` };
  return localDelivery(w, remote, inner, pod, identity);
}

/**
 * The kernel routed a packet to cilium_host ("<pod CIDR> via <router IP> dev cilium_host"): from
 * the node itself, or forwarded from eth0 (native routing, replies through conntrack). The BPF
 * program on cilium_host (cil_from_host) delivers it to a local endpoint or tunnels it on.
 */
export function fromHost(w: Walk, node: NodeInfo, p: Packet): Arrival {
  const c = cni(w);
  const host = node.interfaces.find((i) => i.name === 'cilium_host')!;
  const id = identityOf(w.t, node, ip(p).src);
  w.add(host.id, node.name, { kind: 'ebpf', title: `cilium_host: cil_from_host takes ${ip(p).dst} (source identity ${id})`, detail: `The route "${node.podCIDR} via ${routerIPOf(node)} dev cilium_host" sends pod-bound packets of the host stack to cilium_host, where Cilium's BPF program picks them up. The ipcache gives the source ${ip(p).src} the identity ${identityName(id)}.`, cite: 'cilium/cilium bpf/bpf_host.c (cil_from_host); pkg/datapath/linux/node.go' }, p, p);
  const pod = node.pods.find((x) => x.ip === ip(p).dst);
  if (pod) return localDelivery(w, node, p, pod, id);
  const owner = podCidrOwner(w.t, ip(p).dst);
  // A host's own identity is replaced by remote-node's in the tunnel (LOCAL_NODE_ID).
  if (owner && owner.name !== node.name && c.routing === 'tunnel') return tunnelTo(w, node, p, owner, id === IDENTITY.host ? IDENTITY.remoteNode : id, `${ip(p).dst} is in ${owner.name}'s pod CIDR ${owner.podCIDR}`);
  return { kind: 'unreachable', at: host.id, message: `${ip(p).dst} is no endpoint of ${node.name}: cil_from_host drops it.` };
}

/**
 * kube-proxy replacement at the node's device: cil_from_netdev on eth0 handles NodePort (and
 * LoadBalancer / external IP) frontends before netfilter. Returns undefined for packets that are
 * not for a frontend and not a reply it must translate: they continue into the kernel's stack.
 */
export function fromNetdev(w: Walk, node: NodeInfo, p: Packet): Arrival | undefined {
  const c = cni(w);
  if (!c.kubeProxyReplacement) return undefined;
  const eth0 = node.interfaces.find((i) => i.name === 'eth0')!;
  const np = w.bpfNat.get(`${node.name}|${key(tupleOf(p))}`);
  if (np?.client) return nodePortReply(w, node, p, np as Required<typeof np>);
  if (w.direction !== 'request') return undefined;
  const fe = findFrontend(w.t, node, ip(p).dst, tcp(p).dstPort, ['NodePort', 'LoadBalancer', 'ExternalIP']);
  if (!fe) return undefined;
  if (fe.backends.length === 0) {
    w.add(eth0.id, node.name, { kind: 'ebpf', title: `cil_from_netdev: ${fe.kind} ${ip(p).dst}:${tcp(p).dstPort} has no backends — dropped`, detail: `Service ${fe.svc.namespace}/${fe.svc.name} has no ready backend${fe.svc.externalTrafficPolicy === 'Local' ? ' on this node (externalTrafficPolicy: Local)' : ''}; Cilium drops the packet.`, cite: CITE_NODEPORT }, p, p);
    return { kind: 'dropped', at: eth0.id, message: `Cilium dropped the packet: ${fe.svc.namespace}/${fe.svc.name} has no backends for ${ip(p).dst}:${tcp(p).dstPort}.` };
  }
  const b = fe.backends[w.rng.int(0, fe.backends.length - 1)]!;
  const client = { ip: ip(p).src, port: tcp(p).srcPort };
  const front = { ip: ip(p).dst, port: tcp(p).dstPort };
  const dnat = setAddresses(p, { dst: b.ip, dport: b.port });
  w.add(eth0.id, node.name, { kind: 'ebpf', title: `cil_from_netdev → nodeport_lb4: ${fe.kind} ${front.ip}:${front.port} → ${b.ip}:${b.port} (DNAT in BPF)`, detail: `kube-proxy-replacement: the BPF program on eth0's tc ingress sees the packet before netfilter. ${front.ip}:${front.port} is a ${fe.kind} frontend of ${fe.svc.namespace}/${fe.svc.name} in the BPF Service map; it picks backend ${b.ip}:${b.port} at random (this trace's seed) and rewrites the destination. No KUBE-NODEPORTS rule exists on this node.`, cite: CITE_NODEPORT }, p, dnat);
  const local = node.pods.find((x) => x.ip === b.ip);
  if (local) {
    w.bpfNat.set(`${node.name}|${key({ src: b.ip, sport: b.port, dst: client.ip, dport: client.port })}`, { front, client });
    return localDelivery(w, node, dnat, local, IDENTITY.world);
  }
  const owner = podCidrOwner(w.t, b.ip);
  if (!owner) return { kind: 'unreachable', at: eth0.id, message: `No node owns ${b.ip}.` };
  // The backend is elsewhere (bpf-lb-mode snat): SNAT so the reply comes back through this node —
  // to the router IP in tunnel mode, to the node's own address otherwise.
  const snatIP = c.routing === 'tunnel' ? routerIPOf(node) : node.ip;
  const snatPort = w.rng.int(32768, 65535);
  const snat = setAddresses(dnat, { src: snatIP, sport: snatPort });
  w.bpfNat.set(`${node.name}|${key({ src: b.ip, sport: b.port, dst: snatIP, dport: snatPort })}`, { front, client });
  w.add(eth0.id, node.name, { kind: 'ebpf', title: `nodeport NAT: source ${client.ip}:${client.port} → ${snatIP}:${snatPort} (backend on ${owner.name})`, detail: `The backend lives on ${owner.name}. In bpf-lb-mode snat (the default) Cilium rewrites the source to ${c.routing === 'tunnel' ? `this node's router IP ${snatIP}` : `this node's address ${snatIP}`} with a port from the NodePort NAT range, so the backend answers to this node, which can undo both translations. The client's address is lost to the backend (externalTrafficPolicy: Local or DSR mode keep it).`, cite: CITE_NODEPORT }, dnat, snat);
  if (c.routing === 'tunnel') return tunnelTo(w, node, snat, owner, IDENTITY.world, `The request came from outside (identity world), and the ipcache puts ${b.ip} on ${owner.name}`);
  const ownerEth0 = owner.interfaces.find((i) => i.name === 'eth0')!;
  const framed = decrementTtl(setEthernet(snat, eth0.mac, ownerEth0.mac));
  w.add(eth0.id, node.name, { kind: 'ebpf', title: `fib_redirect: to ${owner.name} ${owner.ip} out of eth0 (native routing)`, detail: `The BPF program asks the kernel's FIB for ${b.ip} (route "${owner.podCIDR} via ${owner.ip} dev eth0") and sends the packet straight out of eth0 to ${owner.name}'s MAC (bpf_redirect_neigh), TTL−1 — without the kernel's forwarding path.`, cite: 'cilium/cilium bpf/lib/fib.h (fib_redirect_v4)' }, snat, framed);
  w.add(ids.nodeNetwork(), undefined, { kind: 'wire', title: `node network: ${node.name} → ${owner.name}, pod addresses on the wire`, detail: `Native routing: ${ip(framed).src} → ${ip(framed).dst} as they are.` }, framed, framed);
  return nodeStack(w, owner, framed, 'eth0');
}

/** A reply of a NodePort connection reaches the node that translated it: RevSNAT + RevDNAT, then out of eth0 to the client. */
function nodePortReply(w: Walk, node: NodeInfo, p: Packet, np: { front: { ip: string; port: number }; client: { ip: string; port: number } }): Arrival {
  const eth0 = node.interfaces.find((i) => i.name === 'eth0')!;
  const back = setAddresses(p, { src: np.front.ip, sport: np.front.port, dst: np.client.ip, dport: np.client.port });
  w.add(eth0.id, node.name, { kind: 'ebpf', title: `rev_nodeport_lb4: ${ip(p).src}:${tcp(p).srcPort} → ${np.front.ip}:${np.front.port}, to the client ${np.client.ip}:${np.client.port}`, detail: `Cilium's BPF NAT table knows this connection: the reply's destination goes back to the client (${np.client.ip}:${np.client.port}) and its source to the frontend the client dialled (${np.front.ip}:${np.front.port}). The program sends it out of eth0 itself (fib_redirect), past the host's iptables.`, cite: CITE_NODEPORT }, p, back);
  const gw = node.routes.find((r) => r.dst === 'default')?.via;
  return toOutside(w, node, back, eth0.name, gw);
}
