// A packet's way through one node: in from a pod (veth → cni0, or a routed cali veth) or from the
// wire, through netfilter's hooks and conntrack, routing, and out to a local pod, to another node
// (underlay.ts: direct, VXLAN or IP-in-IP), to the node's own socket, or out of eth0.

import type { NodeInfo, Packet, PodInfo, RouteEntry, Verdict } from '../types.ts';
import { findVirtualServer, type VirtualServer } from '../dataplane/kubeProxyIpvs.ts';
import { ids } from '../ids.ts';
import { formatRoute } from '../dataplane/flannel.ts';
import type { CtState } from '../dataplane/netfilter.ts';
import { inSubnet, lookupRoute } from '../dataplane/routing.ts';
import { decrementTtl, eth, ip, setAddresses, setEthernet, tcp } from '../packet/packet.ts';
import { CALI_MAC, CALICO_GATEWAY } from '../dataplane/calico.ts';
import { overIpip, overVxlan, toPeerNode } from './underlay.ts';
import { fromContainer, fromHost, fromNetdev } from './cilium.ts';
import { replyToNodeSocket } from './nodeClient.ts';
import { meshInbound } from './mesh.ts';
import { decide, describePolicy, podByIP } from '../dataplane/policy.ts';
import { macFor } from '../model/names.ts';
import { CITE_CALICO, CITE_NETFILTER, CITE_NFTABLES, Walk, chainPath, key, nfContext, nfPacket, nodeLocalIPs, tupleOf, type CtEntry, type CtHit } from './walk.ts';

export type Arrival =
  | { kind: 'delivered'; to: { pod: PodInfo } | { external: string } | { node: NodeInfo }; packet: Packet }
  | Exclude<Verdict, { kind: 'delivered' }>;

/** The node network's router (the default gateway of every node). */
export const gatewayMac = macFor('gateway');

/**
 * A frame leaves a pod's eth0: through the veth pair onto cni0 (flannel's bridge) and up into the
 * node's stack, or — with Calico, which has no bridge — straight into the node's stack on the
 * host end of the veth, which answered the pod's ARP for 169.254.1.1 by proxy.
 */
export function leavePod(w: Walk, pod: PodInfo, p: Packet): Arrival {
  if (w.t.settings.cni.plugin === 'cilium') return fromContainer(w, pod, p);
  const node = w.t.nodes.find((n) => n.name === pod.node)!;
  const cni0 = node.interfaces.find((i) => i.kind === 'bridge');
  if (!cni0) {
    w.add(pod.hostVeth.id, node.name, { kind: 'veth', title: `veth pair: pod eth0 → ${pod.hostVeth.name} (routed, no bridge)`, detail: `The pod's only routes are "${CALICO_GATEWAY} dev eth0 scope link" and "default via ${CALICO_GATEWAY} dev eth0". No interface holds ${CALICO_GATEWAY}: ${pod.hostVeth.name} answers the pod's ARP for it by proxy (proxy_arp=1) with its MAC ${CALI_MAC}, so every frame a pod sends — even to a pod on the same node — enters the node's IP stack on ${pod.hostVeth.name} and is routed.`, cite: CITE_CALICO }, p, p);
    return nodeStack(w, node, p, pod.hostVeth.name);
  }
  w.add(pod.hostVeth.id, node.name, { kind: 'veth', title: `veth pair: pod eth0 → ${pod.hostVeth.name}`, detail: `The frame crosses the veth pair from the pod's network namespace into the node's; ${pod.hostVeth.name} is a port of ${cni0.name}.`, cite: 'containernetworking/plugins plugins/main/bridge' }, p, p);
  if (eth(p).dst !== cni0.mac) return bridged(w, node, p);
  w.add(cni0.id, node.name, { kind: 'bridge', title: `${cni0.name}: frame for the bridge's own MAC → IP stack`, detail: `The destination MAC ${eth(p).dst} is ${cni0.name}'s own address (the pod's gateway), so the bridge hands the packet up to the node's IP stack instead of switching it. (With br_netfilter, as on kubeadm nodes, iptables PREROUTING already runs at this point, on the bridge.)`, cite: 'Linux net/bridge/br_input.c, br_netfilter_hooks.c' }, p, p);
  return nodeStack(w, node, p, cni0.name);
}

/**
 * A frame between two pods of the same node is switched by cni0 without routing. Because kubeadm
 * nodes set net.bridge.bridge-nf-call-iptables=1 (br_netfilter), the bridged IPv4 packet still
 * passes iptables' PREROUTING, FORWARD and POSTROUTING hooks, so conntrack can undo a DNAT.
 */
function bridged(w: Walk, node: NodeInfo, p: Packet): Arrival {
  const cni0 = node.interfaces.find((i) => i.kind === 'bridge')!;
  w.add(cni0.id, node.name, { kind: 'bridge', title: `${cni0.name}: same-subnet frame switched by the bridge (br_netfilter on)`, detail: `The destination ${ip(p).dst} is in ${node.name}'s pod subnet, so the sender addressed the frame to the other pod's MAC ${eth(p).dst}; ${cni0.name} switches it. With bridge-nf-call-iptables=1 the packet still goes through netfilter.`, cite: 'Linux net/bridge/br_netfilter_hooks.c' }, p, p);
  return nodeStack(w, node, p, cni0.name, true);
}

