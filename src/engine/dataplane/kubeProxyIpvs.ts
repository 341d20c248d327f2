// kube-proxy's IPVS mode: virtual servers with their real servers, the ipsets, the addresses on
// kube-ipvs0 and the iptables rules kube-proxy still writes in this mode. Sources (see
// docs/research/ipvs.md): kubernetes pkg/proxy/ipvs/proxier.go (syncProxyRules, syncService,
// syncEndpoint, writeIptablesRules, iptablesJumpChain), pkg/proxy/ipvs/ipset.go and
// ipset/ipset.go (set names, comments, entry text), pkg/proxy/topology.go (CategorizeEndpoints).
// IPVS is not built into this machine's kernel: this mode is simulated only.

import { cidrContains, parseCidr, parseIPv4 } from '../util/ipv4.ts';
import { categorizeEndpoints, externallyAccessible } from './kubeProxyEndpoints.ts';
import type { Chain, KubeProxyEndpoint, KubeProxyServicePort, Ruleset, TableName } from './kubeProxyIptables.ts';
import { builtinChains } from './kubeProxyIptables.ts';

export interface IpvsParams {
  nodeName: string;
  /** Addresses on the node's interfaces (NodePort virtual servers are made for the IPv4 ones). */
  nodeIPs: string[];
  /** The proxier's own node IP (source ranges containing it admit the LB IP as a source); undefined: none. */
  nodeIP?: string;
  nodePortAddresses: string[] | null;
  clusterCIDR: string | null;
  masqueradeAll: boolean;
  masqueradeBit: number;
  /** --ipvs-scheduler; kube-proxy's default is rr. */
  scheduler: string;
  randomFully: boolean;
}

export interface RealServer { address: string; port: number; weight: number }

export interface VirtualServer {
  address: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  scheduler: string;
  /** 0x1 = persistent (ClientIP session affinity). */
  flags: number;
  timeout: number;
  realServers: RealServer[];
}

export interface IpSet { type: string; comment: string; entries: string[] }

export interface IpvsState {
  virtualServers: VirtualServer[];
  ipsets: Record<string, IpSet>;
  /** Addresses bound to the kube-ipvs0 dummy device. */
  dummyAddresses: string[];
  ruleset: Ruleset;
}

