// The hop walker: follows a connection's first packet (TCP SYN) from its client to a backend pod
// and the backend's answer (SYN-ACK) back, naming at every hop the mechanism that acted. The
// client is a pod (to a Service name, ClusterIP or pod IP) or a host outside the cluster (to a
// NodePort, a load-balancer IP or an external IP).

import type { FlowSpec, NodeInfo, Packet, PodInfo, Topology, Trace, Verdict } from '../types.ts';
import { ids } from '../ids.ts';
import { inSubnet } from '../dataplane/routing.ts';
import { decrementTtl, ip, setEthernet, tcp, tcpSegment, tsValOf } from '../packet/packet.ts';
import { fnv1a32 } from '../util/hash.ts';
import { parseIPv4 } from '../util/ipv4.ts';
import { createPrng } from '../util/prng.ts';
import { fromNodeSocket, fromOutsideReply, gatewayMac, leavePod, nodeStack, type Arrival } from './nodeStack.ts';
import { resolveTarget } from './resolve.ts';
import { Walk } from './walk.ts';
import { CALI_MAC, CALICO_GATEWAY } from '../dataplane/calico.ts';
import { CITE_SOCK, routerIPOf, socketConnect } from './cilium.ts';
import { fromNode } from './nodeClient.ts';
import { CITE_ENVOY, gatewayFor, gatewayKind, gatewayRoute, meshExchange, meshOutbound } from './mesh.ts';
import { isTcpPort, type MeshRequest } from '../mesh/routing.ts';
import { isGatewayProxy, upstreamFailureBody } from '../mesh/tls.ts';

/** The default external client: an address from TEST-NET-2 (RFC 5737), outside every cluster range. */
export const DEFAULT_EXTERNAL_CLIENT = '198.51.100.7';

function findPod(t: Topology, id: string): PodInfo | undefined {
  for (const n of t.nodes) for (const p of n.pods) if (p.id === id) return p;
  return undefined;
}

export type Start = { ok: true; arrival: Arrival; dialled: { ip: string; port: number }; service?: { ip: string; port: number } } | { ok: false; verdict: Exclude<Verdict, { kind: 'delivered' }> };

