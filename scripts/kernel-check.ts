// The Linux kernel as the judge (run as root; `npm run test:kernel`, part of `npm test`).
// 1. Load: every ruleset the engine writes for the built-in scenario is loaded for real with
//    iptables-nft-restore into a private network namespace and read back, rule count for rule count.
//    So is every ruleset written for the IPv4 kube-proxy conformance cases, and every nftables-mode
//    ruleset (nft -f) written for the kube-proxy-nftables cases.
// 2. Differential: the ingress node is rebuilt in namespaces (cni0 with the node's pods behind
//    veths, flannel.1 as a VXLAN device with flanneld's routes, neighbours and FDB, eth0 on a
//    wire to a namespace standing for the router), the engine's rules are loaded, the client opens
//    real TCP connections (a pod to a ClusterIP; a host outside to a NodePort), and then
//      - the NAT conntrack recorded (DNAT destination, and the masquerade address) must be exactly
//        what the engine's trace gives over its seeds, and
//      - the rules the kernel counted (iptables-save -c) or traced (nft monitor trace, nftables
//        mode) must be exactly the rules the engine's walker says matched on that node, rule by
//        rule (table, chain, position), including the OUTPUT/POSTROUTING walk of the
//        VXLAN-encapsulated packet the node sends itself.
// 3. Conformance flows: every flow of the kube-proxy and kube-proxy-nftables cases is sent for real
//    through the engine's ruleset for that case, and the kernel's outcome must be the expected one
//    (scripts/kernelTracer.ts).
// 4. Istio: every istio-iptables conformance case's capture rules are loaded as istio-iptables
//    loads them, iptables-save must hold the engine's chains in order, and every flow is sent for
//    real and judged by conntrack and the rule counters against the engine's walker
//    (scripts/kernelIstio.ts).
// Only namespaces this script creates carry traffic; all are deleted on exit.
// PODPATH_KERNEL_SECTIONS=load,differential,flows,istio picks sections (default: all).
import { execFileSync, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodePacket, loadSnapshot, traceFlow, type FlowSpec, type IPv4Header, type Packet, type PodInfo, type Trace } from '../src/engine/index.ts';
import { join } from 'node:path';
import { iptablesSave, nftablesSave, renderRuleset } from '../src/engine/dataplane/iptablesSave.ts';
import { defaultRoot, findCases, kubeProxyCaseRuleset, nftCaseRules, runCase } from '../src/cli/conformanceRunner.ts';
import { kernelTracers } from './kernelTracer.ts';
import { kernelIstio } from './kernelIstio.ts';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { nftLoadOrder } from '../src/engine/dataplane/kubeProxyNftables.ts';
import { defaultScenario } from '../src/scenarios/default.ts';
import { nodePortScenario } from '../src/scenarios/nodePort.ts';
import { withCni } from '../src/scenarios/cniDocs.ts';
import { gatewayMac } from '../src/engine/trace/nodeStack.ts';

