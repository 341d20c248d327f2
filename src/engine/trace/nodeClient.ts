// A node's own process as the client (a Flow "from: node-2"): the kernel picks the source address
// from the route, the locally generated SYN walks OUTPUT — where kube-proxy's nat rules DNAT a
// ClusterIP, since KUBE-SERVICES hangs off nat OUTPUT too — the routing table again, POSTROUTING,
// and leaves like any other packet. The answer comes back to the node's socket through INPUT.

import type { FlowSpec, NodeInfo, Packet } from '../types.ts';
import { ids } from '../ids.ts';
import { formatRoute } from '../dataplane/flannel.ts';
import { lookupRoute } from '../dataplane/routing.ts';
import { ip, setAddresses, tcp, tcpSegment } from '../packet/packet.ts';
import { parseIPv4 } from '../util/ipv4.ts';
import { CITE_SOCK, socketConnect } from './cilium.ts';
import { postroutingAndOut } from './nodeStack.ts';
import type { Start } from './trace.ts';
import { CITE_NETFILTER, chainPath, nfContext, nfPacket, tupleOf, type CtEntry, type Walk } from './walk.ts';

/**
 * The source address a local connect() gets: the route's "src", else the primary address of the
 * device it leaves through, else the node's first global address (inet_select_addr,
 * net/ipv4/devinet.c) — which is how a node talks to its pods from cni0's, flannel.1's, tunl0's
 * or cilium_host's address rather than from eth0's.
 */
function sourceFor(node: NodeInfo, dev: string, src?: string): string {
  if (src) return src;
  const own = node.interfaces.find((i) => i.name === dev)?.address;
  return (own ?? node.interfaces.find((i) => i.address)!.address!).split('/')[0]!;
}

export function fromNode(w: Walk, flow: FlowSpec, node: NodeInfo): Start {
  const t = w.t;
  w.nodeClient = node.name;
  const at = ids.nodeIf(node.name, 'eth0');
  const i = flow.to.lastIndexOf(':');
  const host = flow.to.slice(0, i);
  const port = Number(flow.to.slice(i + 1));
  if (parseIPv4(host) === undefined || !Number.isInteger(port)) {
    return { ok: false, verdict: { kind: 'unreachable', at, message: `A node's processes resolve names with the node's own /etc/resolv.conf, not the cluster DNS (${t.settings.dnsIP}): "${host}" does not resolve there. Give an address — a ClusterIP or a pod IP — and a port.` } };
  }
  const eth0 = node.interfaces.find((x) => x.name === 'eth0')!;
  const sport = w.rng.int(32768, 60999); // net.ipv4.ip_local_port_range default
  const lb = t.settings.cni.plugin === 'cilium' ? socketConnect(w, node.name, { ip: host, port }) : undefined;
  const dst = lb?.backend ?? { ip: host, port };
  const route0 = lookupRoute(node.routes, dst.ip);
  if (!route0) return { ok: false, verdict: { kind: 'unreachable', at, message: `No route to ${dst.ip} on ${node.name}.` } };
  const src = sourceFor(node, route0.dev, route0.src);
  const syn = tcpSegment({ srcMac: eth0.mac, dstMac: eth0.mac, src, dst: dst.ip, sport, dport: dst.port, flags: ['SYN'], seq: w.rng.int(0, 0xffffffff), ack: 0 });
  if (lb) {
    w.add(at, node.name, { kind: 'ebpf', title: lb.title, detail: lb.detail, cite: CITE_SOCK }, syn, syn);
    if (!lb.backend) return { ok: false, verdict: { kind: 'rejected', at, message: lb.detail } };
  }
  w.add(at, node.name, { kind: 'socket', title: `${node.name}: connect(${flow.to}) → SYN ${src}:${sport} → ${dst.ip}:${dst.port}`, detail: `A process on ${node.name} itself opens the connection. The route "${formatRoute(route0)}" decides the source address: ${route0.src ? 'the route names it' : `the address of ${route0.dev}`} — ${src}. The kernel picks source port ${sport} from net.ipv4.ip_local_port_range.`, cite: 'Linux net/ipv4/route.c (ip_route_connect), devinet.c (inet_select_addr)' }, syn, syn);

  // OUTPUT: the nat table runs for the connection's first packet, so a ClusterIP is DNATed here.
  const nf = ids.netfilter(node.name);
  const out = w.hook(node.name, 'OUTPUT', nfPacket(syn, 0, undefined, route0.dev), nfContext(w, node, 'NEW', false), true);
  let p: Packet = syn;
  const entry: CtEntry = { orig: tupleOf(syn), reply: { src: dst.ip, sport: dst.port, dst: src, dport: sport } };
  if (out.dnat) {
    p = setAddresses(syn, { dst: out.dnat.ip, dport: out.dnat.port });
    entry.dnat = { ip: out.dnat.ip, port: out.dnat.port };
    entry.reply = { src: out.dnat.ip, sport: out.dnat.port, dst: src, dport: sport };
  }
  w.ctAdd(node.name, entry);
  if (out.verdict !== 'ACCEPT') return { ok: false, verdict: { kind: out.verdict === 'REJECT' ? 'rejected' : 'dropped', at: nf, message: `${out.verdict} in OUTPUT on ${node.name}.` } };
  const route = lookupRoute(node.routes, ip(p).dst);
  if (!route) return { ok: false, verdict: { kind: 'unreachable', at: nf, message: `No route to ${ip(p).dst} on ${node.name}.` } };
  const mark = out.packet.mark;
  w.add(
    nf,
    node.name,
    out.dnat
      ? { kind: 'netfilter', title: `nat ${chainPath('OUTPUT', { ...out, steps: out.steps.filter((s) => s.table === 'nat') })} DNAT → ${out.dnat.ip}:${out.dnat.port}, rerouted: ${formatRoute(route)}`, detail: `A locally generated packet walks nat OUTPUT, where kube-proxy hooks KUBE-SERVICES as it does in PREROUTING: ${host}:${port} is a Service, an endpoint is drawn (this trace's seed) and DNAT rewrites the destination. The kernel routes the packet again for the new destination.${mark ? ` KUBE-MARK-MASQ set mark 0x${mark.toString(16)}: the source ${src} is not in the cluster CIDR kube-proxy was given, so it will be masqueraded in POSTROUTING.` : ''}`, rules: out.steps, cite: CITE_NETFILTER }
      : { kind: 'route', title: `OUTPUT: no rule rewrote it; route ${formatRoute(route)}`, detail: `The locally generated SYN passes nat and filter OUTPUT${lb ? ' (Cilium already translated the Service at connect())' : ''}; the routing table sends it toward ${ip(p).dst}.`, rules: out.steps, cite: CITE_NETFILTER },
    syn,
    p,
  );
  return { ok: true, arrival: postroutingAndOut(w, node, p, route, 'lo', mark, undefined, entry, false), dialled: lb?.backend ?? { ip: host, port }, ...(lb?.backend ? { service: { ip: host, port } } : {}) };
}

