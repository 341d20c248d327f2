// The hop walker: follows a connection's first packet (TCP SYN) from the client pod to a backend
// and the backend's answer (SYN-ACK) back, naming at every hop the mechanism that acted.

import type { FlowSpec, Hop, NodeInfo, Packet, PodInfo, Topology, Trace, Verdict } from '../types.ts';
import { ids } from '../ids.ts';
import { nodeRuleset } from '../dataplane/iptablesSave.ts';
import { formatRoute } from '../dataplane/flannel.ts';
import { type CtState, type Hook, type HookResult, type NfPacket, runHook } from '../dataplane/netfilter.ts';
import { inSubnet, lookupRoute } from '../dataplane/routing.ts';
import type { Ruleset } from '../dataplane/kubeProxyIptables.ts';
import { decrementTtl, eth, ip, setAddresses, setEthernet, tcp, tcpSegment, vxlanDecap, vxlanEncap, vxlanSourcePort } from '../packet/packet.ts';
import { fnv1a32 } from '../util/hash.ts';
import { createPrng, type Prng } from '../util/prng.ts';
import { resolveTarget } from './resolve.ts';

const CITE_NETFILTER = 'Linux net/netfilter (nf_conntrack_core.c, nf_nat_core.c); kubernetes pkg/proxy/iptables/proxier.go';
const CITE_FLANNEL = 'flannel pkg/backend/vxlan/vxlan_network.go; Linux drivers/net/vxlan/vxlan_core.c';

interface Tuple { src: string; sport: number; dst: string; dport: number }

/** One conntrack entry: the original tuple and the tuple a reply will carry (after NAT). */
interface CtEntry { orig: Tuple; reply: Tuple; dnat: boolean; snat: boolean }

const key = (t: Tuple) => `${t.src}:${t.sport}>${t.dst}:${t.dport}`;

class Walk {
  hops: Hop[] = [];
  direction: Hop['direction'] = 'request';
  /** Per node: conntrack entries keyed by both directions' tuples. */
  private conntrack = new Map<string, Map<string, { entry: CtEntry; reply: boolean }>>();
  private rules = new Map<string, Ruleset>();

  constructor(readonly t: Topology, readonly rng: Prng) {}

  add(at: string, node: string | undefined, mechanism: Hop['mechanism'], before: Packet, after: Packet) {
    this.hops.push({ index: this.hops.length, direction: this.direction, at, node, mechanism, before, after });
  }

  rulesOf(node: string): Ruleset {
    let r = this.rules.get(node);
    if (!r) this.rules.set(node, (r = nodeRuleset(this.t, node)));
    return r;
  }

  ct(node: string) {
    let m = this.conntrack.get(node);
    if (!m) this.conntrack.set(node, (m = new Map()));
    return m;
  }
}

const tupleOf = (p: Packet): Tuple => ({ src: ip(p).src, sport: tcp(p).srcPort, dst: ip(p).dst, dport: tcp(p).dstPort });

function nodeLocalIPs(n: NodeInfo): Set<string> {
  return new Set(['127.0.0.1', ...n.interfaces.filter((i) => i.address).map((i) => i.address!.split('/')[0]!)]);
}

function nfContext(w: Walk, n: NodeInfo, ctstate: CtState, ctDnat: boolean) {
  const locals = nodeLocalIPs(n);
  return {
    localIPs: locals,
    ctstate,
    ctDnat,
    rng: w.rng,
    ifaceAddress: (iface: string) => n.interfaces.find((i) => i.name === iface)?.address?.split('/')[0],
  };
}

function nfPacket(p: Packet, inIface?: string, outIface?: string): NfPacket {
  const t = tcp(p);
  return { src: ip(p).src, dst: ip(p).dst, proto: 'tcp', sport: t.srcPort, dport: t.dstPort, mark: 0, inIface, outIface };
}

/** The chain path a walk took: "PREROUTING → KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-…". */
function chainPath(hook: Hook, r: HookResult): string {
  const jumps = r.steps.filter((s) => s.matched && s.effect.includes('jump ')).map((s) => s.effect.slice(s.effect.indexOf('jump ') + 5));
  return [hook, ...jumps].join(' → ');
}

function findPod(t: Topology, id: string): PodInfo | undefined {
  for (const n of t.nodes) for (const p of n.pods) if (p.id === id) return p;
  return undefined;
}