/** A packet enters a node's IP stack on `inIface`: netfilter, routing, and out again. */
export function nodeStack(w: Walk, node: NodeInfo, p0: Packet, inIface: string, switched = false): Arrival {
  if (inIface === 'eth0' && w.t.settings.cni.plugin === 'cilium') {
    const bpf = fromNetdev(w, node, p0);
    if (bpf) return bpf;
  }
  const nf = ids.netfilter(node.name);
  const hit = w.ctLookup(node.name, tupleOf(p0));
  const ctstate: CtState = hit ? 'ESTABLISHED' : 'NEW';
  const t0 = tupleOf(p0);
  const nftMode = w.nftMode;

  // PREROUTING: the nat table runs only for a connection's first packet; later packets get the
  // entry's bindings applied instead (a reply's destination is un-SNATed here: a DST manip).
  let p = p0;
  const pre = w.hook(node.name, 'PREROUTING', nfPacket(p, 0, inIface), nfContext(w, node, ctstate, !!hit?.entry.dnat), !hit);
  let mark = pre.packet.mark;
  let entry: CtEntry;
  if (!hit) {
    if (pre.dnat) p = setAddresses(p, { dst: pre.dnat.ip, dport: pre.dnat.port });
    entry = { orig: t0, reply: { src: ip(p).dst, sport: tcp(p).dstPort, dst: t0.src, dport: t0.sport }, dnat: pre.dnat ? { ip: pre.dnat.ip, port: pre.dnat.port } : undefined };
    w.ctAdd(node.name, entry);
  } else {
    entry = hit.entry;
    if (hit.dir === 'reply' && entry.snat) p = setAddresses(p, { dst: entry.orig.src, dport: entry.orig.sport });
    if (hit.dir === 'orig' && entry.dnat) p = setAddresses(p, { dst: entry.dnat.ip, dport: entry.dnat.port });
  }
  w.add(
    nf,
    node.name,
    pre.dnat && nftMode
      ? {
          kind: 'netfilter',
          title: `nftables ${chainPath('PREROUTING', pre)}: dnat → ${pre.dnat.ip}:${pre.dnat.port}`,
          detail: `conntrack: a new connection (${t0.src}:${t0.sport} → ${t0.dst}:${t0.dport}), so the packet runs the nat-type base chain nat-prerouting of table ${pre.dnat.rule.table}. One lookup in the verdict map @service-ips (key: destination . protocol . port) jumps to the Service's chain — no walk past other Services' rules. "numgen random mod N" picks an endpoint (drawn with this trace's seed) and "dnat to" rewrites the destination to ${pre.dnat.ip}:${pre.dnat.port}.${mark ? ' On the way, mark-for-masquerade set mark 0x' + mark.toString(16) + ': the chain masquerading will masquerade the source in postrouting.' : ''} conntrack remembers the binding for every later packet and for the replies.`,
          rules: pre.steps,
          cite: CITE_NFTABLES,
        }
      : pre.dnat
      ? {
          kind: 'netfilter',
          title: `nat ${chainPath('PREROUTING', pre)} DNAT → ${pre.dnat.ip}:${pre.dnat.port}`,
          detail: `conntrack: a new connection (${t0.src}:${t0.sport} → ${t0.dst}:${t0.dport}), so the packet walks the nat table. kube-proxy's rules pick an endpoint (the statistic match draws with this trace's seed) and DNAT rewrites the destination to ${pre.dnat.ip}:${pre.dnat.port}.${mark ? ' On the way, KUBE-MARK-MASQ set mark 0x' + mark.toString(16) + ': the source will be masqueraded in POSTROUTING.' : ''} conntrack remembers the binding for every later packet and for the replies.`,
          rules: pre.steps,
          cite: CITE_NETFILTER,
        }
      : hit
        ? {
            kind: 'conntrack',
            title: hit.dir === 'reply' && entry.snat ? `conntrack: reply of a known connection — reverse SNAT, destination ${t0.dst}:${t0.dport} → ${entry.orig.src}:${entry.orig.sport}` : `conntrack: ${hit.dir === 'reply' ? 'reply' : 'packet'} of a known connection — nat table skipped`,
            detail: `conntrack finds the entry ${key(entry.orig)} (state ESTABLISHED). Only a connection's first packet walks the nat table; this one follows the entry's bindings.${hit.dir === 'reply' && entry.snat ? ` The connection's source was masqueraded to ${entry.snat.ip}:${entry.snat.port} on this node, so the reply's destination is rewritten back to the client (a DST manip, done in PREROUTING).` : ''}`,
            rules: pre.steps,
            cite: CITE_NETFILTER,
          }
        : w.ipvsMode && pre.steps.some((x) => x.matched && x.chain !== 'PREROUTING')
          ? {
              kind: 'netfilter',
              title: `nat ${chainPath('PREROUTING', pre)}: no DNAT in IPVS mode${mark ? ', marked for masquerade' : ''}`,
              detail: `conntrack: a new connection on ${node.name} (${t0.src}:${t0.sport} → ${t0.dst}:${t0.dport}). In IPVS mode the nat table only matches kube-proxy's ipsets to mark or accept the packet${mark ? ' (here KUBE-MARK-MASQ set mark 0x' + mark.toString(16) + ')' : ''}; IPVS itself will rewrite the destination.`,
              rules: pre.steps,
              cite: 'kubernetes pkg/proxy/ipvs/proxier.go (writeIptablesRules)',
            }
          : {
              kind: 'netfilter',
              title: nftMode ? 'nftables prerouting: no kube-proxy rule matched' : !w.kubeProxy ? 'nat PREROUTING: no rule matched (no kube-proxy on this node)' : 'nat PREROUTING: no kube-proxy rule matched',
              detail: `conntrack: a new connection on ${node.name} (${t0.src}:${t0.sport} → ${t0.dst}:${t0.dport}). It walks the ${nftMode ? 'prerouting base chains of kube-proxy\'s nftables table' : 'nat table'}, but its destination is no Service address, so nothing is rewritten.`,
              rules: pre.steps,
              cite: nftMode ? CITE_NFTABLES : CITE_NETFILTER,
            },
    p0,
    p,
  );
  if (pre.verdict !== 'ACCEPT') return { kind: pre.verdict === 'REJECT' ? 'rejected' : 'dropped', at: nf, message: `Dropped in PREROUTING on ${node.name}.` };

  // IPVS mode: a new connection to a virtual server is delivered locally (the VIP sits on
  // kube-ipvs0, or is the node's own address for a NodePort) and IPVS takes it at LOCAL_IN.
  const ipvs = w.ipvsOf(node.name);
  const vs = !hit && ipvs && findVirtualServer(ipvs, 'TCP', ip(p).dst, tcp(p).dstPort);
  if (vs) return ipvsLocalIn(w, node, p, entry, vs, inIface, mark);

  // Routing decision.
  if (nodeLocalIPs(node).has(ip(p).dst)) {
    if (w.direction === 'request' && !hit) return toNodeSocket(w, node, p, inIface, mark);
    if (hit?.dir === 'reply' && w.nodeClient === node.name) return replyToNodeSocket(w, node, p, entry, inIface);
    return { kind: 'unreachable', at: nf, message: `${ip(p).dst}:${tcp(p).dstPort} is ${node.name}'s own address and no kube-proxy rule rewrote it: the packet goes to a local socket (INPUT), and nothing in this cluster model listens there.` };
  }
  const bridge = w.t.settings.cni.bridge;
  const route = switched ? { dst: node.podCIDR, dev: bridge, proto: 'kernel' as const } : lookupRoute(node.routes, ip(p).dst);
  if (!route) return { kind: 'unreachable', at: nf, message: `No route to ${ip(p).dst} on ${node.name}.` };
  if (route.type === 'blackhole') {
    w.add(nf, node.name, { kind: 'route', title: `route ${formatRoute(route)}: dropped`, detail: `${ip(p).dst} is in ${node.name}'s own IPAM block but no pod holds it: BIRD's blackhole route for the block drops the packet (the sender gets no answer).`, cite: CITE_CALICO }, p, p);
    return { kind: 'dropped', at: nf, message: `${ip(p).dst} is an unassigned address of ${node.name}'s Calico block: blackhole route.` };
  }
  if (bridge && !switched && pre.dnat && inIface === bridge && route.dev === bridge) {
    // br_netfilter ran PREROUTING while the frame was still in the bridge. When the new destination
    // is reached through the same bridge, br_nf_pre_routing_finish bridges the frame to it
    // ("bridged DNAT") instead of routing it: no ip_forward, so the TTL is not decremented.
    const framed = setEthernet(p, eth(p).src, node.pods.find((x) => x.ip === ip(p).dst)?.mac ?? eth(p).dst);
    w.add(nf, node.name, { kind: 'bridge', title: `br_netfilter: ${ip(p).dst} is behind ${bridge} too — bridged DNAT, not routed`, detail: `kubeadm nodes run with net.bridge.bridge-nf-call-iptables=1, so iptables PREROUTING ran on the bridge. The DNATed destination lives on the same bridge, so the kernel re-addresses the frame to that pod's MAC and bridges it; the packet never enters ip_forward and keeps its TTL. FORWARD and POSTROUTING still run (from the bridge's forwarding path).`, cite: 'Linux net/bridge/br_netfilter_hooks.c (br_nf_pre_routing_finish, bridged_dnat)' }, p, framed);
    p = framed;
    switched = true;
  }
  if (!switched) {
    const fwd = decrementTtl(p);
    w.add(nf, node.name, { kind: 'route', title: `route ${formatRoute(route)}`, detail: `Longest-prefix match in ${node.name}'s main routing table for ${ip(p).dst}. The node forwards the packet (net.ipv4.ip_forward=1) and decrements its TTL.`, cite: 'Linux net/ipv4/route.c, ip_forward.c' }, p, fwd);
    p = fwd;
  }

  // FORWARD (filter). The packet's mark travels with it from PREROUTING.
  const fwdRes = w.hook(node.name, 'FORWARD', nfPacket(p, mark, inIface, route.dev), nfContext(w, node, ctstate, !!entry.dnat), true);
  mark = fwdRes.packet.mark;
  const deciders = fwdRes.steps.filter((s) => s.matched && /ACCEPT|REJECT|DROP/.test(s.effect)).map((s) => s.chain);
  if (nftMode) {
    w.add(nf, node.name, { kind: 'netfilter', title: `nftables forward: ${fwdRes.verdict.toLowerCase()}${fwdRes.verdict === 'ACCEPT' ? ' (policy)' : ''}`, detail: fwdRes.verdict === 'ACCEPT' ? `kube-proxy's filter-forward base chain checks only new connections (ct state new): service-endpoints-check drops or rejects packets for Services without endpoints (verdict map @no-endpoint-services), cluster-ips-check rejects unknown ports of ClusterIPs. ${ctstate === 'NEW' ? 'Neither has anything against this packet (its destination is already the endpoint), so the chain ends and its policy accepts it.' : 'This packet belongs to an established connection, so those rules do not apply.'}${w.t.settings.cni.plugin === 'flannel' ? " (flanneld's own iptables chains are not walked in this mode.)" : ''}` : `kube-proxy's filter-forward ${fwdRes.verdict === 'REJECT' ? 'rejects the packet: the client gets an ICMP port-unreachable ("connection refused")' : 'drops the packet'}.`, rules: fwdRes.steps, cite: CITE_NFTABLES }, p, p);
  } else {
    const who = deciders[deciders.length - 1];
    const why =
      who === 'FLANNEL-FWD'
        ? "FLANNEL-FWD, flanneld's chain, accepts everything to or from the pod network, so that nodes whose FORWARD policy is DROP still forward pod traffic"
        : who === 'KUBE-FORWARD'
          ? ctstate === 'NEW'
            ? 'KUBE-FORWARD accepts it: kube-proxy marked it for masquerade, and KUBE-FORWARD accepts marked packets'
            : 'KUBE-FORWARD accepts it: it belongs to an established connection'
          : who
            ? `${who} accepts it`
            : "a new connection: KUBE-FORWARD, KUBE-SERVICES and KUBE-EXTERNAL-SERVICES have nothing against it, and the chain's policy is ACCEPT";
    w.add(nf, node.name, { kind: 'netfilter', title: `filter FORWARD: ${fwdRes.verdict}${deciders.length ? ` (${deciders.join(', ')})` : ' (policy)'}`, detail: fwdRes.verdict === 'ACCEPT' ? `The filter table lets the forwarded packet through (${why}).` : `The filter table ${fwdRes.verdict === 'REJECT' ? 'rejects the packet: the client gets an ICMP port-unreachable ("connection refused")' : 'drops the packet'}.`, rules: fwdRes.steps, cite: CITE_NETFILTER }, p, p);
  }
  if (fwdRes.verdict !== 'ACCEPT') {
    const why = fwdRes.steps.filter((s) => s.matched).map((s) => s.text).pop() ?? '';
    return { kind: fwdRes.verdict === 'REJECT' ? 'rejected' : 'dropped', at: nf, message: `${fwdRes.verdict} in filter FORWARD on ${node.name}: ${why}` };
  }
  if (!hit && w.t.settings.cni.plugin === 'calico' && w.t.policies.length) {
    const denied = calicoPolicy(w, node, p, inIface, route.dev);
    if (denied) return denied;
  }
  if (hit?.dir === 'reply' && entry.dnat?.by === 'ipvs') {
    // IPVS undoes its own DNAT on the reply, in its FORWARD hook (ip_vs_out, ip_vs_core.c).
    const back = setAddresses(p, { src: entry.orig.dst, sport: entry.orig.dport });
    w.add(nf, node.name, { kind: 'conntrack', title: `IPVS: reply un-NATed — source ${ip(p).src}:${tcp(p).srcPort} → ${entry.orig.dst}:${entry.orig.dport}`, detail: `The reply belongs to an IPVS connection (virtual server ${entry.orig.dst}:${entry.orig.dport}). IPVS's FORWARD hook (ip_vs_out) rewrites its source back to the virtual server's address, so the client sees the address it dialled.`, cite: 'Linux net/netfilter/ipvs/ip_vs_core.c (ip_vs_out)' }, p, back);
    p = back;
  }

  return postroutingAndOut(w, node, p, route, inIface, mark, hit, entry, switched);
}