export function traceFlow(t: Topology, flow: FlowSpec, seed: number): Trace {
  const w = new Walk(t, createPrng(seed));
  const clientNode = t.nodes.find((n) => n.name === flow.from);
  const start = flow.from === 'external' || flow.from.startsWith('external:') ? fromOutside(w, flow) : clientNode ? fromNode(w, flow, clientNode) : fromPod(w, flow);
  if (!start.ok) return { flow, seed, hops: w.hops, verdict: start.verdict };
  const request = start.arrival;
  if (request.kind !== 'delivered') return { flow, seed, hops: w.hops, verdict: request };
  if ('node' in request.to) return nodeAnswers(w, flow, seed, request.to.node, request.packet, start.dialled);
  if (!('pod' in request.to)) return outsideServerAnswers(w, flow, seed, request.packet, start.dialled);
  const backend = request.to.pod;

  // The backend answers: SYN-ACK back to the source it saw.
  w.direction = 'reply';
  const seen = request.packet;
  const bnode = t.nodes.find((n) => n.name === backend.node)!;
  const bcni0 = bnode.interfaces.find((i) => i.kind === 'bridge');
  // On a bridge, a peer in the same pod subnet is reached directly; anything else via the gateway
  // (cni0, or with Calico 169.254.1.1, answered by the host's veth: ee:ee:ee:ee:ee:ee).
  const peer = bcni0 && inSubnet(bnode.podCIDR, ip(seen).src) ? bnode.pods.find((x) => x.ip === ip(seen).src) : undefined;
  // Cilium: the BPF ARP responder answered the backend's ARP for its gateway with its lxc's MAC.
  const gwMac = bcni0?.mac ?? (t.settings.cni.plugin === 'cilium' ? backend.hostVeth.mac : CALI_MAC);
  const synAck = synAckFor(w, seen, { src: backend.mac, dst: peer ? peer.mac : gwMac }, t.settings.cni.mtu);
  w.add(
    ids.podEth0(backend.id),
    backend.node,
    {
      kind: 'socket',
      title: backend.sidecar ? `${backend.name}'s istio-proxy answers: SYN-ACK ${backend.ip}:${tcp(seen).dstPort} → ${ip(seen).src}:${tcp(seen).srcPort}` : `${backend.name} answers: SYN-ACK ${backend.ip}:${tcp(seen).dstPort} → ${ip(seen).src}:${tcp(seen).srcPort}`,
      detail: `The backend saw the connection come from ${ip(seen).src}:${tcp(seen).srcPort} and answers it; it never saw the Service's address.${w.externalClient && ip(seen).src !== w.externalClient ? ` The client's own address (${w.externalClient}) was masqueraded away on the way in.` : ''}`,
    },
    synAck,
    synAck,
  );
  const done = answered(w, flow, seed, leavePod(w, backend, synAck), start.dialled, backend.id, {
    connected: start.service
      ? `Connected: ${backend.id} (${backend.ip}:${tcp(seen).dstPort}) answered from ${start.dialled.ip}:${start.dialled.port} — the address Cilium's socket LB connected the socket to; getpeername() still reports ${start.service.ip}:${start.service.port}.`
      : `Connected: ${backend.id} (${backend.ip}:${tcp(seen).dstPort}) answered, and the client saw the reply come from ${start.dialled.ip}:${start.dialled.port}, the address it dialled.`,
    mismatch: (back) => `The reply reached the client from ${ip(back).src}:${tcp(back).srcPort}, not ${start.dialled.ip}:${start.dialled.port}: the client's TCP stack would reset it.`,
    backend: { podId: backend.id, ip: backend.ip, port: tcp(seen).dstPort, node: backend.node },
  });
  // Istio's ingress gateway: the client's connection ends at the gateway's Envoy, which routes the
  // request and opens its own connection to the chosen pod.
  if (done.verdict.kind === 'delivered' && !w.mesh && gatewayFor(w, backend)) return throughGateway(w, flow, seed, backend, seen, start.dialled);
  // Istio: on the connections now set up, the HTTP request travels through both sidecars.
  const client = w.mesh && findPod(t, flow.from);
  if (done.verdict.kind === 'delivered' && w.mesh && client) {
    // The client's sidecar sent it to a gateway (the egress gateway): that Envoy routes it on.
    if (gatewayFor(w, backend) || isGatewayProxy(t, backend)) return viaEgressGateway(w, flow, seed, client, backend, seen);
    const x = meshExchange(w, client, backend);
    if (!x.ok) return { flow, seed, hops: w.hops, verdict: { kind: 'rejected', at: ids.sidecar(client.id), message: x.message } };
    return { ...done, hops: w.hops, verdict: { ...done.verdict, message: x.message } };
  }
  return done;
}

/** The MAC a pod sends to for `dst`: the peer's on its own bridge, else its gateway's (cni0, Cilium's lxc, Calico's ee:ee:…). */
function nextHopMac(t: Topology, pod: PodInfo, dst: string): string {
  const node = t.nodes.find((n) => n.name === pod.node)!;
  const cni0 = node.interfaces.find((i) => i.kind === 'bridge');
  const peer = cni0 && inSubnet(node.podCIDR, dst) ? node.pods.find((x) => x.ip === dst) : undefined;
  return peer ? peer.mac : (cni0?.mac ?? (t.settings.cni.plugin === 'cilium' ? pod.hostVeth.mac : CALI_MAC));
}

/**
 * A client's sidecar routed the request to Istio's egress gateway: the request crosses to the
 * gateway's Envoy (mutual TLS, automatic), which routes it again by its Gateway servers and the
 * VirtualServices bound to them — to the ServiceEntry's host outside the cluster.
 */