export function traceFlow(t: Topology, flow: FlowSpec, seed: number): Trace {
  const w = new Walk(t, createPrng(seed));
  const client = findPod(t, flow.from);
  const fail = (kind: Exclude<Verdict['kind'], 'delivered'>, at: string, message: string): Trace => ({ flow, seed, hops: w.hops, verdict: { kind, at, message } });
  if (!client) return fail('unreachable', ids.pod(flow.from), `There is no pod ${flow.from}.`);
  const node = t.nodes.find((n) => n.name === client.node)!;
  const res = resolveTarget(t, client, flow.to);
  const cni0 = node.interfaces.find((i) => i.kind === 'bridge')!;
  const sport = w.rng.int(32768, 60999); // net.ipv4.ip_local_port_range default
  const syn = tcpSegment({
    srcMac: client.mac,
    dstMac: cni0.mac,
    src: client.ip,
    dst: res.ok ? res.ip : '0.0.0.0',
    sport,
    dport: res.ok ? res.port : 0,
    flags: ['SYN'],
    seq: w.rng.int(0, 0xffffffff),
    ack: 0,
  });
  if (!res.ok) {
    w.add(ids.podEth0(client.id), node.name, { kind: 'dns', title: `DNS lookup of ${flow.to} failed`, detail: res.detail, cite: 'kubelet pkg/kubelet/network/dns/dns.go' }, syn, syn);
    return fail('unreachable', ids.podEth0(client.id), res.detail);
  }
  w.add(
    ids.podEth0(client.id),
    node.name,
    {
      kind: 'socket',
      title: `connect(${flow.to}) → SYN ${client.ip}:${sport} → ${res.ip}:${res.port}`,
      detail: `${res.detail} The kernel picks source port ${sport} from net.ipv4.ip_local_port_range. The pod's route "default via ${cni0.address!.split('/')[0]} dev eth0" sends the SYN to cni0; ARP gives cni0's MAC ${cni0.mac}.`,
      cite: 'kubelet pkg/kubelet/network/dns/dns.go; containernetworking/plugins bridge (isGateway)',
    },
    syn,
    syn,
  );
  const request = leavePod(w, client, syn);
  if (request.kind !== 'delivered') return { flow, seed, hops: w.hops, verdict: request };
  const backend = request.pod;

  // The backend answers: SYN-ACK back to the source it saw.
  w.direction = 'reply';
  const seen = request.packet;
  const bnode = t.nodes.find((n) => n.name === backend.node)!;
  const bcni0 = bnode.interfaces.find((i) => i.kind === 'bridge')!;
  // Same pod subnet: the backend reaches the client's MAC directly over cni0; otherwise via its gateway.
  const peer = inSubnet(bnode.podCIDR, ip(seen).src) ? bnode.pods.find((x) => x.ip === ip(seen).src) : undefined;
  const synAck = tcpSegment({
    srcMac: backend.mac,
    dstMac: peer ? peer.mac : bcni0.mac,
    src: backend.ip,
    dst: ip(seen).src,
    sport: tcp(seen).dstPort,
    dport: tcp(seen).srcPort,
    flags: ['SYN', 'ACK'],
    seq: w.rng.int(0, 0xffffffff),
    ack: (tcp(seen).seq + 1) >>> 0,
  });
  w.add(
    ids.podEth0(backend.id),
    backend.node,
    {
      kind: 'socket',
      title: `${backend.name} answers: SYN-ACK ${backend.ip}:${tcp(seen).dstPort} → ${ip(seen).src}:${tcp(seen).srcPort}`,
      detail: `The backend saw the connection come from ${ip(seen).src}:${tcp(seen).srcPort} and answers it; it never saw the Service's address.`,
    },
    synAck,
    synAck,
  );
  const reply = leavePod(w, backend, synAck);
  if (reply.kind !== 'delivered') return { flow, seed, hops: w.hops, verdict: reply };
  const back = reply.packet;
  const ok = ip(back).src === res.ip && tcp(back).srcPort === res.port;
  return {
    flow,
    seed,
    hops: w.hops,
    verdict: {
      kind: 'delivered',
      to: backend.id,
      message: ok
        ? `Connected: ${backend.id} (${backend.ip}:${tcp(seen).dstPort}) answered, and the client saw the reply come from ${res.ip}:${res.port}, the address it dialled.`
        : `The reply reached the client from ${ip(back).src}:${tcp(back).srcPort}, not ${res.ip}:${res.port}: the client's TCP stack would reset it.`,
    },
    backend: { podId: backend.id, ip: backend.ip, port: tcp(seen).dstPort, node: backend.node },
  };
}