/**
 * IPVS at LOCAL_IN (ip_vs_in_hook, after filter INPUT): the virtual server picks a real server,
 * IPVS rewrites the destination (Masq forwarding) and sends the packet out itself through
 * LOCAL_OUT → routing → POSTROUTING. Simulated: IPVS is not in this machine's kernel.
 */
function ipvsLocalIn(w: Walk, node: NodeInfo, p: Packet, entry: CtEntry, vs: VirtualServer, inIface: string, mark0: number): Arrival {
  const nf = ids.netfilter(node.name);
  const onDummy = w.ipvsOf(node.name)!.dummyAddresses.includes(vs.address);
  const input = w.hook(node.name, 'INPUT', nfPacket(p, mark0, inIface), nfContext(w, node, 'NEW', false), true);
  w.add(nf, node.name, { kind: 'route', title: `local delivery: ${vs.address} ${onDummy ? 'is bound on kube-ipvs0' : `is ${node.name}'s own address`} → filter INPUT: ${input.verdict}`, detail: `kube-proxy binds every ClusterIP (and external / load-balancer IP) to the dummy device kube-ipvs0, so the routing decision delivers the packet locally. It walks filter INPUT first (KUBE-IPVS-FILTER lets addresses of Services through), then IPVS takes it.`, rules: input.steps, cite: 'kubernetes pkg/proxy/ipvs/proxier.go; Linux net/netfilter/ipvs/ip_vs_core.c' }, p, p);
  if (input.verdict !== 'ACCEPT') return { kind: input.verdict === 'REJECT' ? 'rejected' : 'dropped', at: nf, message: `${input.verdict} in filter INPUT on ${node.name}.` };
  if (vs.realServers.length === 0) {
    w.add(nf, node.name, { kind: 'netfilter', title: `IPVS: virtual server ${vs.protocol} ${vs.address}:${vs.port} has no real servers`, detail: 'IPVS answers with ICMP port unreachable and drops the packet (ip_vs_leave).', cite: 'Linux net/netfilter/ipvs/ip_vs_core.c (ip_vs_leave)' }, p, p);
    return { kind: 'rejected', at: nf, message: `IPVS virtual server ${vs.address}:${vs.port} has no real servers: ICMP port unreachable.` };
  }
  // Round robin: where the rotation stands depends on earlier connections; the seed stands in for them.
  const rs = vs.realServers[w.rng.int(0, vs.realServers.length - 1)]!;
  const dnat = setAddresses(p, { dst: rs.address, dport: rs.port });
  entry.dnat = { ip: rs.address, port: rs.port, by: 'ipvs' };
  // With net.ipv4.vs.conntrack=1 IPVS keeps the conntrack entry and updates its reply tuple.
  w.ctSetReply(node.name, entry, { src: rs.address, sport: rs.port, dst: entry.orig.src, dport: entry.orig.sport });
  w.add(nf, node.name, { kind: 'netfilter', title: `IPVS: ${vs.protocol} ${vs.address}:${vs.port} ${vs.scheduler} → real server ${rs.address}:${rs.port} (Masq)`, detail: `ipvsadm -Ln lists this virtual server with ${vs.realServers.length} real server(s): ${vs.realServers.map((r) => `${r.address}:${r.port}`).join(', ')}. The ${vs.scheduler === 'rr' ? 'round-robin' : vs.scheduler} scheduler picks one (the rotation's position comes from this trace's seed) and IPVS rewrites the destination — a hash lookup, not a walk through rules.`, cite: 'kubernetes pkg/proxy/ipvs/proxier.go (syncService, syncEndpoint); Linux net/netfilter/ipvs/ip_vs_core.c, ip_vs_rr.c' }, p, dnat);
  const route = lookupRoute(node.routes, rs.address);
  if (!route) return { kind: 'unreachable', at: nf, message: `No route to ${rs.address} on ${node.name}.` };
  const out = w.hook(node.name, 'OUTPUT', nfPacket(dnat, mark0, undefined, route.dev), nfContext(w, node, 'NEW', true), false);
  w.add(nf, node.name, { kind: 'route', title: `IPVS sends it on: filter OUTPUT, route ${formatRoute(route)}`, detail: 'IPVS transmits the rewritten packet itself (ip_vs_nat_xmit): it passes LOCAL_OUT — filter OUTPUT with KUBE-IPVS-OUT-FILTER — and the routing table picks the way to the real server.', rules: out.steps, cite: 'Linux net/netfilter/ipvs/ip_vs_xmit.c' }, dnat, dnat);
  // The packet never passes FORWARD, so Felix (with kube-ipvs0 present: KubeIPVSSupportEnabled)
  // judges workload policy for IPVS-forwarded packets in its INPUT/OUTPUT chains instead
  // (felix/rules/static.go): the client's egress, and the backend's ingress when it is local.
  if (w.t.settings.cni.plugin === 'calico' && w.t.policies.length) {
    const denied = calicoPolicy(w, node, dnat, inIface, route.dev);
    if (denied) return denied;
  }
  return postroutingAndOut(w, node, dnat, route, inIface, mark0, undefined, entry, false);
}


/** POSTROUTING (nat) and out of the node: to a local pod, over VXLAN, or out of eth0. */
export function postroutingAndOut(w: Walk, node: NodeInfo, p: Packet, route: RouteEntry, inIface: string, mark: number, hit: CtHit | undefined, entry: CtEntry, switched: boolean): Arrival {
  const nf = ids.netfilter(node.name);
  const bridge = w.t.settings.cni.bridge;
  const ctstate: CtState = hit ? 'ESTABLISHED' : 'NEW';
  // POSTROUTING (nat): MASQUERADE for a marked first packet; for a reply, conntrack undoes the
  // DNAT on the source (a SRC manip: nf_nat_ipv4_out, HOOK2MANIP).
  const post = w.hook(node.name, 'POSTROUTING', nfPacket(p, mark, inIface, route.dev), nfContext(w, node, ctstate, false), !hit);
  let out = p;
  const nftMode = w.nftMode;
  let title = nftMode ? `nftables postrouting: ${hit ? 'nat chain skipped (known connection)' : 'masquerading: no masquerade mark, return'}` : `nat POSTROUTING: ${hit ? 'skipped (known connection)' : !w.kubeProxy ? 'no rule rewrote the source' : 'KUBE-POSTROUTING: no masquerade mark, RETURN'}`;
  let detail = hit ? 'The nat table is not consulted again for a known connection.' : !w.kubeProxy ? "No kube-proxy runs here (Cilium replaces it), and Cilium's masquerade rule does not match this packet: its source address is kept." : nftMode ? 'The chain masquerading masquerades only packets that mark-for-masquerade marked (mark and 0x4000); this one is not marked, so its source address is kept.' : 'KUBE-POSTROUTING masquerades only packets kube-proxy marked with 0x4000 (KUBE-MARK-MASQ); this one is not marked, so its source address is kept.';
  let kind: 'netfilter' | 'conntrack' = 'netfilter';
  if (post.snat) {
    // MASQUERADE --random-fully: the source port is drawn at random (NF_NAT_RANGE_PROTO_RANDOM_FULLY).
    const randomFully = /--random-fully|fully-random/.test(post.snat.rule.text);
    const sport = randomFully ? w.rng.int(1024, 65535) : tcp(p).srcPort;
    out = setAddresses(out, { src: post.snat.ip, sport });
    w.ctSetReply(node.name, entry, { ...entry.reply, dst: post.snat.ip, dport: sport });
    entry.snat = { ip: post.snat.ip, port: sport };
    title = nftMode ? `nftables postrouting → masquerading: masquerade — source ${ip(p).src}:${tcp(p).srcPort} → ${post.snat.ip}:${sport}` : `nat POSTROUTING → KUBE-POSTROUTING: MASQUERADE — source ${ip(p).src}:${tcp(p).srcPort} → ${post.snat.ip}:${sport}`;
    if (post.snat.rule.chain === 'CILIUM_POST_nat') {
      title = `nat POSTROUTING → CILIUM_POST_nat: MASQUERADE — source ${ip(p).src}:${tcp(p).srcPort} → ${post.snat.ip}:${sport}`;
      detail = `Cilium's iptables masquerade (enable-ipv4-masquerade, without BPF masquerade): the packet comes from this node's pod CIDR, goes to an address outside ${w.t.settings.cni.plugin === 'cilium' && w.t.settings.cni.nativeRoutingCIDR ? `ipv4-native-routing-cidr ${w.t.settings.cni.nativeRoutingCIDR}` : "the node's pod CIDR"} and leaves through ${route.dev}, not a cilium_ device — so "cilium masquerade non-cluster" rewrites the source to ${route.dev}'s address ${post.snat.ip}. The answer comes back to this node, and conntrack gives it to the pod.`;
    } else if (post.snat.rule.chain === 'FLANNEL-POSTRTG') {
      title = `nat POSTROUTING → FLANNEL-POSTRTG: MASQUERADE — source ${ip(p).src}:${tcp(p).srcPort} → ${post.snat.ip}:${sport}`;
      detail = `flanneld's --ip-masq rules: the packet comes from the pod network (${w.t.settings.podCIDR}) and goes outside it, so "-s ${w.t.settings.podCIDR} ! -d 224.0.0.0/4 -j MASQUERADE --random-fully" rewrites the source to ${route.dev}'s address ${post.snat.ip} with a random port. Outside the cluster nobody can route to pod addresses; the answer comes back to this node, and conntrack gives it to the pod.`;
    } else detail = nftMode ? `The packet carries kube-proxy's masquerade mark, so the chain masquerading clears it ("mark set mark xor") and "masquerade fully-random" rewrites the source to ${route.dev}'s address ${post.snat.ip} with a random source port. The backend will answer to this node, which can undo both translations.` : `The packet carries kube-proxy's masquerade mark, so KUBE-POSTROUTING clears it and MASQUERADE rewrites the source to ${route.dev}'s address ${post.snat.ip}${randomFully ? ' with a random source port (--random-fully)' : ''}. The backend will answer to this node, which can undo both translations.`;
  } else if (hit?.dir === 'reply' && entry.dnat && entry.dnat.by !== 'ipvs') {
    out = setAddresses(out, { src: entry.orig.dst, sport: entry.orig.dport });
    title = `conntrack: reverse DNAT — source ${ip(p).src}:${tcp(p).srcPort} → ${entry.orig.dst}:${entry.orig.dport}`;
    detail = `This packet is the reply of a connection whose destination was DNATed on ${node.name}. conntrack rewrites its source back to the address the client dialled (${entry.orig.dst}:${entry.orig.dport}), so the client's socket accepts it.`;
    kind = 'conntrack';
  }
  w.add(nf, node.name, { kind, title, detail, rules: post.steps, cite: nftMode && kind === 'netfilter' ? CITE_NFTABLES : CITE_NETFILTER }, p, out);
  p = out;
  const cni = w.t.settings.cni;
  if (!hit && !post.snat && cni.plugin === 'calico' && cni.natOutgoing && inSubnet(w.t.settings.podCIDR, ip(p).src) && !inSubnet(w.t.settings.podCIDR, ip(p).dst)) {
    // Calico's natOutgoing (felix/rules/nat.go): cali-POSTROUTING → cali-nat-outgoing, "-m set
    // --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst -j
    // MASQUERADE --random-fully". Shown as its decision: podpath does not render Felix's chains.
    const addr = nfContext(w, node, 'NEW', false).ifaceAddress(route.dev)!;
    const sport = w.rng.int(1024, 65535);
    const masq = setAddresses(p, { src: addr, sport });
    w.ctSetReply(node.name, entry, { ...entry.reply, dst: addr, dport: sport });
    entry.snat = { ip: addr, port: sport };
    w.add(nf, node.name, { kind: 'netfilter', title: `Calico cali-nat-outgoing: MASQUERADE — source ${ip(p).src}:${tcp(p).srcPort} → ${addr}:${sport}`, detail: `The IPPool has natOutgoing: true. Felix's rule masquerades packets whose source is in a natOutgoing pool (ipset cali40masq-ipam-pools) and whose destination is in no pool (cali40all-ipam-pools): ${ip(p).dst} is outside ${w.t.settings.podCIDR}, so the source becomes ${route.dev}'s address ${addr} with a random port. The answer comes back to this node, and conntrack hands it to the pod.`, cite: 'projectcalico/calico felix/rules/nat.go (natOutgoing); Linux nf_nat_masquerade' }, p, masq);
    p = masq;
  }

  // Out of the node.
  if (bridge && route.dev === bridge) return toLocalPod(w, node, p, switched);
  if (route.dev === 'cilium_host') return fromHost(w, node, p);
  const podVeth = node.pods.find((x) => x.hostVeth.name === route.dev);
  if (podVeth) return toLocalPodRouted(w, node, p, podVeth);
  const tunnel = node.interfaces.find((i) => i.name === route.dev && (i.kind === 'vtep' || i.kind === 'ipip'));
  if (tunnel?.kind === 'vtep') return overVxlan(w, node, p, route.via!);
  if (tunnel?.kind === 'ipip') return overIpip(w, node, p, route.via!);
  const peer = route.via && w.t.nodes.find((n) => n.ip === route.via);
  if (peer) return toPeerNode(w, node, p, peer, route);
  // Another node on the node network's own subnet: the link route reaches it directly.
  const onLink = !route.via && w.t.nodes.find((n) => n.ip === ip(p).dst && n.name !== node.name);
  if (onLink) return toPeerNode(w, node, p, onLink, route);
  return toOutside(w, node, p, route.dev, route.via);
}

/** A new connection to the node's own address: filter INPUT, then a local socket (the kubelet, say). */
function toNodeSocket(w: Walk, node: NodeInfo, p: Packet, inIface: string, mark: number): Arrival {
  const nf = ids.netfilter(node.name);
  const input = w.hook(node.name, 'INPUT', nfPacket(p, mark, inIface), nfContext(w, node, 'NEW', false), true);
  w.add(nf, node.name, { kind: 'route', title: `local delivery: ${ip(p).dst} is ${node.name}'s own address → filter INPUT: ${input.verdict}`, detail: `The routing decision finds ${ip(p).dst} in ${node.name}'s local table, so the packet is delivered to the node itself: it walks filter INPUT, then a socket of a host process gets it.`, rules: input.steps, cite: CITE_NETFILTER }, p, p);
  if (input.verdict !== 'ACCEPT') return { kind: input.verdict === 'REJECT' ? 'rejected' : 'dropped', at: nf, message: `${input.verdict} in filter INPUT on ${node.name}.` };
  const eth0 = node.interfaces.find((i) => i.name === 'eth0')!;
  w.add(eth0.id, node.name, { kind: 'deliver', title: `delivered to ${node.name}'s own socket ${ip(p).dst}:${tcp(p).dstPort}`, detail: `A process of ${node.name} itself (for port 10250, the kubelet) accepts the connection. It sees the source ${ip(p).src}:${tcp(p).srcPort}.` }, p, p);
  return { kind: 'delivered', to: { node }, packet: p };
}

/**
 * The node's own process answers: a locally generated packet walks OUTPUT, the routing table and
 * POSTROUTING like any other, and conntrack recognises it as the reply of the connection it accepted.
 */
export function fromNodeSocket(w: Walk, node: NodeInfo, p: Packet): Arrival {
  const nf = ids.netfilter(node.name);
  const eth0 = node.interfaces.find((i) => i.name === 'eth0')!;
  w.add(eth0.id, node.name, { kind: 'socket', title: `${node.name} answers: SYN-ACK ${ip(p).src}:${tcp(p).srcPort} → ${ip(p).dst}:${tcp(p).dstPort}`, detail: `The node's process answers the address it saw.` }, p, p);
  const hit = w.ctLookup(node.name, tupleOf(p));
  const out = w.hook(node.name, 'OUTPUT', nfPacket(p, 0), nfContext(w, node, hit ? 'ESTABLISHED' : 'NEW', false), !hit);
  const route = lookupRoute(node.routes, ip(p).dst);
  if (!route) return { kind: 'unreachable', at: nf, message: `No route to ${ip(p).dst} on ${node.name}.` };
  w.add(nf, node.name, { kind: 'route', title: `filter OUTPUT: ${out.verdict}, route ${formatRoute(route)}`, detail: `A locally generated packet: OUTPUT, then the routing table picks the way to ${ip(p).dst}.${hit ? ' conntrack knows it: the reply of the accepted connection.' : ''}`, rules: out.steps, cite: CITE_NETFILTER }, p, p);
  const t0 = tupleOf(p);
  const entry: CtEntry = hit?.entry ?? { orig: t0, reply: { src: t0.dst, sport: t0.dport, dst: t0.src, dport: t0.sport } };
  if (!hit) w.ctAdd(node.name, entry);
  return postroutingAndOut(w, node, p, route, 'lo', 0, hit, entry, false);
}

/**
 * Calico enforces NetworkPolicy in filter FORWARD, per workload interface: packets from a pod
 * pass its cali-fw-<veth> chain (egress policies), packets to a pod its cali-tw-<veth> chain
 * (ingress policies); only a connection's first packet is judged, replies match conntrack
 * (felix/rules/dispatch.go, endpoints.go). The chains' content follows the policies' semantics
 * (dataplane/policy.ts); podpath shows the decision, not Felix's generated rules.
 */
function calicoPolicy(w: Walk, node: NodeInfo, p: Packet, inIface: string, outDev: string): Arrival | undefined {
  const nf = ids.netfilter(node.name);
  const checks: ['Egress' | 'Ingress', PodInfo | undefined, string][] = [
    ['Egress', node.pods.find((x) => x.hostVeth.name === inIface), ip(p).dst],
    ['Ingress', node.pods.find((x) => x.hostVeth.name === outDev), ip(p).src],
  ];
  for (const [dir, pod, peer] of checks) {
    if (!pod) continue;
    const d = decide(w.t, dir, pod, peer, tcp(p).dstPort);
    const chain = `${dir === 'Egress' ? 'cali-fw' : 'cali-tw'}-${pod.hostVeth.name}`;
    const what = `${dir === 'Egress' ? 'egress of' : 'ingress to'} ${pod.namespace}/${pod.name}`;
    const peerPod = podByIP(w.t, peer);
    const peerDesc = `${dir === 'Egress' ? 'to' : 'from'} ${peer}${peerPod ? ` (pod ${peerPod.namespace}/${peerPod.name})` : ''}, TCP port ${tcp(p).dstPort}`;
    const title = d.selecting.length === 0 ? `Calico policy ${chain}: ${what} — not isolated, allowed` : d.allowed ? `Calico policy ${chain}: ${what} allowed by ${d.by!.policy.namespace}/${d.by!.policy.name} (${dir.toLowerCase()} rule ${d.by!.rule})` : `Calico policy ${chain}: ${what} denied — no rule of ${d.selecting.map((x) => `${x.namespace}/${x.name}`).join(', ')} allows it`;
    const detail =
      d.selecting.length === 0
        ? `No NetworkPolicy with policyType ${dir} selects ${pod.name}, so it is not isolated for ${dir.toLowerCase()}: every connection ${peerDesc} passes.`
        : `${d.selecting.length === 1 ? 'One policy selects' : `${d.selecting.length} policies select`} ${pod.name} for ${dir.toLowerCase()}: ${d.selecting.map(describePolicy).join('; ')}. That isolates the pod: a new connection passes only if some rule of these policies matches its peer and port. This connection is ${peerDesc}. ${d.allowed ? `Rule ${d.by!.rule} of ${d.by!.policy.name} matches it.` : 'No rule matches, so Felix drops the packet: the client sees no answer (a timeout, not a refusal).'}${dir === 'Ingress' ? ' The source is the address as it arrives here — after any masquerade on an earlier node.' : ' The destination is the backend pod, after the Service DNAT: egress rules see pod addresses, not the ClusterIP.'}`;
    w.add(nf, node.name, { kind: 'policy', title, detail, cite: 'Kubernetes NetworkPolicy (networking.k8s.io/v1); projectcalico/calico felix/rules (cali-fw-/cali-tw- chains)' }, p, p);
    if (!d.allowed) return { kind: 'dropped', at: nf, message: `NetworkPolicy denied the ${what} (${peerDesc}) on ${node.name}.` };
  }
  return undefined;
}

/** Calico: a /32 route "<pod IP> dev cali…" sends the packet down the pod's veth, from ee:ee:ee:ee:ee:ee. */
function toLocalPodRouted(w: Walk, node: NodeInfo, p: Packet, pod: PodInfo): Arrival {
  const framed = setEthernet(p, CALI_MAC, pod.mac);
  w.add(pod.hostVeth.id, node.name, { kind: 'veth', title: `${pod.hostVeth.name} → pod eth0 (route ${pod.ip} dev ${pod.hostVeth.name} scope link)`, detail: `Calico's CNI plugin wrote a /32 route for the pod through its veth. The node sends the frame from ${pod.hostVeth.name} (MAC ${CALI_MAC}) to the pod's MAC ${pod.mac}; it crosses into ${pod.name}'s network namespace.`, cite: CITE_CALICO }, p, framed);
  return deliverToPod(w, node, pod, framed);
}

/**
 * Out of eth0 toward the node network's router: the reply to a client outside the cluster, or a
 * pod's request to a host outside it (which the router forwards on).
 */
export function toOutside(w: Walk, node: NodeInfo, p: Packet, dev: string, via: string | undefined): Arrival {
  const at = ids.nodeIf(node.name, dev);
  const eth0 = node.interfaces.find((i) => i.name === dev);
  const toClient = !!w.externalClient && ip(p).dst === w.externalClient;
  if (!via) return { kind: 'unreachable', at, message: `${ip(p).dst} is on the node network's subnet but is no node of this cluster: ARP on ${dev} gets no answer (host unreachable).` };
  if (!eth0 || (!toClient && w.direction !== 'request')) {
    return { kind: 'unreachable', at, message: `The packet leaves ${node.name} on ${dev} toward ${via ?? ip(p).dst}, outside the cluster, where nothing answers it.` };
  }
  const framed = setEthernet(p, eth0.mac, gatewayMac);
  w.add(at, node.name, { kind: 'route', title: `${dev} out: to ${ip(p).dst} via the default gateway ${via}`, detail: `The route "default via ${via} dev ${dev}" sends the packet to the node network's router (MAC ${gatewayMac}), which knows the way to ${ip(p).dst}.`, cite: 'Linux net/ipv4/route.c' }, p, framed);
  const routed = decrementTtl(framed);
  const podSource = inSubnet(w.t.settings.podCIDR, ip(p).src);
  w.add(ids.nodeNetwork(), undefined, { kind: 'wire', title: `router ${via}: forwards ${toClient ? 'the reply' : 'the packet'} to ${ip(p).dst}`, detail: `The router decrements the TTL and forwards the packet out of the cluster network toward ${ip(p).dst}.` }, framed, routed);
  w.add(
    ids.external(),
    undefined,
    toClient
      ? { kind: 'deliver', title: `delivered to the client ${ip(routed).dst}:${tcp(routed).dstPort}`, detail: `The client's TCP stack matches the reply to its connection: it came from ${ip(routed).src}:${tcp(routed).srcPort}.` }
      : { kind: 'deliver', title: `delivered to the server ${ip(routed).dst}:${tcp(routed).dstPort} outside the cluster`, detail: `The server sees the connection come from ${ip(routed).src}:${tcp(routed).srcPort}${podSource ? ' — a pod address: nothing masqueraded it, and the outside network has no route back to the pod network' : ` — ${node.name}'s address, not the pod's: the pod was masqueraded on the way out`}.` },
    routed,
    routed,
  );
  return { kind: 'delivered', to: { external: ip(routed).dst }, packet: routed };
}

/**
 * A host outside the cluster answers a pod's connection: its reply goes to the address it saw —
 * a node's (after masquerade), which the router reaches on the node network, or a pod's, which it cannot.
 */
export function fromOutsideReply(w: Walk, p: Packet): Arrival {
  const node = w.t.nodes.find((n) => n.ip === ip(p).dst);
  if (!node) {
    const why = inSubnet(w.t.settings.podCIDR, ip(p).dst) ? `${ip(p).dst} is a pod address: the network outside the cluster has no route to ${w.t.settings.podCIDR}, so the reply is lost. This is why a CNI masquerades pod traffic that leaves the cluster${w.t.settings.cni.plugin === 'calico' ? ' (Calico: natOutgoing on the IPPool, which podpath does not model yet)' : ''}.` : `No node has ${ip(p).dst}.`;
    return { kind: 'unreachable', at: ids.nodeNetwork(), message: why };
  }
  const eth0 = node.interfaces.find((i) => i.name === 'eth0')!;
  const framed = decrementTtl(setEthernet(p, gatewayMac, eth0.mac));
  w.add(ids.nodeNetwork(), undefined, { kind: 'wire', title: `router: ${ip(p).dst} → ${node.name} (${eth0.mac})`, detail: `The node network's router forwards the reply to ${node.name}'s eth0 and decrements the TTL.` }, p, framed);
  w.add(eth0.id, node.name, { kind: 'route', title: `${node.name} eth0: the reply for ${ip(p).dst}:${tcp(p).dstPort} arrives`, detail: `${node.name} receives the reply on eth0; conntrack will recognise it.` }, framed, framed);
  return nodeStack(w, node, framed, 'eth0');
}

function toLocalPod(w: Walk, node: NodeInfo, p: Packet, switched: boolean): Arrival {
  const cni0 = node.interfaces.find((i) => i.kind === 'bridge')!;
  const pod = node.pods.find((x) => x.ip === ip(p).dst);
  if (!pod) return { kind: 'unreachable', at: cni0.id, message: `No pod on ${node.name} has ${ip(p).dst}: ARP on ${cni0.name} gets no answer (host unreachable).` };
  const framed = switched ? p : setEthernet(p, cni0.mac, pod.mac);
  w.add(cni0.id, node.name, { kind: 'bridge', title: `${cni0.name} → ${pod.hostVeth.name} (bridge forwarding)`, detail: switched ? `The bridge's forwarding table (learned MAC ${pod.mac}) sends the frame to port ${pod.hostVeth.name}.` : `The node sends the packet out of ${cni0.name} with the pod's MAC ${pod.mac} (from ARP); the bridge's forwarding table sends the frame to port ${pod.hostVeth.name}.` }, p, framed);
  w.add(pod.hostVeth.id, node.name, { kind: 'veth', title: `veth pair: ${pod.hostVeth.name} → pod eth0`, detail: `The frame crosses into ${pod.name}'s network namespace.` }, framed, framed);
  return deliverToPod(w, node, pod, framed);
}

export function deliverToPod(w: Walk, node: NodeInfo, pod: PodInfo, framed: Packet): Arrival {
  const port = tcp(framed).dstPort;
  if (pod.sidecar && w.direction === 'request') {
    const m = meshInbound(w, node, pod, framed);
    if (m === true) return { kind: 'delivered', to: { pod }, packet: framed };
    if (m !== false) return m;
  }
  const listening = pod.containers.some((c) => c.ports.some((cp) => cp.containerPort === port)) || pod.containers.every((c) => c.ports.length === 0);
  w.add(ids.podEth0(pod.id), node.name, { kind: 'deliver', title: `delivered to ${pod.name} ${ip(framed).dst}:${port}`, detail: w.direction === 'reply' ? `${pod.name}'s eth0 receives it; the kernel matches it to the socket that sent the SYN (port ${port}).` : listening ? `${pod.name}'s eth0 receives it; the process listening on port ${port} gets the segment.` : `${pod.name} declares no containerPort ${port}; if nothing listens there the kernel answers with a TCP RST. (containerPort is informational; podpath assumes the port is served.)` }, framed, framed);
  return { kind: 'delivered', to: { pod }, packet: framed };
}