function viaEgressGateway(w: Walk, flow: FlowSpec, seed: number, client: PodInfo, gw: PodInfo, seen: Packet): Trace {
  const m = w.mesh!;
  w.direction = 'request';
  if (!gatewayFor(w, gw)) {
    // A gateway Envoy builds listeners only for the servers of Gateways that select it (istiod's gateway.go).
    const body = upstreamFailureBody('remote connection failure, transport failure reason: delayed connect error: 111', true);
    w.add(ids.pod(gw.id), gw.node, { kind: 'envoy', title: `${gw.name}: no listener on port ${tcp(seen).dstPort} — connection refused`, detail: `No Gateway selects ${gw.name}'s labels, so istiod gives its Envoy no listener for port ${tcp(seen).dstPort}: the kernel refuses the connection (RST). The client's Envoy reports a connection failure (UF) and, after Istio's default retries, answers 503: "${body}".`, cite: CITE_ENVOY }, seen, seen);
    return { flow, seed, hops: w.hops, verdict: { kind: 'rejected', at: ids.sidecar(client.id), message: `HTTP 503 (UF) from ${client.name}'s sidecar: ${body}. ${gw.name} is an Istio gateway no Gateway object configures.` } };
  }
  w.add(ids.sidecar(client.id), client.node, { kind: 'envoy', title: `istio-proxy (${client.name}) → ${gw.name}: the request${m.tls.mode === 'DISABLE' ? ', in plain text' : ', inside mutual TLS'}`, detail: `The client's Envoy sends ${m.request.method} ${m.request.host}${m.request.path} on to the ${gatewayKind(gw)} gateway's Envoy, as its route said (${m.decision.cluster}). ${m.tls.why}`, cite: CITE_ENVOY }, m.appPacket, m.appPacket);
  return throughGateway(w, flow, seed, gw, seen, { ip: ip(seen).dst, port: tcp(seen).dstPort }, { ...m.request, port: tcp(seen).dstPort });
}

function throughGateway(w: Walk, flow: FlowSpec, seed: number, gw: PodInfo, seen: Packet, dialled: { ip: string; port: number }, request?: MeshRequest): Trace {
  const t = w.t;
  w.direction = 'request';
  const headers = flow.http?.headers ?? {};
  const http = request ?? { host: headers.host ?? dialled.ip, port: tcp(seen).dstPort, method: flow.http?.method ?? 'GET', path: flow.http?.path ?? '/', headers };
  const g = gatewayRoute(w, gw, seen, http, (to) => nextHopMac(t, gw, to));
  if ('verdict' in g) return { flow, seed, hops: w.hops, verdict: g.verdict };
  const a = leavePod(w, gw, g.packet);
  if (a.kind !== 'delivered') return { flow, seed, hops: w.hops, verdict: a };
  if (!('pod' in a.to)) return { flow, seed, hops: w.hops, verdict: { kind: 'delivered', to: ids.external(), message: `The ${gatewayKind(gw)} gateway ${gw.name} routed ${http.method} ${http.host}${http.path} to ${w.mesh?.decision.cluster ?? 'its cluster'} and opened its own connection, out of the cluster, to ${ip(a.packet).dst}:${tcp(a.packet).dstPort} (seen there from ${ip(a.packet).src}).` } };
  const server = a.to.pod;
  w.direction = 'reply';
  const synAck = synAckFor(w, a.packet, { src: server.mac, dst: nextHopMac(t, server, gw.ip) }, t.settings.cni.mtu);
  w.add(ids.podEth0(server.id), server.node, { kind: 'socket', title: `${server.name}${server.sidecar ? "'s istio-proxy" : ''} answers the gateway: SYN-ACK ${ip(synAck).src}:${tcp(synAck).srcPort} → ${ip(synAck).dst}:${tcp(synAck).dstPort}`, detail: 'The pod answers the gateway, which opened this second connection.' }, synAck, synAck);
  const back = leavePod(w, server, synAck);
  if (back.kind !== 'delivered') return { flow, seed, hops: w.hops, verdict: back };
  const x = meshExchange(w, gw, server, ids.pod(gw.id));
  if (!x.ok) return { flow, seed, hops: w.hops, verdict: { kind: 'rejected', at: ids.pod(gw.id), message: x.message.replace(/^HTTP 503 \((\w+)\) from [^:]+:/, `HTTP 503 ($1) from the ${gatewayKind(gw)} gateway ${gw.name}:`) } };
  return { flow, seed, hops: w.hops, verdict: { kind: 'delivered', to: server.id, message: `${x.message.replace(/^HTTP 200: [^ ]+'s sidecar/, `HTTP 200: the ${gatewayKind(gw)} gateway ${gw.name}`)} The client's connection ended at the gateway; the gateway opened its own to the pod.` }, backend: { podId: server.id, ip: server.ip, port: tcp(a.packet).dstPort, node: server.node } };
}