/** The answer of a connection the node opened reaches its socket: INPUT, and conntrack undoes the OUTPUT DNAT on the source. */
export function replyToNodeSocket(w: Walk, node: NodeInfo, p: Packet, entry: CtEntry, inIface: string): { kind: 'delivered'; to: { node: NodeInfo }; packet: Packet } {
  const nf = ids.netfilter(node.name);
  const input = w.hook(node.name, 'INPUT', nfPacket(p, 0, inIface), nfContext(w, node, 'ESTABLISHED', !!entry.dnat), false);
  const back = entry.dnat ? setAddresses(p, { src: entry.orig.dst, sport: entry.orig.dport }) : p;
  w.add(nf, node.name, { kind: entry.dnat ? 'conntrack' : 'route', title: `local delivery: ${ip(p).dst} is ${node.name}'s own address → INPUT${entry.dnat ? `; conntrack: reverse DNAT — source ${ip(p).src}:${tcp(p).srcPort} → ${entry.orig.dst}:${entry.orig.dport}` : ''}`, detail: `The answer is for a connection ${node.name} opened itself. It is delivered locally and walks INPUT${entry.dnat ? `; conntrack knows the connection was DNATed in OUTPUT and rewrites the reply's source back to the address the process dialled (a SRC manip at LOCAL_IN)` : ''}.`, rules: input.steps, cite: CITE_NETFILTER }, p, back);
  const eth0 = node.interfaces.find((x) => x.name === 'eth0')!;
  w.add(eth0.id, node.name, { kind: 'deliver', title: `delivered to ${node.name}'s socket ${ip(back).dst}:${tcp(back).dstPort}`, detail: `The process's socket gets the SYN-ACK from ${ip(back).src}:${tcp(back).srcPort}.` }, back, back);
  return { kind: 'delivered', to: { node }, packet: back };
}