const tag = `pp${process.pid}`;
const created: string[] = [];
const sh = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const inNs = (ns: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, ...args]);
const inNsInput = (ns: string, input: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, ...args], input);
const newNs = (name: string) => {
  sh('ip', ['netns', 'add', name]);
  created.push(name);
  inNs(name, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
  inNs(name, 'ip', 'link', 'set', 'lo', 'up');
};
const cleanup = () => {
  for (const ns of created.splice(0)) {
    try {
      sh('ip', ['netns', 'del', ns]);
    } catch {
      /* already gone */
    }
  }
};
process.on('exit', cleanup);
const capDir = mkdtempSync(join(tmpdir(), 'pp-capture-'));
process.on('exit', () => rmSync(capDir, { recursive: true, force: true }));

let failures = 0;
let skipped = 0;
const fail = (msg: string) => {
  failures++;
  console.log(`FAIL ${msg}`);
};

const snap = loadSnapshot(defaultScenario, 1);
const t = snap.topology;

const sections = new Set((process.env.PODPATH_KERNEL_SECTIONS ?? 'load,differential,flows,istio').split(','));

// 1. Every node's ruleset loads.
if (sections.has('load')) {
  for (const node of t.nodes) {
    const ns = `${tag}-load`;
    newNs(ns);
    for (const c of ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts']) inNs(ns, 'nfacct', 'add', c); // kube-proxy creates its counters first
    const rules = iptablesSave(t, node.name);
    inNsInput(ns, rules, 'iptables-nft-restore');
    const wrote = rules.split('\n').filter((l) => l.startsWith('-A ')).length;
    const held = inNs(ns, 'iptables-nft-save').split('\n').filter((l) => l.startsWith('-A ')).length;
    if (wrote !== held) fail(`${node.name}: wrote ${wrote} rules, the kernel holds ${held}`);
    else console.log(`ok   load ${node.name}: the kernel accepted all ${wrote} rules`);
    cleanup();
  }

  // 1a. The same nodes in nftables mode: nft -f accepts each node's `table ip kube-proxy`.
  for (const node of t.nodes) {
    const ns = `${tag}-load`;
    newNs(ns);
    const text = nftablesSave(t, node.name);
    try {
      inNsInput(ns, text, 'nft', '-f', '-');
      console.log(`ok   load ${node.name} (nftables mode): nft accepted the ruleset`);
    } catch (e) {
      fail(`${node.name} (nftables mode): nft -f refused the ruleset: ${(e as { stderr?: string }).stderr ?? e}`);
    }
    cleanup();
  }

  // 1b. So does every ruleset the engine writes for the kube-proxy conformance cases.
  for (const dir of findCases(join(defaultRoot, 'kube-proxy'))) {
    const rs = kubeProxyCaseRuleset(dir);
    if (!rs) continue;
    const ns = `${tag}-load`;
    newNs(ns);
    for (const c of ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts']) inNs(ns, 'nfacct', 'add', c);
    const rules = renderRuleset(rs, { builtins: true });
    const name = dir.slice(defaultRoot.length + 1);
    try {
      inNsInput(ns, rules, 'iptables-nft-restore');
      const wrote = rules.split('\n').filter((l) => l.startsWith('-A ')).length;
      const held = inNs(ns, 'iptables-nft-save').split('\n').filter((l) => l.startsWith('-A ')).length;
      if (wrote !== held) fail(`${name}: wrote ${wrote} rules, the kernel holds ${held}`);
      else console.log(`ok   load conformance/${name}: the kernel accepted all ${wrote} rules`);
    } catch (e) {
      fail(`${name}: iptables-nft-restore refused the ruleset: ${(e as { stderr?: string }).stderr ?? e}`);
    }
    cleanup();
  }

  // 1c. And every nftables ruleset written for the kube-proxy-nftables cases (nft -f, in a loadable order).
  for (const dir of findCases(join(defaultRoot, 'kube-proxy-nftables'))) {
    const lines = nftCaseRules(dir);
    if (!lines) continue;
    const name = dir.slice(defaultRoot.length + 1);
    const ns = `${tag}-load`;
    newNs(ns);
    try {
      inNsInput(ns, nftLoadOrder(lines), 'nft', '-f', '-');
      const held = inNs(ns, 'nft', 'list', 'table', 'ip', 'kube-proxy').split('\n').filter((l) => /^\s+chain /.test(l)).length;
      const wrote = lines.filter((l) => l.startsWith('add chain ')).length;
      if (held !== wrote) fail(`${name}: wrote ${wrote} chains, the kernel holds ${held}`);
      else console.log(`ok   load conformance/${name}: nft accepted the ruleset (${wrote} chains)`);
    } catch (e) {
      fail(`${name}: nft -f refused the ruleset: ${(e as { stderr?: string }).stderr ?? e}`);
    }
    cleanup();
  }

}

// 2. Differential traces. The ingress node is rebuilt in namespaces: cni0 with the node's pods
//    behind veths (nothing listens in them, so they answer SYNs with RST), flannel.1 as a VXLAN
//    device with flanneld's routes, neighbour and FDB entries, and eth0 on the node network.
//    br_netfilter is built into this kernel with bridge-nf-call-iptables on, as kubeadm requires.
//    The remote nodes are not built: what flannel.1 encapsulates for them goes nowhere.
interface Differential {
  label: string;
  text: string;
  flow: FlowSpec;
  /** kube-proxy's mode: iptables rules counted by iptables-save -c, or nftables rules seen by nft monitor trace. */
  mode?: 'iptables' | 'nftables';
}

async function differential({ label, text: text0, flow, mode = 'iptables' }: Differential) {
  const text = mode === 'nftables' ? `${text0}---\napiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: nftables\n` : text0;
  const snap = loadSnapshot(text, 1);
  const t = snap.topology;
  const external = flow.from.startsWith('external');
  const clientPod = external ? undefined : t.nodes.flatMap((n) => n.pods).find((p) => p.id === flow.from)!;
  const SEEDS = 40;
  const traces = Array.from({ length: SEEDS }, (_, s) => traceFlow(t, flow, s));
  if (traces.some((tr) => tr.verdict.kind !== 'delivered')) return fail(`${label}: the engine's trace was not delivered: ${traces[0]!.verdict.message}`);
  const node = t.nodes.find((n) => n.name === (external ? traces[0]!.hops.find((h) => h.at.startsWith('nf:'))!.node : clientPod!.node))!;
  // What the engine says happened to the first packet on this node: DNAT, then SNAT (if any).
  const engineNat = new Set<string>();
  const engineHits = new Set<string>();
  for (const tr of traces) {
    const nat = tr.hops.filter((h) => h.node === node.name && h.direction === 'request' && h.at === `nf:${node.name}`);
    const snat = nat.map((h) => /MASQUERADE — source \S+ → (\S+):\d+/i.exec(h.mechanism.title)?.[1]).find(Boolean);
    // A backend pod, or for a server outside the cluster the address dialled (no DNAT).
    const to = tr.backend ? `${tr.backend.ip}:${tr.backend.port}` : /→ (\S+)$/.exec(tr.hops[0]!.mechanism.title)![1]!;
    engineNat.add(`${to}${snat ? ` masquerade ${snat}` : ''}`);
    for (const h of tr.hops) {
      // This node's netfilter in both directions, and its eth0 for what it sends itself.
      // (No server answers outside the test's cluster: for such a flow only the request counts.)
      const mine = h.node === node.name && !(tr.backend === undefined && h.direction === 'reply') && (h.at === `nf:${node.name}` || (h.at === `if:${node.name}:eth0` && h.mechanism.title.startsWith('eth0 out')));
      if (mine) for (const r of h.mechanism.rules ?? []) if (r.matched) engineHits.add(`${r.table} ${r.chain} #${r.ruleNumber}`);
    }
  }

  const nodeNs = `${tag}-node`;
  const clientNs = `${tag}-client`;
  newNs(nodeNs);
  newNs(clientNs);
  // eth0 first, as on a real node: device order decides which address MASQUERADE picks for an
  // out device without one (inet_select_addr). The namespace behind eth0 stands for the router
  // (and, for a flow from outside, for the client beyond it).
  const wireNs = external ? clientNs : `${tag}-wire`;
  if (!external) newNs(wireNs);
  inNs(nodeNs, 'ip', 'link', 'add', 'eth0', 'address', node.interfaces.find((i) => i.name === 'eth0')!.mac, 'type', 'veth', 'peer', 'name', 'wire', 'netns', wireNs);
  const cni = t.settings.cni;
  const calico = cni.plugin === 'calico';
  const cni0 = node.interfaces.find((i) => i.kind === 'bridge');
  // The pods' gateway: cni0's address (flannel), or Calico's link-local 169.254.1.1.
  const gw = cni0 ? cni0.address!.split('/')[0]! : '169.254.1.1';
  inNs(nodeNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
  // No IGMP reports for link-local groups (the bridge's own joins): they are the node's own
  // packets, would walk OUTPUT during the counting window, and have nothing to do with the flow.
  inNs(nodeNs, 'sysctl', '-qw', 'net.ipv4.igmp_link_local_mcast_reports=0');
  if (cni0) {
    inNs(nodeNs, 'ip', 'link', 'add', 'cni0', 'address', cni0.mac, 'type', 'bridge');
    inNs(nodeNs, 'ip', 'addr', 'add', cni0.address!, 'dev', 'cni0');
    inNs(nodeNs, 'ip', 'link', 'set', 'cni0', 'up');
  }
  const tunnel = node.interfaces.find((i) => i.kind === 'vtep' || i.kind === 'ipip');
  if (tunnel?.kind === 'vtep') {
    // flannel.1 / vxlan.calico: a VXLAN device with the VNI, port, MAC and MTU the CNI gives it.
    inNs(nodeNs, 'ip', 'link', 'add', tunnel.name, 'address', tunnel.mac, 'mtu', String(cni.mtu), 'type', 'vxlan', 'id', String(cni.vni), 'dstport', String(cni.port), 'nolearning');
  } else if (tunnel?.kind === 'ipip') {
    // tunl0: the kernel's IPIP fallback device; where the kernel creates none (here:
    // net.core.fb_tunnels_only_for_init_net), Felix adds it itself — an ipip link without
    // endpoints, ttl inherit, no PMTU discovery (felix/dataplane/linux/ipip_mgr.go).
    try {
      inNs(nodeNs, 'ip', 'link', 'show', 'tunl0');
    } catch {
      try {
        inNs(nodeNs, 'ip', 'link', 'add', 'tunl0', 'type', 'ipip', 'nopmtudisc');
      } catch {
        // This machine's kernel has no IPIP (nor GRE / Geneve) built in: "Unknown device type".
        console.log(`SKIP ${label}: this kernel has no IP-in-IP ("ip link add … type ipip": Unknown device type); IPIP frames are checked by tshark only`);
        skipped++;
        return cleanup();
      }
    }
    inNs(nodeNs, 'ip', 'link', 'set', 'tunl0', 'mtu', String(cni.mtu));
  }
  if (tunnel) {
    inNs(nodeNs, 'ip', 'addr', 'add', tunnel.address!, 'dev', tunnel.name);
    inNs(nodeNs, 'ip', 'link', 'set', tunnel.name, 'up');
  }
  // The CNI's routes (remote pod subnets / blocks, the blackhole), neighbours and FDB; the pods'
  // own /32 routes come with their veths below.
  for (const r of node.routes) {
    if (r.dst === 'default' || r.proto === 'kernel' || r.dev.startsWith('cali')) continue;
    if (r.type === 'blackhole') inNs(nodeNs, 'ip', 'route', 'add', 'blackhole', r.dst);
    else if (r.dev !== 'eth0') inNs(nodeNs, 'ip', 'route', 'add', r.dst, 'via', r.via!, 'dev', r.dev, ...(r.onlink ? ['onlink'] : []));
  }
  for (const n of node.neighbours.filter((x) => x.dev === tunnel?.name)) inNs(nodeNs, 'ip', 'neigh', 'add', n.ip, 'lladdr', n.mac, 'dev', n.dev, 'nud', 'permanent');
  for (const f of node.fdb) inNs(nodeNs, 'bridge', 'fdb', 'append', f.mac, 'dev', f.dev, 'dst', f.dst);
  /** A pod's veth: on cni0 (flannel), or routed with proxy ARP and a /32 route (Calico). */
  const attachPod = (ns: string, pod: PodInfo, hostName: string) => {
    inNs(nodeNs, 'ip', 'link', 'add', hostName, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    inNs(ns, 'ip', 'link', 'set', 'eth0', 'address', pod.mac, 'mtu', String(cni.mtu));
    if (calico) {
      inNs(nodeNs, 'ip', 'link', 'set', hostName, 'address', pod.hostVeth.mac, 'up');
      inNs(nodeNs, 'sysctl', '-qw', `net.ipv4.conf.${hostName}.proxy_arp=1`, `net.ipv4.neigh.${hostName}.proxy_delay=0`);
      inNs(nodeNs, 'ip', 'route', 'add', pod.ip, 'dev', hostName, 'scope', 'link');
      inNs(ns, 'ip', 'addr', 'add', `${pod.ip}/32`, 'dev', 'eth0');
      inNs(ns, 'ip', 'link', 'set', 'eth0', 'up');
      inNs(ns, 'ip', 'route', 'add', gw, 'dev', 'eth0', 'scope', 'link');
    } else {
      inNs(nodeNs, 'ip', 'link', 'set', hostName, 'master', 'cni0', 'up');
      inNs(ns, 'ip', 'addr', 'add', `${pod.ip}/${node.podCIDR.split('/')[1]}`, 'dev', 'eth0');
      inNs(ns, 'ip', 'link', 'set', 'eth0', 'up');
    }
    inNs(ns, 'ip', 'route', 'add', 'default', 'via', gw, 'dev', 'eth0');
  };
  const pods = node.pods.filter((x) => x.id !== clientPod?.id);
  pods.forEach((pod, i) => {
    const ns = `${tag}-b${i}`;
    newNs(ns);
    attachPod(ns, pod, calico ? pod.hostVeth.name : `vethb${i}`);
  });
  // eth0 on the node network; the namespace behind it stands for the router (and, for a flow
  // from outside, for the client beyond it).
  const eth0 = node.interfaces.find((i) => i.name === 'eth0')!;
  const router = node.routes.find((r) => r.dst === 'default')!.via!;
  inNs(nodeNs, 'ip', 'addr', 'add', eth0.address!, 'dev', 'eth0');
  inNs(nodeNs, 'ip', 'link', 'set', 'eth0', 'up');
  inNs(nodeNs, 'ip', 'route', 'add', 'default', 'via', router, 'dev', 'eth0');
  // Direct routes to other nodes' pods (flannel host-gw, Calico BGP): via the node's own address.
  for (const r of node.routes.filter((x) => x.dev === 'eth0' && x.via && x.dst !== 'default')) inNs(nodeNs, 'ip', 'route', 'add', r.dst, 'via', r.via!, 'dev', 'eth0');
  // The other nodes are not built: fixed neighbour entries keep ARP failures (and the ICMP errors
  // they cause) out of the counters; what is sent to them is dropped by the wire namespace.
  for (const n of node.neighbours.filter((x) => x.dev === 'eth0')) inNs(nodeNs, 'ip', 'neigh', 'add', n.ip, 'lladdr', n.mac, 'dev', 'eth0', 'nud', 'permanent');
  inNs(wireNs, 'ip', 'addr', 'add', `${router}/${eth0.address!.split('/')[1]}`, 'dev', 'wire');
  // The router answers ARP with the MAC the engine gives the node network's gateway.
  if (!external) inNs(wireNs, 'ip', 'link', 'set', 'wire', 'address', gatewayMac);
  inNs(wireNs, 'ip', 'link', 'set', 'wire', 'up');
  let dialIP: string;
  let dialPort: number;
  if (clientPod) {
    // The client pod, dialling the Service's ClusterIP.
    // The window scale Linux offers follows the largest receive buffer (tcp_select_initial_window:
    // ilog2(max(tcp_rmem[2], rmem_max)) − 15). The engine models the long-standing default
    // tcp_rmem max of 6 MiB (wscale 7); this kernel (6.18) defaults to 32 MiB (wscale 10). Pin it.
    inNs(clientNs, 'sysctl', '-qw', 'net.ipv4.tcp_rmem=4096 131072 6291456');
    attachPod(clientNs, clientPod, calico ? clientPod.hostVeth.name : 'vethc');
    const m = /→ (\S+):(\d+)$/.exec(traces[0]!.hops[0]!.mechanism.title)!;
    [dialIP, dialPort] = [m[1]!, Number(m[2])];
  } else {
    const clientIP = flow.from.includes(':') ? flow.from.split(':')[1]! : '198.51.100.7';
    inNs(clientNs, 'ip', 'addr', 'add', `${clientIP}/32`, 'dev', 'wire');
    inNs(clientNs, 'sysctl', '-qw', 'net.ipv4.tcp_rmem=4096 131072 6291456'); // as for the pod client
    const [host, port] = [flow.to.slice(0, flow.to.lastIndexOf(':')), Number(flow.to.slice(flow.to.lastIndexOf(':') + 1))];
    [dialIP, dialPort] = [t.nodes.find((n) => n.name === host)?.ip ?? host, port];
    inNs(clientNs, 'ip', 'route', 'add', `${dialIP}/32`, 'dev', 'wire', 'src', clientIP);
  }
  if (mode === 'nftables') {
    inNsInput(nodeNs, nftablesSave(t, node.name), 'nft', '-f', '-');
    // Trace every packet: a chain at priority -350 (before kube-proxy's) sets nftrace.
    inNsInput(nodeNs, ['add table ip pptrace', 'add chain ip pptrace pre { type filter hook prerouting priority -350 ; }', 'add chain ip pptrace out { type filter hook output priority -350 ; }', 'add rule ip pptrace pre meta nftrace set 1', 'add rule ip pptrace out meta nftrace set 1', ''].join('\n'), 'nft', '-f', '-');
  } else {
    for (const c of ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts']) inNs(nodeNs, 'nfacct', 'add', c);
    inNsInput(nodeNs, iptablesSave(t, node.name), 'iptables-nft-restore');
  }
  const monitor = mode === 'nftables' ? spawn('ip', ['netns', 'exec', nodeNs, 'nft', '-a', 'monitor', 'trace'], { stdio: ['ignore', 'pipe', 'ignore'] }) : undefined;
  let traced = '';
  monitor?.stdout.on('data', (d: Buffer) => (traced += d.toString()));

  // The underlay: tshark captures what the node sends to the other nodes.
  const capFile = join(capDir, `${nodeNs}.pcap`);
  // What crosses to other nodes: VXLAN (UDP to the CNI's port), IP-in-IP (IP protocol 4), or
  // without encapsulation the pods' own TCP packets.
  const outside = traces.every((tr) => !tr.backend);
  const filter = outside ? `tcp and host ${dialIP}` : tunnel?.kind === 'vtep' ? `udp port ${cni.port}` : tunnel?.kind === 'ipip' ? 'ip proto 4' : `tcp and not host ${dialIP}`;
  const capture = spawn('ip', ['netns', 'exec', wireNs, 'tshark', '-q', '-i', 'wire', '-F', 'pcap', '-w', capFile, '-f', filter], { stdio: 'ignore' });
  for (let i = 0; i < 50 && !existsSync(capFile); i++) await sleep(100);
  await sleep(200);

  const CONNECTIONS = 24;
  // conntrack's event stream sees every new entry, including those a backend's RST closes at once.
  const events = spawn('ip', ['netns', 'exec', nodeNs, 'conntrack', '-E', '-e', 'NEW', '-p', 'tcp'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let ct = '';
  events.stdout.on('data', (d: Buffer) => (ct += d.toString()));
  await sleep(300);
  for (let i = 0; i < CONNECTIONS; i++) {
    try {
      // One SYN per attempt: the attempt is cut off before the first retransmission (1 s).
      inNs(clientNs, 'timeout', '0.3', 'bash', '-c', `exec 3<>/dev/tcp/${dialIP}/${dialPort}`);
    } catch {
      /* no connection is expected: nothing listens behind the endpoints */
    }
  }
  await sleep(300);
  events.kill();
  monitor?.kill();
  capture.kill('SIGINT');
  await new Promise((r) => capture.once('exit', r));
  // From outside, the engine's packet crosses the node network's router (TTL − 1); the test's
  // client sits on the node's own link, so its packets arrive one hop fresher.
  compareUnderlay(label, readFileSync(capFile), traces, external ? 1 : 0);
  if (process.env.DEBUG) console.log(ct, inNs(nodeNs, 'iptables-nft-save', '-c'));
  const kernelNat = new Set<string>();
  for (const line of ct.split('\n')) {
    // "[NEW] tcp 6 120 SYN_SENT src=<client> dst=<dialled> sport=.. dport=.. [UNREPLIED] src=<endpoint> dst=<client or SNAT> sport=<port> ..."
    const m = /src=(\S+) dst=(\S+) sport=\d+ dport=(\d+) .*?src=(\S+) dst=(\S+) sport=(\d+)/.exec(line);
    if (!m || m[2] !== dialIP || Number(m[3]) !== dialPort) continue;
    kernelNat.add(`${m[4]}:${m[6]}${m[5] !== m[1] ? ` masquerade ${m[5]}` : ''}`);
  }
  const fmt = (x: Set<string>) => [...x].sort().join(', ');
  if (fmt(kernelNat) !== fmt(engineNat)) fail(`${label}: NAT: kernel {${fmt(kernelNat)}} vs engine {${fmt(engineNat)}}`);
  else console.log(`ok   ${label}: ${CONNECTIONS} real connections to ${dialIP}:${dialPort} gave {${fmt(kernelNat)}}, as the engine's ${SEEDS} seeds do`);

  const kernelHits = mode === 'nftables' ? nftTraceHits(nodeNs, traced) : iptablesCounterHits(nodeNs);
  const onlyKernel = [...kernelHits].filter((k) => !engineHits.has(k));
  const onlyEngine = [...engineHits].filter((k) => !kernelHits.has(k));
  if ((onlyKernel.length || onlyEngine.length) && process.env.DEBUG) console.log(inNs(nodeNs, 'conntrack', '-L'));
  if (onlyKernel.length || onlyEngine.length) fail(`${label}: rule hits differ: kernel only [${onlyKernel.join('; ')}], engine only [${onlyEngine.join('; ')}]`);
  else console.log(`ok   ${label}: the kernel ${mode === 'nftables' ? 'traced' : 'counted'} exactly the ${kernelHits.size} rules the walker matched on ${node.name}`);
  cleanup();
}

/**
 * The fields in which a real kernel's VXLAN frame may legitimately differ from the engine's for
 * the same connection: each is drawn at random (or from a clock) by the kernel.
 */
const VARYING: Record<string, string> = {
  'ipv4[0].id': 'outer IP ID: ip_select_ident, a hashed per-destination counter (net/ipv4/route.c)',
  'ipv4[1].id': "inner IP ID: the client socket's random start (tcp_v4_connect)",
  'udp[0].srcPort': "outer UDP source port: a hash of the inner flow with the kernel's random seed (udp_flow_src_port)",
  'tcp[0].srcPort': 'client port: picked from net.ipv4.ip_local_port_range',
  'tcp[0].seq': 'initial sequence number: secure_tcp_seq, random by design',
  'tcp[0].options.TS val': 'TCP timestamp: a per-connection random offset plus the clock',
};

/** A packet's header fields as "proto[n].field" → value (TCP options one by one). */
function flatten(p: Packet): Map<string, string> {
  const out = new Map<string, string>([['length', String(p.length)]]);
  const seen = new Map<string, number>();
  for (const h of p.headers) {
    const n = seen.get(h.proto) ?? 0;
    seen.set(h.proto, n + 1);
    for (const [k, v] of Object.entries(h)) {
      if (k === 'proto') continue;
      if (h.proto === 'tcp' && k === 'options') {
        for (const o of v as string[]) {
          const ts = /^TS val (\d+) ecr (\d+)$/.exec(o);
          if (ts) {
            out.set(`tcp[${n}].options.TS val`, ts[1]!);
            out.set(`tcp[${n}].options.TS ecr`, ts[2]!);
          } else out.set(`tcp[${n}].options.${o.split(' ')[0]}`, o);
        }
      } else out.set(`${h.proto}[${n}].${k}`, JSON.stringify(v));
    }
  }
  return out;
}

/** Read a classic little-endian pcap file's frames. */
function readPcap(b: Buffer): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let o = 24; o + 16 <= b.length; ) {
    const len = b.readUInt32LE(o + 8);
    frames.push(new Uint8Array(b.subarray(o + 16, o + 16 + len)));
    o += 16 + len;
  }
  return frames;
}

/** Every captured VXLAN frame must equal the engine's, for its backend, in all but the varying fields. */
function compareUnderlay(label: string, pcap: Buffer, traces: Trace[], routersNotBuilt: number) {
  const captured = readPcap(pcap).map(decodePacket);
  const ours = new Map<string, Packet>();
  // The frame the engine puts on the underlay: after VXLAN or IPIP encapsulation, or the pod's own
  // packet when it is routed to another node unencapsulated.
  const onUnderlay = (h: Trace['hops'][number]) => h.direction === 'request' && (h.mechanism.kind === 'vxlan-encap' || h.mechanism.kind === 'ipip-encap' || h.mechanism.title.startsWith('eth0 out: next hop') || h.mechanism.title.startsWith('eth0 out: to '));
  for (const tr of traces) for (const h of tr.hops) if (onUnderlay(h)) ours.set(innerDst(h.after), h.after);
  if (ours.size === 0) return console.log(`ok   ${label}: no backend on another node, nothing on the underlay to compare`);
  if (captured.length === 0) return fail(`${label}: the engine sends frames toward ${[...ours.keys()].join(', ')} over the underlay, the kernel sent none`);
  let fields = 0;
  for (const frame of captured) {
    const want = ours.get(innerDst(frame));
    if (!want) return fail(`${label}: the kernel sent a VXLAN frame for ${innerDst(frame)}, which the engine never encapsulates`);
    const [a, b] = [flatten(frame), flatten(want)];
    // The innermost header's TTL — and an IPIP outer header's, which inherits it.
    const v4 = [...b.keys()].filter((k) => /^ipv4\[\d+\]\.ttl$/.test(k));
    const ipip = b.get('ipv4[0].protocol') === '"IPIP"';
    for (const k of ipip ? v4 : v4.slice(-1)) if (routersNotBuilt) b.set(k, String(Number(b.get(k)) + routersNotBuilt));
    for (const k of new Set([...a.keys(), ...b.keys()])) {
      if (k in VARYING) continue;
      fields++;
      if (a.get(k) !== b.get(k)) return fail(`${label}: underlay frame for ${innerDst(frame)}: ${k} is ${a.get(k)} in the kernel's frame, ${b.get(k)} in the engine's`);
    }
  }
  console.log(`ok   ${label}: ${captured.length} frames captured on the underlay equal the engine's bytes (${fields} fields; varying by design: ${Object.keys(VARYING).join(', ')})`);
}

function innerDst(p: Packet): string {
  const ips = p.headers.filter((h): h is IPv4Header => h.proto === 'ipv4');
  return ips[ips.length - 1]!.dst;
}

/**
 * The rules nft monitor trace saw match ("trace id … ip kube-proxy <chain> rule … # handle N
 * (verdict …)"), as "ip kube-proxy <chain> #<position>": the handle's position in its chain.
 */
function nftTraceHits(nodeNs: string, traced: string): Set<string> {
  const position = new Map<string, string>();
  let chain = '';
  let n = 0;
  for (const line of inNs(nodeNs, 'nft', '-a', 'list', 'table', 'ip', 'kube-proxy').split('\n')) {
    const c = /^\s*chain (\S+) \{/.exec(line);
    if (c) [chain, n] = [c[1]!, 0];
    const h = /# handle (\d+)$/.exec(line);
    if (h && chain && !/^\s*(chain|type|set|map|table|elements|comment)\b/.test(line.trim()) && !line.includes('{ type')) position.set(h[1]!, `ip kube-proxy ${chain} #${++n}`);
  }
  const hits = new Set<string>();
  for (const line of traced.split('\n')) {
    const m = /^trace id \w+ ip kube-proxy \S+ rule .* # handle (\d+) \(verdict/.exec(line);
    if (m) hits.add(position.get(m[1]!) ?? `unknown handle ${m[1]}`);
  }
  return hits;
}

/** Rule counters, position by position. iptables-save -c prints "[packets:bytes] -A CHAIN ...". */
function iptablesCounterHits(nodeNs: string): Set<string> {
  const kernelHits = new Set<string>();
  let table = '';
  const position = new Map<string, number>();
  for (const line of inNs(nodeNs, 'iptables-nft-save', '-c').split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const m = /^\[(\d+):\d+\] -A (\S+)/.exec(line);
    if (!m) continue;
    const k = `${table} ${m[2]}`;
    const n = (position.get(k) ?? 0) + 1;
    position.set(k, n);
    if (Number(m[1]) > 0) kernelHits.add(`${k} #${n}`);
  }
  return kernelHits;
}

if (sections.has('differential')) {
  await differential({ label: 'pod → ClusterIP', text: defaultScenario, flow: snap.flows[0]! });
  // cndjp4 step 4: the same pods behind a NodePort (port 8080 → targetPort 80), from outside.
  const np = loadSnapshot(nodePortScenario, 1);
  await differential({ label: 'outside → NodePort', text: nodePortScenario, flow: np.flows[0]! });
  await differential({ label: 'pod → ClusterIP (nftables mode)', text: defaultScenario, flow: snap.flows[0]!, mode: 'nftables' });
  await differential({ label: 'outside → NodePort (nftables mode)', text: nodePortScenario, flow: np.flows[0]!, mode: 'nftables' });
  // The other pod networks: the same flows with the CNI's devices, routes and frames.
  for (const cni of ['flannel-host-gw', 'calico-ipip', 'calico-vxlan', 'calico-bgp'] as const) {
    await differential({ label: `pod → ClusterIP (${cni})`, text: withCni(defaultScenario, cni), flow: snap.flows[0]! });
  }
  await differential({ label: 'outside → NodePort (calico-vxlan)', text: withCni(nodePortScenario, 'calico-vxlan'), flow: np.flows[0]! });
  // A pod to a server outside the cluster: flanneld's FLANNEL-POSTRTG masquerades it.
  await differential({ label: 'pod → server outside (flannel masquerade)', text: defaultScenario, flow: { ...snap.flows[0]!, to: '198.51.100.80:80' } });
  await differential({ label: 'pod → another node (flannel masquerade)', text: defaultScenario, flow: { ...snap.flows[0]!, to: '192.168.1.13:10250' } });
}

// 3. The conformance flows, traced by the kernel: each case's ruleset (as the engine writes it)
//    is loaded into a namespace and every flow is sent for real (scripts/kernelTracer.ts); the
//    outcomes must be the ones kube-proxy's own tests assert, exactly as the engine's tracers must.
if (sections.has('flows')) {
  const kernel = kernelTracers(`${tag}k`);
  let flowCases = 0;
  for (const dir of ['kube-proxy', 'kube-proxy-nftables'].flatMap((d) => findCases(join(defaultRoot, d)))) {
    const name = dir.slice(defaultRoot.length + 1);
    if (!existsSync(join(dir, 'flows.yaml')) && !existsSync(join(dir, 'rules.iptables'))) continue;
    const r = runCase(dir, kernel);
    flowCases++;
    if (r.ok) console.log(`ok   kernel-traced conformance/${name}: ${r.detail}`);
    else fail(`kernel-traced conformance/${name}: ${r.detail}`);
  }
  kernel.close();
  if (flowCases === 0) fail('no conformance case with flows was found');
}

// 4. Istio's sidecar capture rules, judged by the kernel (scripts/kernelIstio.ts).
if (sections.has('istio')) skipped += (await kernelIstio(join(defaultRoot, 'istio-iptables'), `${tag}i`, fail)).skipped;

if (skipped) console.log(`${skipped} kernel check(s) skipped (the reasons are said above)`);
if (failures) {
  console.log(`${failures} kernel check(s) failed`);
  process.exit(1);
}