/** The SYN-ACK answering `seen`, as the answering host's TCP stack sends it. */
function synAckFor(w: Walk, seen: Packet, macs: { src: string; dst: string }, mtu?: number): Packet {
  return tcpSegment({ srcMac: macs.src, dstMac: macs.dst, src: ip(seen).dst, dst: ip(seen).src, sport: tcp(seen).dstPort, dport: tcp(seen).srcPort, flags: ['SYN', 'ACK'], seq: w.rng.int(0, 0xffffffff), ack: (tcp(seen).seq + 1) >>> 0, mtu, tsEcr: tsValOf(seen) });
}

/** How a flow ends once the answer came back: connected when the client saw the address it dialled. */
function answered(w: Walk, flow: FlowSpec, seed: number, reply: Arrival, dialled: { ip: string; port: number }, to: string, o: { connected: string; mismatch: (back: Packet) => string; backend?: Trace['backend'] }): Trace {
  if (reply.kind !== 'delivered') return { flow, seed, hops: w.hops, verdict: reply };
  const back = reply.packet;
  const ok = ip(back).src === dialled.ip && tcp(back).srcPort === dialled.port;
  return { flow, seed, hops: w.hops, verdict: { kind: 'delivered', to, message: ok ? o.connected : o.mismatch(back) }, ...(o.backend ? { backend: o.backend } : {}) };
}

/** A node's own process (the kubelet, say) answers a pod's SYN. */
function nodeAnswers(w: Walk, flow: FlowSpec, seed: number, node: NodeInfo, seen: Packet, dialled: { ip: string; port: number }): Trace {
  w.direction = 'reply';
  const eth0 = node.interfaces.find((i) => i.name === 'eth0')!;
  const synAck = synAckFor(w, seen, { src: eth0.mac, dst: eth0.mac });
  return answered(w, flow, seed, fromNodeSocket(w, node, synAck), dialled, ids.node(node.name), {
    connected: `Connected to ${node.name} (${dialled.ip}:${dialled.port}); it saw ${ip(seen).src}:${tcp(seen).srcPort}, and the reply reached the pod.`,
    mismatch: (back) => `The reply reached the pod from ${ip(back).src}:${tcp(back).srcPort}, not ${dialled.ip}:${dialled.port}.`,
  });
}

/** A server outside the cluster answers a pod's SYN; the reply comes back through the node that masqueraded it. */
function outsideServerAnswers(w: Walk, flow: FlowSpec, seed: number, seen: Packet, dialled: { ip: string; port: number }): Trace {
  w.direction = 'reply';
  const synAck = synAckFor(w, seen, { src: gatewayMac, dst: gatewayMac });
  w.add(ids.external(), undefined, { kind: 'socket', title: `the server answers: SYN-ACK ${ip(seen).dst}:${tcp(seen).dstPort} → ${ip(seen).src}:${tcp(seen).srcPort}`, detail: `The server answers the address it saw. It never learns the pod's address${inSubnet(w.t.settings.podCIDR, ip(seen).src) ? ' — here it did see one, which it cannot reach' : ''}.` }, synAck, synAck);
  return answered(w, flow, seed, fromOutsideReply(w, synAck), dialled, ids.external(), {
    connected: `Connected to ${dialled.ip}:${dialled.port} outside the cluster; the server saw ${ip(seen).src}:${tcp(seen).srcPort}, and conntrack gave the reply back to the pod.`,
    mismatch: (back) => `The reply reached the pod from ${ip(back).src}:${tcp(back).srcPort}, not ${dialled.ip}:${dialled.port}.`,
  });
}