// Set name → [type, comment] (pkg/proxy/ipvs/ipset.go).
const SETS: Record<string, [string, string]> = {
  'KUBE-LOOP-BACK': ['hash:ip,port,ip', 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose'],
  'KUBE-CLUSTER-IP': ['hash:ip,port', 'Kubernetes service cluster ip + port for masquerade purpose'],
  'KUBE-EXTERNAL-IP': ['hash:ip,port', 'Kubernetes service external ip + port for masquerade and filter purpose'],
  'KUBE-EXTERNAL-IP-LOCAL': ['hash:ip,port', 'Kubernetes service external ip + port with externalTrafficPolicy=local'],
  'KUBE-LOAD-BALANCER': ['hash:ip,port', 'Kubernetes service lb portal'],
  'KUBE-LOAD-BALANCER-FW': ['hash:ip,port', 'Kubernetes service load balancer ip + port for load balancer with sourceRange'],
  'KUBE-LOAD-BALANCER-LOCAL': ['hash:ip,port', 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local'],
  'KUBE-LOAD-BALANCER-SOURCE-IP': ['hash:ip,port,ip', 'Kubernetes service load balancer ip + port + source IP for packet filter purpose'],
  'KUBE-LOAD-BALANCER-SOURCE-CIDR': ['hash:ip,port,net', 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose'],
  'KUBE-NODE-PORT-TCP': ['bitmap:port', 'Kubernetes nodeport TCP port for masquerade purpose'],
  'KUBE-NODE-PORT-LOCAL-TCP': ['bitmap:port', 'Kubernetes nodeport TCP port with externalTrafficPolicy=local'],
  'KUBE-NODE-PORT-UDP': ['bitmap:port', 'Kubernetes nodeport UDP port for masquerade purpose'],
  'KUBE-NODE-PORT-LOCAL-UDP': ['bitmap:port', 'Kubernetes nodeport UDP port with externalTrafficPolicy=local'],
  'KUBE-NODE-PORT-SCTP-HASH': ['hash:ip,port', "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'"],
  'KUBE-NODE-PORT-LOCAL-SCTP-HASH': ['hash:ip,port', "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'"],
  'KUBE-HEALTH-CHECK-NODE-PORT': ['bitmap:port', 'Kubernetes health check node port'],
  'KUBE-IPVS-IPS': ['hash:ip', 'Addresses on the ipvs interface'],
};

/** The node IPs that get NodePort virtual servers: IPv4, not loopback, inside --nodeport-addresses. */
function nodePortIPs(p: IpvsParams): string[] {
  const v4 = p.nodeIPs.filter((a) => parseIPv4(a) !== undefined && !a.startsWith('127.'));
  const cidrs = (p.nodePortAddresses ?? []).map((c) => parseCidr(c)).filter((c) => c !== undefined);
  if (!p.nodePortAddresses?.length || p.nodePortAddresses.includes('0.0.0.0/0')) return v4;
  return v4.filter((a) => cidrs.some((c) => cidrContains(c, parseIPv4(a)!)));
}

// IPVS finds a connection's virtual server in a hash table keyed by protocol, address and port
// (ip_vs_service_find, net/netfilter/ipvs/ip_vs_ctl.c): one lookup however many Services exist.
const vsTables = new WeakMap<IpvsState, Map<string, VirtualServer>>();

/** The virtual server for protocol address:port, if any (indexed once per state). */
export function findVirtualServer(s: IpvsState, protocol: VirtualServer['protocol'], address: string, port: number): VirtualServer | undefined {
  let table = vsTables.get(s);
  if (!table) vsTables.set(s, (table = new Map(s.virtualServers.map((v) => [`${v.protocol} ${v.address} ${v.port}`, v]))));
  return table.get(`${protocol} ${address} ${port}`);
}

export function kubeProxyIpvs(ports: KubeProxyServicePort[], p: IpvsParams): IpvsState {
  const sets: Record<string, IpSet> = Object.fromEntries(Object.entries(SETS).map(([name, [type, comment]]) => [name, { type, comment, entries: [] }]));
  const put = (set: string, entry: string) => {
    const s = sets[set]!;
    if (!s.entries.includes(entry)) s.entries.push(entry);
  };
  const vss: VirtualServer[] = [];
  const dummy = new Set<string>();
  const outFilter: string[] = [];
  const npIPs = nodePortIPs(p);
  const nodeAddressSet = new Set(p.nodeIPs);

  for (const sp of ports) {
    const proto = sp.protocol.toLowerCase();
    const { cluster, local } = categorizeEndpoints(sp, p.nodeName);
    // A Local policy with no local endpoint falls back to the cluster endpoints in IPVS mode
    // (proxier.go, kubernetes PR 97081) — unlike iptables mode, which drops.
    const pick = (policyLocal: boolean) => (policyLocal && local.length ? local : cluster);
    const rs = (eps: KubeProxyEndpoint[]) =>
      eps.map((e) => ({ address: e.ip, port: e.port, weight: 1 })).sort((a, b) => (`${a.address}:${a.port}` < `${b.address}:${b.port}` ? -1 : 1));
    const affinity = sp.affinitySeconds !== undefined;
    const vs = (address: string, port: number, eps: KubeProxyEndpoint[]) =>
      vss.push({ address, port, protocol: sp.protocol, scheduler: p.scheduler, flags: affinity ? 1 : 0, timeout: affinity ? sp.affinitySeconds! : 0, realServers: rs(eps) });
    const extLocal = externallyAccessible(sp) && sp.externalPolicyLocal;

    for (const e of sp.endpoints) if (e.nodeName === p.nodeName) put('KUBE-LOOP-BACK', `${e.ip},${proto}:${e.port},${e.ip}`);
    put('KUBE-CLUSTER-IP', `${sp.clusterIP},${proto}:${sp.port}`);
    dummy.add(sp.clusterIP);
    vs(sp.clusterIP, sp.port, sp.internalPolicyLocal ? pick(true) : cluster);

    for (const ip of sp.externalIPs) {
      put(extLocal ? 'KUBE-EXTERNAL-IP-LOCAL' : 'KUBE-EXTERNAL-IP', `${ip},${proto}:${sp.port}`);
      if (!nodeAddressSet.has(ip)) dummy.add(ip);
      vs(ip, sp.port, pick(extLocal));
    }
    for (const ip of sp.loadBalancerVIPs) {
      const entry = `${ip},${proto}:${sp.port}`;
      put('KUBE-LOAD-BALANCER', entry);
      if (extLocal) put('KUBE-LOAD-BALANCER-LOCAL', entry);
      if (sp.loadBalancerSourceRanges.length) {
        put('KUBE-LOAD-BALANCER-FW', entry);
        let allowFromNode = false;
        for (const raw of sp.loadBalancerSourceRanges) {
          const c = parseCidr(raw.trim());
          if (!c) continue;
          put('KUBE-LOAD-BALANCER-SOURCE-CIDR', `${entry},${raw.trim()}`);
          if (p.nodeIP && cidrContains(c, parseIPv4(p.nodeIP)!)) allowFromNode = true;
        }
        if (allowFromNode) put('KUBE-LOAD-BALANCER-SOURCE-IP', `${entry},${ip}`);
        else outFilter.push(`-s ${ip} -m ipvs --vaddr ${ip} --vproto ${proto} --vport ${sp.port} -j DROP`);
      }
      if (!nodeAddressSet.has(ip)) dummy.add(ip);
      vs(ip, sp.port, pick(extLocal));
    }
    if (sp.nodePort !== 0 && npIPs.length) {
      const tcpudp = proto === 'tcp' ? 'TCP' : proto === 'udp' ? 'UDP' : undefined;
      if (tcpudp) {
        put(`KUBE-NODE-PORT-${tcpudp}`, String(sp.nodePort));
        if (extLocal) put(`KUBE-NODE-PORT-LOCAL-${tcpudp}`, String(sp.nodePort));
      } else {
        for (const ip of npIPs) {
          put('KUBE-NODE-PORT-SCTP-HASH', `${ip},sctp:${sp.nodePort}`);
          if (extLocal) put('KUBE-NODE-PORT-LOCAL-SCTP-HASH', `${ip},sctp:${sp.nodePort}`);
        }
      }
      for (const ip of npIPs) vs(ip, sp.nodePort, pick(extLocal));
    }
    if (sp.healthCheckNodePort) put('KUBE-HEALTH-CHECK-NODE-PORT', String(sp.healthCheckNodePort));
  }
  for (const a of dummy) put('KUBE-IPVS-IPS', a);
  return { virtualServers: vss, ipsets: sets, dummyAddresses: [...dummy], ruleset: ipvsRules(sets, p, outFilter) };
}

/** The iptables rules of IPVS mode (proxier.go writeIptablesRules), in kube-proxy's order. */
function ipvsRules(sets: Record<string, IpSet>, p: IpvsParams, outFilter: string[]): Ruleset {
  // Go's "%#08x" zero-pads the digits: the restore text says 0x00004000 (iptables-save prints 0x4000).
  const mark = `0x${(1 << p.masqueradeBit).toString(16).padStart(8, '0')}`;
  const table: Record<TableName, Chain[]> = { filter: [], nat: [] };
  const chains = new Map<string, Chain>();
  const chain = (t: TableName, name: string) => {
    let c = chains.get(`${t}:${name}`);
    if (!c) {
      chains.set(`${t}:${name}`, (c = { name, rules: [] }));
      table[t].push(c);
    }
    return c;
  };
  const add = (t: TableName, name: string, rule: string) => chain(t, name).rules.push(rule);
  const has = (set: string) => sets[set]!.entries.length > 0;
  const cm = (set: string) => `-m comment --comment "${sets[set]!.comment}"`;

  for (const t of ['filter', 'nat'] as const) for (const b of builtinChains[t]) chain(t, b);
  // Jumps, ensured with Prepend in iptablesJumpChain order: the last listed ends up first.
  add('nat', 'PREROUTING', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  add('nat', 'OUTPUT', '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
  add('nat', 'POSTROUTING', '-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING');
  add('filter', 'INPUT', '-m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-FILTER');
  add('filter', 'INPUT', '-m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL');
  add('filter', 'INPUT', '-m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT');
  add('filter', 'FORWARD', '-m comment --comment "kube-proxy firewall rules" -j KUBE-PROXY-FIREWALL');
  add('filter', 'FORWARD', '-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD');
  add('filter', 'OUTPUT', '-m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER');
  for (const c of ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ']) chain('nat', c);
  for (const c of ['KUBE-FORWARD', 'KUBE-NODE-PORT', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-IPVS-FILTER', 'KUBE-IPVS-OUT-FILTER']) chain('filter', c);

  // nat KUBE-SERVICES.
  add('nat', 'KUBE-SERVICES', '-s 127.0.0.0/8 -j RETURN');
  if (has('KUBE-LOAD-BALANCER')) add('nat', 'KUBE-SERVICES', `${cm('KUBE-LOAD-BALANCER')} -m set --match-set KUBE-LOAD-BALANCER dst,dst -j KUBE-LOAD-BALANCER`);
  if (has('KUBE-CLUSTER-IP')) {
    const m = p.masqueradeAll ? 'dst,dst' : p.clusterCIDR ? `dst,dst ! -s ${p.clusterCIDR}` : 'src,dst';
    add('nat', 'KUBE-SERVICES', `${cm('KUBE-CLUSTER-IP')} -m set --match-set KUBE-CLUSTER-IP ${m} -j KUBE-MARK-MASQ`);
  }
  if (has('KUBE-EXTERNAL-IP')) {
    const pre = `${cm('KUBE-EXTERNAL-IP')} -m set --match-set KUBE-EXTERNAL-IP dst,dst`;
    add('nat', 'KUBE-SERVICES', `${pre} -j KUBE-MARK-MASQ`);
    add('nat', 'KUBE-SERVICES', `${pre} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`);
    add('nat', 'KUBE-SERVICES', `${pre} -m addrtype --dst-type LOCAL -j ACCEPT`);
  }
  if (has('KUBE-EXTERNAL-IP-LOCAL')) {
    const pre = `${cm('KUBE-EXTERNAL-IP-LOCAL')} -m set --match-set KUBE-EXTERNAL-IP-LOCAL dst,dst`;
    add('nat', 'KUBE-SERVICES', `${pre} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`);
    add('nat', 'KUBE-SERVICES', `${pre} -m addrtype --dst-type LOCAL -j ACCEPT`);
  }
  add('nat', 'KUBE-SERVICES', '-m addrtype --dst-type LOCAL -j KUBE-NODE-PORT');
  if (has('KUBE-CLUSTER-IP')) add('nat', 'KUBE-SERVICES', '-m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT');
  if (has('KUBE-LOAD-BALANCER')) add('nat', 'KUBE-SERVICES', '-m set --match-set KUBE-LOAD-BALANCER dst,dst -j ACCEPT');

  // nat KUBE-NODE-PORT: Local sets RETURN (keep the source), the others mark for masquerade.
  for (const proto of ['tcp', 'udp'] as const) {
    const P = proto.toUpperCase();
    if (has(`KUBE-NODE-PORT-LOCAL-${P}`)) add('nat', 'KUBE-NODE-PORT', `-p ${proto} ${cm(`KUBE-NODE-PORT-LOCAL-${P}`)} -m set --match-set KUBE-NODE-PORT-LOCAL-${P} dst -j RETURN`);
    if (has(`KUBE-NODE-PORT-${P}`)) add('nat', 'KUBE-NODE-PORT', `-p ${proto} ${cm(`KUBE-NODE-PORT-${P}`)} -m set --match-set KUBE-NODE-PORT-${P} dst -j KUBE-MARK-MASQ`);
  }
  if (has('KUBE-NODE-PORT-LOCAL-SCTP-HASH')) add('nat', 'KUBE-NODE-PORT', `-p sctp ${cm('KUBE-NODE-PORT-LOCAL-SCTP-HASH')} -m set --match-set KUBE-NODE-PORT-LOCAL-SCTP-HASH dst,dst -j RETURN`);
  if (has('KUBE-NODE-PORT-SCTP-HASH')) add('nat', 'KUBE-NODE-PORT', `-p sctp ${cm('KUBE-NODE-PORT-SCTP-HASH')} -m set --match-set KUBE-NODE-PORT-SCTP-HASH dst,dst -j KUBE-MARK-MASQ`);

  if (has('KUBE-LOAD-BALANCER-LOCAL')) add('nat', 'KUBE-LOAD-BALANCER', `${cm('KUBE-LOAD-BALANCER-LOCAL')} -m set --match-set KUBE-LOAD-BALANCER-LOCAL dst,dst -j RETURN`);
  add('nat', 'KUBE-LOAD-BALANCER', '-j KUBE-MARK-MASQ');

  if (has('KUBE-LOOP-BACK')) add('nat', 'KUBE-POSTROUTING', `${cm('KUBE-LOOP-BACK')} -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE`);
  add('nat', 'KUBE-POSTROUTING', `-m mark ! --mark ${mark}/${mark} -j RETURN`);
  add('nat', 'KUBE-POSTROUTING', `-j MARK --xor-mark ${mark}`);
  add('nat', 'KUBE-POSTROUTING', `-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${p.randomFully ? ' --random-fully' : ''}`);
  add('nat', 'KUBE-MARK-MASQ', `-j MARK --or-mark ${mark}`);

  add('filter', 'KUBE-FORWARD', `-m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark}/${mark} -j ACCEPT`);
  add('filter', 'KUBE-FORWARD', '-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  add('filter', 'KUBE-NODE-PORT', `${cm('KUBE-HEALTH-CHECK-NODE-PORT')} -m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j ACCEPT`);
  if (has('KUBE-LOAD-BALANCER-FW')) add('filter', 'KUBE-PROXY-FIREWALL', `${cm('KUBE-LOAD-BALANCER-FW')} -m set --match-set KUBE-LOAD-BALANCER-FW dst,dst -j KUBE-SOURCE-RANGES-FIREWALL`);
  if (has('KUBE-LOAD-BALANCER-SOURCE-CIDR')) add('filter', 'KUBE-SOURCE-RANGES-FIREWALL', `${cm('KUBE-LOAD-BALANCER-SOURCE-CIDR')} -m set --match-set KUBE-LOAD-BALANCER-SOURCE-CIDR dst,dst,src -j RETURN`);
  if (has('KUBE-LOAD-BALANCER-SOURCE-IP')) add('filter', 'KUBE-SOURCE-RANGES-FIREWALL', `${cm('KUBE-LOAD-BALANCER-SOURCE-IP')} -m set --match-set KUBE-LOAD-BALANCER-SOURCE-IP dst,dst,src -j RETURN`);
  add('filter', 'KUBE-SOURCE-RANGES-FIREWALL', '-j DROP');
  for (const r of outFilter) add('filter', 'KUBE-IPVS-OUT-FILTER', r);
  for (const s of ['KUBE-LOAD-BALANCER', 'KUBE-CLUSTER-IP', 'KUBE-EXTERNAL-IP', 'KUBE-EXTERNAL-IP-LOCAL']) add('filter', 'KUBE-IPVS-FILTER', `-m set --match-set ${s} dst,dst -j RETURN`);
  add('filter', 'KUBE-IPVS-FILTER', '-m set --match-set KUBE-HEALTH-CHECK-NODE-PORT dst -j RETURN');
  // New connections to a kube-ipvs0 address on a port no Service uses are refused.
  add('filter', 'KUBE-IPVS-FILTER', '-m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT');
  return { tables: table };
}

/** `ipvsadm -Ln`: services sorted, real servers sorted (ipvsadm.c print_service_entry). */
export function renderIpvsadm(s: IpvsState): string {
  const out = ['IP Virtual Server version 1.2.1 (size=4096)', 'Prot LocalAddress:Port Scheduler Flags', '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn'];
  const sorted = [...s.virtualServers].sort((a, b) => a.protocol.localeCompare(b.protocol) || (parseIPv4(a.address)! - parseIPv4(b.address)!) || a.port - b.port);
  for (const v of sorted) {
    out.push(`${v.protocol.padEnd(4)} ${v.address}:${v.port} ${v.scheduler}${v.flags & 1 ? ` persistent ${v.timeout}` : ''}`);
    for (const r of v.realServers) out.push(`  -> ${`${r.address}:${r.port}`.padEnd(28)} ${'Masq'.padEnd(7)} ${String(r.weight).padEnd(6)} ${'0'.padEnd(10)} 0`);
  }
  return out.join('\n') + '\n';
}

/** `ipset save`-style listing of the sets kube-proxy fills. */
export function renderIpsets(s: IpvsState): string {
  const out: string[] = [];
  for (const [name, set] of Object.entries(s.ipsets)) {
    out.push(`create ${name} ${set.type}${set.type.startsWith('bitmap') ? ' range 0-65535' : ' family inet hashsize 1024 maxelem 65536'}`);
    for (const e of [...set.entries].sort()) out.push(`add ${name} ${e}`);
  }
  return out.join('\n') + '\n';
}