type Arrival = { kind: 'delivered'; pod: PodInfo; packet: Packet } | Exclude<Verdict, { kind: 'delivered' }>;

/** A frame leaves a pod's eth0: through the veth pair onto cni0, and up into the node's stack. */
function leavePod(w: Walk, pod: PodInfo, p: Packet): Arrival {
  const node = w.t.nodes.find((n) => n.name === pod.node)!;
  const cni0 = node.interfaces.find((i) => i.kind === 'bridge')!;
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
function nodeStack(w: Walk, node: NodeInfo, p0: Packet, inIface: string, switched = false): Arrival {
  const nf = ids.netfilter(node.name);
  const ct = w.ct(node.name);
  const found = ct.get(key(tupleOf(p0)));
  const ctstate: CtState = found ? 'ESTABLISHED' : 'NEW';
  const rules = w.rulesOf(node.name);

  // PREROUTING: the nat table runs only for a new connection.
  let p = p0;
  const pre = runHook(rules, 'PREROUTING', nfPacket(p, inIface), nfContext(w, node, ctstate, !!found?.entry.dnat), !found);
  if (pre.dnat) p = setAddresses(p, { dst: pre.dnat.ip, dport: pre.dnat.port });
  if (!found) {
    const entry: CtEntry = { orig: tupleOf(p0), reply: { src: ip(p).dst, sport: tcp(p).dstPort, dst: ip(p).src, dport: tcp(p).srcPort }, dnat: !!pre.dnat, snat: false };
    ct.set(key(entry.orig), { entry, reply: false });
    ct.set(key(entry.reply), { entry, reply: true });
  }
  const t0 = tupleOf(p0);
  w.add(
    nf,
    node.name,
    pre.dnat
      ? {
          kind: 'netfilter',
          title: `nat ${chainPath('PREROUTING', pre)} DNAT → ${pre.dnat.ip}:${pre.dnat.port}`,
          detail: `conntrack: a new connection (${t0.src}:${t0.sport} → ${t0.dst}:${t0.dport}), so the packet walks the nat table. kube-proxy's rules pick an endpoint (the statistic match draws with this trace's seed) and DNAT rewrites the destination to ${pre.dnat.ip}:${pre.dnat.port}. conntrack remembers the binding for every later packet and for the replies.`,
          rules: pre.steps,
          cite: CITE_NETFILTER,
        }
      : found
        ? {
            kind: 'conntrack',
            title: `conntrack: ${found.reply ? 'reply' : 'packet'} of a known connection — nat table skipped`,
            detail: `conntrack finds the entry ${key(found.entry.orig)} (state ESTABLISHED). Only a connection's first packet walks the nat table; this one follows the entry's bindings.`,
            rules: pre.steps,
            cite: CITE_NETFILTER,
          }
        : {
            kind: 'netfilter',
            title: 'nat PREROUTING: no kube-proxy rule matched',
            detail: `conntrack: a new connection on ${node.name} (${t0.src}:${t0.sport} → ${t0.dst}:${t0.dport}). It walks the nat table, but its destination is no Service address, so nothing is rewritten.`,
            rules: pre.steps,
            cite: CITE_NETFILTER,
          },
    p0,
    p,
  );
  if (pre.verdict !== 'ACCEPT') return { kind: pre.verdict === 'REJECT' ? 'rejected' : 'dropped', at: nf, message: `Dropped in PREROUTING on ${node.name}.` };

  // Routing decision.
  const locals = nodeLocalIPs(node);
  if (locals.has(ip(p).dst)) {
    return { kind: 'unreachable', at: nf, message: `${ip(p).dst} is ${node.name}'s own address: the packet goes to a local socket (INPUT). Node-local services are not modelled in this version.` };
  }
  const bridge = w.t.settings.cni.bridge;
  const route = switched ? { dst: node.podCIDR, dev: bridge, proto: 'kernel' as const } : lookupRoute(node.routes, ip(p).dst);
  if (!route) return { kind: 'unreachable', at: nf, message: `No route to ${ip(p).dst} on ${node.name}.` };
  if (!switched && pre.dnat && inIface === bridge && route.dev === bridge) {
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

  // FORWARD (filter) and POSTROUTING (nat).
  const fwdRes = runHook(rules, 'FORWARD', nfPacket(p, inIface, route.dev), nfContext(w, node, ctstate, !!found?.entry.dnat || !!pre.dnat), true);
  w.add(nf, node.name, { kind: 'netfilter', title: `filter FORWARD: ${fwdRes.verdict}${fwdRes.steps.some((s) => s.matched && /ACCEPT|REJECT|DROP/.test(s.effect)) ? ` (${fwdRes.steps.filter((s) => s.matched && /ACCEPT|REJECT|DROP/.test(s.effect)).map((s) => s.chain).join(', ')})` : ' (policy)'}`, detail: fwdRes.verdict === 'ACCEPT' ? `The filter table lets the forwarded packet through (${ctstate === 'NEW' ? "a new connection: KUBE-FORWARD, KUBE-SERVICES and KUBE-EXTERNAL-SERVICES have nothing against it, and the chain's policy is ACCEPT" : 'KUBE-FORWARD accepts packets of established connections'}). These are kube-proxy's rules only: flanneld also adds a FLANNEL-FWD chain accepting pod-network traffic, which podpath does not show yet.` : `The filter table ${fwdRes.verdict === 'REJECT' ? 'rejects the packet: the client gets an ICMP port-unreachable ("connection refused")' : 'drops the packet'}.`, rules: fwdRes.steps, cite: CITE_NETFILTER }, p, p);
  if (fwdRes.verdict !== 'ACCEPT') {
    const why = fwdRes.steps.filter((s) => s.matched).map((s) => s.text).pop() ?? '';
    return { kind: fwdRes.verdict === 'REJECT' ? 'rejected' : 'dropped', at: nf, message: `${fwdRes.verdict} in filter FORWARD on ${node.name}: ${why}` };
  }

  const post = runHook(rules, 'POSTROUTING', { ...nfPacket(p, inIface, route.dev), mark: fwdRes.packet.mark | pre.packet.mark }, nfContext(w, node, ctstate, false), !found);
  let out = p;
  let postTitle = `nat POSTROUTING: ${post.snat ? `MASQUERADE → ${post.snat.ip}` : found ? 'skipped (known connection)' : 'KUBE-POSTROUTING: no masquerade mark, RETURN'}`;
  let postDetail = found ? 'The nat table is not consulted again for a known connection.' : 'KUBE-POSTROUTING masquerades only packets kube-proxy marked with 0x4000 (KUBE-MARK-MASQ); this one is not marked, so its source address is kept.';
  if (post.snat) out = setAddresses(out, { src: post.snat.ip });
  if (found?.reply && found.entry.dnat) {
    // The reply of a DNATed connection: conntrack undoes the DNAT on the source (a SRC manip,
    // applied at POSTROUTING — nf_nat_ipv4_out / HOOK2MANIP).
    out = setAddresses(out, { src: found.entry.orig.dst, sport: found.entry.orig.dport });
    postTitle = `conntrack: reverse DNAT — source ${ip(p).src}:${tcp(p).srcPort} → ${found.entry.orig.dst}:${found.entry.orig.dport}`;
    postDetail = `This packet is the reply of a connection whose destination was DNATed on ${node.name}. conntrack rewrites its source back to the address the client dialled (${found.entry.orig.dst}:${found.entry.orig.dport}), so the client's socket accepts it.`;
  }
  w.add(nf, node.name, { kind: found?.reply && found.entry.dnat ? 'conntrack' : 'netfilter', title: postTitle, detail: postDetail, rules: post.steps, cite: CITE_NETFILTER }, p, out);
  p = out;

  // Out of the node.
  if (route.dev === bridge) return toLocalPod(w, node, p, switched);
  if (route.dev === w.t.settings.cni.device) return overVxlan(w, node, p, route.via!);
  return { kind: 'unreachable', at: ids.nodeIf(node.name, route.dev), message: `The packet leaves ${node.name} on ${route.dev} toward ${route.via ?? ip(p).dst}: outside the cluster, which this version does not model.` };
}

function toLocalPod(w: Walk, node: NodeInfo, p: Packet, switched: boolean): Arrival {
  const cni0 = node.interfaces.find((i) => i.kind === 'bridge')!;
  const pod = node.pods.find((x) => x.ip === ip(p).dst);
  if (!pod) return { kind: 'unreachable', at: cni0.id, message: `No pod on ${node.name} has ${ip(p).dst}: ARP on ${cni0.name} gets no answer (host unreachable).` };
  const framed = switched ? p : setEthernet(p, cni0.mac, pod.mac);
  w.add(cni0.id, node.name, { kind: 'bridge', title: `${cni0.name} → ${pod.hostVeth.name} (bridge forwarding)`, detail: switched ? `The bridge's forwarding table (learned MAC ${pod.mac}) sends the frame to port ${pod.hostVeth.name}.` : `The node sends the packet out of ${cni0.name} with the pod's MAC ${pod.mac} (from ARP); the bridge's forwarding table sends the frame to port ${pod.hostVeth.name}.` }, p, framed);
  w.add(pod.hostVeth.id, node.name, { kind: 'veth', title: `veth pair: ${pod.hostVeth.name} → pod eth0`, detail: `The frame crosses into ${pod.name}'s network namespace.` }, framed, framed);
  const port = tcp(framed).dstPort;
  const listening = pod.containers.some((c) => c.ports.some((cp) => cp.containerPort === port)) || pod.containers.every((c) => c.ports.length === 0);
  w.add(ids.podEth0(pod.id), node.name, { kind: 'deliver', title: `delivered to ${pod.name} ${ip(framed).dst}:${port}`, detail: w.direction === 'reply' ? `${pod.name}'s eth0 receives it; the kernel matches it to the socket that sent the SYN (port ${port}).` : listening ? `${pod.name}'s eth0 receives it; the process listening on port ${port} gets the segment.` : `${pod.name} declares no containerPort ${port}; if nothing listens there the kernel answers with a TCP RST. (containerPort is informational; podpath assumes the port is served.)` }, framed, framed);
  return { kind: 'delivered', pod, packet: framed };
}

function overVxlan(w: Walk, node: NodeInfo, p: Packet, via: string): Arrival {
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
      cite: CITE_FLANNEL,
    },
    p,
    outer,
  );
  // The outer datagram is sent by the node itself: OUTPUT then POSTROUTING, a new UDP flow.
  const outNf: NfPacket = { src: node.ip, dst: remote.ip, proto: 'udp', sport, dport: s.port, mark: 0, outIface: 'eth0' };
  const o1 = runHook(w.rulesOf(node.name), 'OUTPUT', outNf, nfContext(w, node, 'NEW', false), true);
  const o2 = runHook(w.rulesOf(node.name), 'POSTROUTING', o1.packet, nfContext(w, node, 'NEW', false), true);
  w.add(ids.nodeIf(node.name, 'eth0'), node.name, { kind: 'netfilter', title: `eth0 out: outer UDP passes OUTPUT and POSTROUTING (no rule acts), route ${remote.ip} dev eth0`, detail: `The encapsulated datagram is a locally generated packet of ${node.name}, so it walks OUTPUT and POSTROUTING; no kube-proxy rule matches node-to-node UDP ${s.port}. Route "${w.t.settings.nodeNetwork} dev eth0" sends it straight to ${remote.name}.`, rules: [...o1.steps, ...o2.steps], cite: CITE_NETFILTER }, outer, outer);
  w.add(ids.nodeNetwork(), undefined, { kind: 'wire', title: `node network ${w.t.settings.nodeNetwork}: ${node.name} → ${remote.name}`, detail: `On the wire only node addresses are visible: ${node.ip} → ${remote.ip}, UDP port ${s.port}. The pod addresses travel inside the VXLAN payload.` }, outer, outer);
  const inNf: NfPacket = { ...outNf, inIface: 'eth0', outIface: undefined };
  const i1 = runHook(w.rulesOf(remote.name), 'PREROUTING', inNf, nfContext(w, remote, 'NEW', false), true);
  const i2 = runHook(w.rulesOf(remote.name), 'INPUT', i1.packet, nfContext(w, remote, 'NEW', false), true);
  w.add(ids.nodeIf(remote.name, 'eth0'), remote.name, { kind: 'netfilter', title: `eth0 in: outer UDP to ${remote.ip}:${s.port} — PREROUTING, INPUT, local delivery to the VXLAN socket`, detail: `${remote.ip} is ${remote.name}'s own address, so the datagram is delivered locally (INPUT) to the UDP socket the vxlan driver listens on (port ${s.port}).`, rules: [...i1.steps, ...i2.steps], cite: CITE_NETFILTER }, outer, outer);
  const decap = vxlanDecap(outer);
  const rvtep = remote.interfaces.find((i) => i.kind === 'vtep')!;
  w.add(rvtep.id, remote.name, { kind: 'vxlan-decap', title: `${s.device}: VXLAN decapsulation (VNI ${s.vni}) — inner frame appears on ${rvtep.name}`, detail: `The vxlan driver checks the VNI, strips the 50 outer bytes, and the inner frame (for ${rvtep.name}'s MAC ${rvtep.mac}) arrives on ${remote.name}'s ${rvtep.name} as if received there.`, cite: CITE_FLANNEL }, outer, decap);
  return nodeStack(w, remote, decap, s.device);
}