/** A pod connects: DNS, the SYN on its eth0, out through its veth. */
function fromPod(w: Walk, flow: FlowSpec): Start {
  const t = w.t;
  const client = findPod(t, flow.from);
  if (!client) return { ok: false, verdict: { kind: 'unreachable', at: ids.pod(flow.from), message: `There is no pod ${flow.from}.` } };
  const node = t.nodes.find((n) => n.name === client.node)!;
  const res = resolveTarget(t, client, flow.to);
  const cni0 = node.interfaces.find((i) => i.kind === 'bridge');
  const sport = w.rng.int(32768, 60999); // net.ipv4.ip_local_port_range default
  // Cilium with socket LB: connect() itself is translated to a backend (trace/cilium.ts).
  const lb = res.ok && t.settings.cni.plugin === 'cilium' ? socketConnect(w, client.node, { ip: res.ip, port: res.port }) : undefined;
  const dst = lb?.backend ? lb.backend.ip : res.ok ? res.ip : '0.0.0.0';
  const dport = lb?.backend ? lb.backend.port : res.ok ? res.port : 0;
  // Same pod subnet on a bridge: straight to the peer's MAC; anything else via the gateway.
  const peer = cni0 && inSubnet(node.podCIDR, dst) ? node.pods.find((x) => x.ip === dst) : undefined;
  const cilium = t.settings.cni.plugin === 'cilium';
  const gateway = cni0 ? `The pod's route "default via ${cni0.address!.split('/')[0]} dev eth0" sends the SYN to cni0; ARP gives cni0's MAC ${cni0.mac}.` : cilium ? `The pod's route "default via ${routerIPOf(node)} dev eth0" sends the SYN to the router IP (cilium_host's); the BPF ARP responder on ${client.hostVeth.name} answered the pod's ARP with ${client.hostVeth.mac}, the lxc's own MAC.` : `The pod's route "default via ${CALICO_GATEWAY} dev eth0" sends the SYN to the gateway; the host's end of the veth answers ARP for it by proxy with ${CALI_MAC}.`;
  const syn = tcpSegment({ srcMac: client.mac, dstMac: peer ? peer.mac : (cni0?.mac ?? (cilium ? client.hostVeth.mac : CALI_MAC)), src: client.ip, dst, sport, dport, flags: ['SYN'], seq: w.rng.int(0, 0xffffffff), ack: 0, mtu: t.settings.cni.mtu });
  if (!res.ok) {
    w.add(ids.podEth0(client.id), node.name, { kind: 'dns', title: `DNS lookup of ${flow.to} failed`, detail: res.detail, cite: 'kubelet pkg/kubelet/network/dns/dns.go' }, syn, syn);
    return { ok: false, verdict: { kind: 'unreachable', at: ids.podEth0(client.id), message: res.detail } };
  }
  if (lb) {
    w.add(ids.podEth0(client.id), node.name, { kind: 'ebpf', title: lb.title, detail: lb.detail, cite: CITE_SOCK }, syn, syn);
    if (!lb.backend) return { ok: false, verdict: { kind: 'rejected', at: ids.podEth0(client.id), message: lb.detail } };
  }
  w.add(
    ids.podEth0(client.id),
    node.name,
    {
      kind: 'socket',
      title: `connect(${flow.to}) → SYN ${client.ip}:${sport} → ${dst}:${dport}`,
      detail: `${res.detail} The kernel picks source port ${sport} from net.ipv4.ip_local_port_range. ${peer ? `${res.ip} is in the pod's own subnet, so the SYN goes straight to ${peer.name}'s MAC.` : gateway}`,
      cite: cni0 ? 'kubelet pkg/kubelet/network/dns/dns.go; containernetworking/plugins bridge (isGateway)' : cilium ? 'kubelet pkg/kubelet/network/dns/dns.go; cilium/cilium pkg/datapath/connector/ipam.go, bpf/bpf_lxc.c (tail_handle_arp)' : 'kubelet pkg/kubelet/network/dns/dns.go; projectcalico/calico cni-plugin (169.254.1.1 gateway)',
    },
    syn,
    syn,
  );
  if (client.sidecar) {
    // Istio: the pod's capture rules hand the connection to its Envoy, which connects upstream itself.
    const host = flow.to.slice(0, flow.to.lastIndexOf(':'));
    const http = { host, port: res.port, method: flow.http?.method ?? 'GET', path: flow.http?.path ?? '/', headers: flow.http?.headers ?? {}, ...(isTcpPort(t, host, res.port, client.namespace) ? { tcp: true } : {}) };
    const macFor = (to: string) => (cni0 && inSubnet(node.podCIDR, to) ? (node.pods.find((x) => x.ip === to)?.mac ?? cni0.mac) : (cni0?.mac ?? (cilium ? client.hostVeth.mac : CALI_MAC)));
    const m = meshOutbound(w, client, node, syn, http, macFor);
    if ('verdict' in m) return { ok: false, verdict: m.verdict };
    if (m.packet !== syn) return { ok: true, arrival: leavePod(w, client, m.packet), dialled: { ip: ip(m.packet).dst, port: tcp(m.packet).dstPort } };
  }
  // With socket LB the socket is connected to the backend itself: its replies come from there.
  return { ok: true, arrival: leavePod(w, client, syn), dialled: lb?.backend ?? { ip: res.ip, port: res.port }, ...(lb?.backend ? { service: { ip: res.ip, port: res.port } } : {}) };
}

/**
 * A client outside the cluster connects to a node's address (a NodePort), a load-balancer IP or
 * an external IP. Its packet reaches the node network through the router, then one node's eth0.
 */
function fromOutside(w: Walk, flow: FlowSpec): Start {
  const t = w.t;
  const clientIP = flow.from.startsWith('external:') ? flow.from.slice('external:'.length) : DEFAULT_EXTERNAL_CLIENT;
  w.externalClient = clientIP;
  const at = ids.external();
  const i = flow.to.lastIndexOf(':');
  const host = flow.to.slice(0, i);
  const port = Number(flow.to.slice(i + 1));
  const byName = t.nodes.find((n) => n.name === host);
  const dstIP = byName ? byName.ip : host;
  const fail = (message: string): Start => ({ ok: false, verdict: { kind: 'unreachable', at, message } });
  if (parseIPv4(clientIP) === undefined) return fail(`"${clientIP}" is not an IPv4 address.`);
  if (parseIPv4(dstIP) === undefined || !Number.isInteger(port)) return fail(`From outside the cluster, "to" must be <node name or IP>:<port> (cluster DNS names do not resolve there); found "${flow.to}".`);
  const ingress = ingressNode(t, dstIP);
  if (!ingress.node) return fail(ingress.why);
  const node = ingress.node;
  const eth0 = node.interfaces.find((x) => x.name === 'eth0')!;
  const sport = w.rng.int(32768, 60999);
  const syn = tcpSegment({ srcMac: '02:00:00:00:00:01', dstMac: gatewayMac, src: clientIP, dst: dstIP, sport, dport: port, flags: ['SYN'], seq: w.rng.int(0, 0xffffffff), ack: 0 });
  w.add(at, undefined, { kind: 'socket', title: `client ${clientIP} connects to ${dstIP}:${port} → SYN`, detail: `A host outside the cluster opens a TCP connection to ${dstIP}:${port}. ${ingress.why}` }, syn, syn);
  const routed = decrementTtl(setEthernet(syn, gatewayMac, eth0.mac));
  w.add(ids.nodeNetwork(), undefined, { kind: 'wire', title: `router: ${dstIP} → ${node.name} (${eth0.mac})`, detail: `The node network's router forwards the packet to ${node.name}'s eth0 (its MAC from ARP) and decrements the TTL.` }, syn, routed);
  w.add(eth0.id, node.name, { kind: 'route', title: `${node.name} eth0: packet for ${dstIP}:${port} arrives`, detail: `${node.name} receives the packet on eth0; netfilter decides what happens to it next.` }, routed, routed);
  return { ok: true, arrival: nodeStack(w, node, routed, 'eth0'), dialled: { ip: dstIP, port } };
}

/** Which node receives traffic for an address from outside, and why. */
function ingressNode(t: Topology, dst: string): { node?: NodeInfo; why: string } {
  const own = t.nodes.find((n) => n.ip === dst);
  if (own) return { node: own, why: `${dst} is ${own.name}'s InternalIP: the packet goes straight to it (a NodePort is open on every node).` };
  const schedulable = t.nodes.filter((n) => !n.taints.some((x) => x.endsWith(':NoSchedule')));
  const pick = (key: string) => schedulable[fnv1a32(key) % Math.max(1, schedulable.length)] ?? t.nodes[0];
  const lb = t.services.find((s) => s.loadBalancerIPs.includes(dst));
  if (lb) return { node: pick(dst), why: `${dst} is the load-balancer IP of Service ${lb.id}. podpath's simulated load balancer announces it from one node (like MetalLB in L2 mode), so packets for it arrive there.` };
  const ext = t.services.find((s) => s.externalIPs.includes(dst));
  if (ext) return { node: pick(dst), why: `${dst} is an external IP of Service ${ext.id}; the network routes it to a node (here: one node, chosen by hash).` };
  const svc = t.services.find((s) => s.clusterIP === dst);
  if (svc) return { why: `${dst} is the ClusterIP of ${svc.id}: the service network is not routed outside the cluster, so the router has no way to it. Use a NodePort, a LoadBalancer or an external IP.` };
  return { why: `No node, load-balancer IP or external IP has the address ${dst}.` };
}

