// kube-proxy's iptables mode: the rules it writes for every node, as text, exactly as kube-proxy
// writes its iptables-restore input. Source: kubernetes pkg/proxy/iptables/proxier.go
// (syncProxyRules, writeServiceToEndpointRules, iptablesJumpChains) and the expected dumps of
// pkg/proxy/iptables/proxier_test.go (../shared/conformance/kube-proxy).

import type { Protocol } from '../types.ts';
import { kubeProxyHash16 } from '../util/hash.ts';
import { ipInCidr } from '../util/ip.ts';
import { cidrContains, formatCidr, parseCidr, parseIPv4 } from '../util/ipv4.ts';
import { categorizeEndpoints, externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from './kubeProxyEndpoints.ts';

export interface KubeProxyParams {
  /** One proxier per IP family (default IPv4). */
  family?: 'IPv4' | 'IPv6';
  nodeName: string;
  /** The node's primary IP (loadBalancerSourceRanges containing it also admit the LB IPs as sources). */
  nodeIP: string;
  /** Every address on the node's interfaces (--nodeport-addresses picks among them). */
  nodeAddresses: string[];
  /** The local-traffic detector's cluster CIDR ("! -s <cidr> -j KUBE-MARK-MASQ"); null: no detector. */
  clusterCIDR: string | null;
  /** --iptables-masquerade-bit 14 → 0x4000. */
  masqueradeBit: number;
  masqueradeAll: boolean;
  /** --iptables-localhost-nodeports (default true). */
  localhostNodePorts: boolean;
  /** --nodeport-addresses CIDRs; null or empty: every local address. */
  nodePortAddresses: string[] | null;
  /** nfacct counters kube-proxy could create (Kubernetes ≥ 1.29). */
  nfacct: { ctStateInvalidDropped: boolean; localhostNodePortsAccepted: boolean };
  /** MASQUERADE --random-fully when iptables supports it. */
  randomFully: boolean;
  /** nf_conntrack_tcp_be_liberal set: no INVALID drop rule. */
  conntrackTCPLiberal: boolean;
}

export interface KubeProxyEndpoint {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
}

/** One Service port as kube-proxy sees it (pkg/proxy/serviceport.go, servicechangetracker.go). */
export interface KubeProxyServicePort {
  namespace: string;
  name: string;
  portName: string;
  clusterIP: string;
  port: number;
  protocol: Protocol;
  /** 0: no NodePort. */
  nodePort: number;
  externalIPs: string[];
  loadBalancerVIPs: string[];
  loadBalancerSourceRanges: string[];
  /** Only for LoadBalancer Services with externalTrafficPolicy Local; 0 otherwise. */
  healthCheckNodePort: number;
  externalPolicyLocal: boolean;
  internalPolicyLocal: boolean;
  /** sessionAffinity ClientIP: the timeout in seconds. */
  affinitySeconds?: number;
  /** Endpoints in kube-proxy's order (sorted by "IP:port"). */
  endpoints: KubeProxyEndpoint[];
}

export type TableName = 'filter' | 'nat';
/** Every iptables table the netfilter walker knows; raw and mangle are written only by Istio's sidecar capture. */
export type NetfilterTable = TableName | 'mangle' | 'raw';

export interface Chain {
  name: string;
  /** Rules as kube-proxy writes them, without the leading "-A <chain> ". */
  rules: string[];
}

export interface Ruleset {
  tables: Record<TableName, Chain[]> & Partial<Record<'mangle' | 'raw', Chain[]>>;
  /** Chains that exist on the node but that kube-proxy does not write (kubelet's KUBE-FIREWALL). */
  foreign?: string[];
}

/** proxier.go largeClusterEndpointsThreshold. */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

export const builtinChains: Record<TableName, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/** "ns/svc:port" — the ServicePortName string that kube-proxy hashes and prints in comments. */
export function servicePortName(sp: Pick<KubeProxyServicePort, 'namespace' | 'name' | 'portName'>): string {
  return `${sp.namespace}/${sp.name}${sp.portName ? ':' + sp.portName : ''}`;
}

const portProtoHash = (sp: KubeProxyServicePort) => kubeProxyHash16(servicePortName(sp) + sp.protocol.toLowerCase());
export const svcChainName = (sp: KubeProxyServicePort) => `KUBE-SVC-${portProtoHash(sp)}`;
export const svlChainName = (sp: KubeProxyServicePort) => `KUBE-SVL-${portProtoHash(sp)}`;
export const extChainName = (sp: KubeProxyServicePort) => `KUBE-EXT-${portProtoHash(sp)}`;
export const fwChainName = (sp: KubeProxyServicePort) => `KUBE-FW-${portProtoHash(sp)}`;

/** An endpoint as kube-proxy prints it: "ip:port", IPv6 as "[ip]:port" (net.JoinHostPort). */
export const endpointString = (ep: { ip: string; port: number }) => (ep.ip.includes(':') ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`);

export function sepChainName(sp: KubeProxyServicePort, ep: { ip: string; port: number }): string {
  return `KUBE-SEP-${kubeProxyHash16(servicePortName(sp) + sp.protocol.toLowerCase() + endpointString(ep))}`;
}

/** kube-proxy quotes a comment only when it contains a space (it passes `"..."` itself). */
function comment(text: string): string {
  return `-m comment --comment ${/\s/.test(text) ? `"${text}"` : text}`;
}

/** computeProbability: 1/n printed with 10 decimals (proxier.go). */
function probability(n: number): string {
  return (1 / n).toFixed(10);
}

/** The rules kube-proxy writes for one node (proxier.go syncProxyRules). */
export function kubeProxyRules(ports: KubeProxyServicePort[], p: KubeProxyParams): Ruleset {
  const mark = `0x${(1 << p.masqueradeBit).toString(16)}`;
  const chains = new Map<string, Chain>();
  const table: Record<TableName, Chain[]> = { filter: [], nat: [] };
  const chain = (t: TableName, name: string): Chain => {
    const key = `${t}:${name}`;
    let c = chains.get(key);
    if (!c) {
      c = { name, rules: [] };
      chains.set(key, c);
      table[t].push(c);
    }
    return c;
  };
  const add = (t: TableName, name: string, rule: string) => chain(t, name).rules.push(rule);

  // Built-in chain jumps. kube-proxy ensures each with "-I <chain> 1" (Prepend) in the order of
  // iptablesJumpChains, so the last one listed ends up first; kubelet's KUBE-FIREWALL jumps were
  // there before kube-proxy started and end up last.
  const ctNew = '-m conntrack --ctstate NEW ';
  const jumps: [TableName, string, string, string][] = [
    ['filter', 'INPUT', ctNew + comment('kubernetes load balancer firewall'), 'KUBE-PROXY-FIREWALL'],
    ['filter', 'INPUT', comment('kubernetes health check service ports'), 'KUBE-NODEPORTS'],
    ['filter', 'INPUT', ctNew + comment('kubernetes externally-visible service portals'), 'KUBE-EXTERNAL-SERVICES'],
    ['filter', 'INPUT', '', 'KUBE-FIREWALL'],
    ['filter', 'FORWARD', ctNew + comment('kubernetes load balancer firewall'), 'KUBE-PROXY-FIREWALL'],
    ['filter', 'FORWARD', comment('kubernetes forwarding rules'), 'KUBE-FORWARD'],
    ['filter', 'FORWARD', ctNew + comment('kubernetes service portals'), 'KUBE-SERVICES'],
    ['filter', 'FORWARD', ctNew + comment('kubernetes externally-visible service portals'), 'KUBE-EXTERNAL-SERVICES'],
    ['filter', 'OUTPUT', ctNew + comment('kubernetes load balancer firewall'), 'KUBE-PROXY-FIREWALL'],
    ['filter', 'OUTPUT', ctNew + comment('kubernetes service portals'), 'KUBE-SERVICES'],
    ['filter', 'OUTPUT', '', 'KUBE-FIREWALL'],
    ['nat', 'PREROUTING', comment('kubernetes service portals'), 'KUBE-SERVICES'],
    ['nat', 'OUTPUT', comment('kubernetes service portals'), 'KUBE-SERVICES'],
    ['nat', 'POSTROUTING', comment('kubernetes postrouting rules'), 'KUBE-POSTROUTING'],
  ];
  for (const t of ['filter', 'nat'] as const) for (const b of builtinChains[t]) chain(t, b);
  for (const [t, c, match, target] of jumps) add(t, c, `${match ? match + ' ' : ''}-j ${target}`);

  // The chains of every sync, in the order kube-proxy declares them.
  // KUBE-FIREWALL is kube-proxy's only with localhost NodePorts; kubelet creates it anyway.
  // Localhost NodePorts (route_localnet) exist for IPv4 only.
  const v6 = p.family === 'IPv6';
  const localhostNPs = p.localhostNodePorts && !v6;
  for (const c of ['KUBE-NODEPORTS', 'KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', ...(localhostNPs ? ['KUBE-FIREWALL'] : []), 'KUBE-FORWARD', 'KUBE-PROXY-FIREWALL']) chain('filter', c);
  for (const c of ['KUBE-NODEPORTS', 'KUBE-SERVICES', 'KUBE-MARK-MASQ', 'KUBE-POSTROUTING']) chain('nat', c);

  add('nat', 'KUBE-POSTROUTING', `-m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Clear the mark so a packet re-traversing the stack is not masqueraded twice.
  add('nat', 'KUBE-POSTROUTING', `-j MARK --xor-mark ${mark}`);
  add('nat', 'KUBE-POSTROUTING', `${comment('kubernetes service traffic requiring SNAT')} -j MASQUERADE${p.randomFully ? ' --random-fully' : ''}`);
  add('nat', 'KUBE-MARK-MASQ', `-j MARK --or-mark ${mark}`);
  if (localhostNPs) {
    // route_localnet makes NodePorts reachable on 127.0.0.1; this rule closes the hole it opens
    // for packets from elsewhere (kubernetes issue 90259).
    add('filter', 'KUBE-FIREWALL', `${comment('block incoming localnet connections')} -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`);
  }

  const masqIfNotLocal = p.masqueradeAll ? '' : p.clusterCIDR ? ` ! -s ${p.clusterCIDR}` : undefined;
  // "Large cluster mode": above 1000 endpoints in all, the per-endpoint rules drop their comments
  // to keep the ruleset small (proxier.go largeClusterEndpointsThreshold, appendServiceCommentLocked).
  const large = ports.reduce((n, sp) => n + sp.endpoints.length, 0) > LARGE_CLUSTER_ENDPOINTS;
  const epComment = (text: string) => (large ? '' : `${comment(text)} `);
  for (const sp of ports) writeServicePort(sp, { ...p, localhostNodePorts: localhostNPs }, add, masqIfNotLocal, epComment);

  const familyCidrs = (p.nodePortAddresses ?? []).filter((c) => c.includes(':') === v6);
  const npAll = familyCidrs.length === 0 || familyCidrs.includes(v6 ? '::/0' : '0.0.0.0/0');
  const lastRule = comment('kubernetes service nodeports; NOTE: this must be the last rule in this chain');
  if (npAll) {
    // Block localhost NodePorts where they cannot work: always for IPv6, for IPv4 unless enabled.
    add('nat', 'KUBE-SERVICES', `${lastRule} -m addrtype --dst-type LOCAL${v6 ? ' ! -d ::1/128' : localhostNPs ? '' : ' ! -d 127.0.0.0/8'} -j KUBE-NODEPORTS`);
  } else {
    for (const ip of nodePortIPs({ ...p, localhostNodePorts: localhostNPs }, familyCidrs)) add('nat', 'KUBE-SERVICES', `${lastRule} -d ${ip} -j KUBE-NODEPORTS`);
  }
  if (!p.conntrackTCPLiberal) {
    add('filter', 'KUBE-FORWARD', `-m conntrack --ctstate INVALID${p.nfacct.ctStateInvalidDropped ? ' -m nfacct --nfacct-name ct_state_invalid_dropped_pkts' : ''} -j DROP`);
  }
  add('filter', 'KUBE-FORWARD', `${comment('kubernetes forwarding rules')} -m mark --mark ${mark}/${mark} -j ACCEPT`);
  add('filter', 'KUBE-FORWARD', `${comment('kubernetes forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
  if (!localhostNPs) chain('filter', 'KUBE-FIREWALL');
  return { tables: table, foreign: localhostNPs ? [] : ['KUBE-FIREWALL'] };
}

/** --nodeport-addresses: the node's addresses of this family inside the CIDRs (NodePortAddresses.GetNodeIPs). */
function nodePortIPs(p: KubeProxyParams, cidrs: string[]): string[] {
  const ips = new Set<string>();
  for (const cidr of cidrs) {
    for (const a of p.nodeAddresses) {
      if (!ipInCidr(a, cidr)) continue;
      // Loopback NodePorts need --iptables-localhost-nodeports (and never work for IPv6).
      if ((a.startsWith('127.') && !p.localhostNodePorts) || a === '::1') continue;
      ips.add(a);
    }
  }
  return [...ips].sort();
}

type Add = (t: TableName, chain: string, rule: string) => void;

function writeServicePort(sp: KubeProxyServicePort, p: KubeProxyParams, add: Add, masqIfNotLocal: string | undefined, epComment: (text: string) => string) {
  const name = servicePortName(sp);
  const proto = sp.protocol.toLowerCase();
  const pm = `-m ${proto} -p ${proto}`;
  const { cluster, local, allReachable, hasAny } = categorizeEndpoints(sp, p.nodeName);
  const svcChain = svcChainName(sp);
  const svlChain = svlChainName(sp);
  const extChain = extChainName(sp);
  const fwChain = fwChainName(sp);
  const usesCluster = cluster.length > 0 && usesClusterEndpoints(sp);
  const usesLocal = local.length > 0 && usesLocalEndpoints(sp);
  const extLocal = externallyAccessible(sp) && sp.externalPolicyLocal;
  const internalChain = sp.internalPolicyLocal ? svlChain : svcChain;
  const hasInternal = hasAny && !(sp.internalPolicyLocal && local.length === 0);
  const externalPolicyChain = extLocal ? svlChain : svcChain;
  const hasExternal = hasAny && !(extLocal && local.length === 0);
  const usesExt = hasAny && externallyAccessible(sp);
  const usesFw = hasAny && sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
  const lbChain = usesFw ? fwChain : extChain;
  const internalFilter = !hasAny ? ['REJECT', `${name} has no endpoints`] : ['DROP', `${name} has no local endpoints`];
  const externalFilter = internalFilter;

  // Capture the ClusterIP.
  const clusterIPMatch = `${pm} -d ${sp.clusterIP} --dport ${sp.port}`;
  if (hasInternal) add('nat', 'KUBE-SERVICES', `${comment(`${name} cluster IP`)} ${clusterIPMatch} -j ${internalChain}`);
  else add('filter', 'KUBE-SERVICES', `${comment(internalFilter[1]!)} ${clusterIPMatch} -j ${internalFilter[0]}`);

  for (const ip of sp.externalIPs) {
    if (hasAny) add('nat', 'KUBE-SERVICES', `${comment(`${name} external IP`)} ${pm} -d ${ip} --dport ${sp.port} -j ${extChain}`);
    if (!hasExternal) add('filter', 'KUBE-EXTERNAL-SERVICES', `${comment(externalFilter[1]!)} ${pm} -d ${ip} --dport ${sp.port} -j ${externalFilter[0]}`);
  }
  for (const ip of sp.loadBalancerVIPs) {
    if (hasAny) add('nat', 'KUBE-SERVICES', `${comment(`${name} loadbalancer IP`)} ${pm} -d ${ip} --dport ${sp.port} -j ${lbChain}`);
    if (usesFw) add('filter', 'KUBE-PROXY-FIREWALL', `${comment(`${name} traffic not accepted by ${fwChain}`)} ${pm} -d ${ip} --dport ${sp.port} -j DROP`);
  }
  if (!hasExternal) {
    for (const ip of sp.loadBalancerVIPs) add('filter', 'KUBE-EXTERNAL-SERVICES', `${comment(externalFilter[1]!)} ${pm} -d ${ip} --dport ${sp.port} -j ${externalFilter[0]}`);
  }
  if (sp.nodePort !== 0) {
    if (hasAny) {
      if (p.localhostNodePorts && p.nfacct.localhostNodePortsAccepted) {
        add('nat', 'KUBE-NODEPORTS', `${comment(name)} ${pm} -d 127.0.0.0/8 --dport ${sp.nodePort} -m nfacct --nfacct-name localhost_nps_accepted_pkts -j ${extChain}`);
      }
      add('nat', 'KUBE-NODEPORTS', `${comment(name)} ${pm} --dport ${sp.nodePort} -j ${extChain}`);
    }
    if (!hasExternal) add('filter', 'KUBE-EXTERNAL-SERVICES', `${comment(externalFilter[1]!)} -m addrtype --dst-type LOCAL ${pm} --dport ${sp.nodePort} -j ${externalFilter[0]}`);
  }
  if (sp.healthCheckNodePort !== 0) {
    // Health-check NodePorts are always TCP (the load balancer's HTTP probe).
    add('filter', 'KUBE-NODEPORTS', `${comment(`${name} health check node port`)} -m tcp -p tcp --dport ${sp.healthCheckNodePort} -j ACCEPT`);
  }

  // Internal traffic: masquerade what does not come from the pod network (or everything with masqueradeAll).
  if (hasInternal && masqIfNotLocal !== undefined) add('nat', internalChain, `${comment(`${name} cluster IP`)} ${clusterIPMatch}${masqIfNotLocal} -j KUBE-MARK-MASQ`);

  if (usesExt) {
    if (!extLocal) {
      add('nat', extChain, `${comment(`masquerade traffic for ${name} external destinations`)} -j KUBE-MARK-MASQ`);
    } else {
      // Pods reaching an external address of a Local-policy Service are short-circuited to all
      // endpoints, as if they had gone out to the load balancer and come back.
      if (p.clusterCIDR) add('nat', extChain, `${comment(`pod traffic for ${name} external destinations`)} -s ${p.clusterCIDR} -j ${svcChain}`);
      add('nat', extChain, `${comment(`masquerade LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`);
      add('nat', extChain, `${comment(`route LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${svcChain}`);
    }
    if (hasExternal) add('nat', extChain, `-j ${externalPolicyChain}`);
  }

  if (usesFw) {
    const fwComment = comment(`${name} loadbalancer IP`);
    let allowFromNode = false;
    for (const raw of sp.loadBalancerSourceRanges) {
      const cidr = normaliseCidr(raw);
      if (!cidr) continue;
      add('nat', fwChain, `${fwComment} -s ${cidr} -j ${extChain}`);
      const c = parseCidr(cidr);
      const n = parseIPv4(p.nodeIP);
      if (c && n !== undefined && cidrContains(c, n)) allowFromNode = true;
    }
    // A VIP-like LB address is often local to the node: requests from the node loop back with
    // the VIP as their source, and must be let through.
    if (allowFromNode) for (const ip of sp.loadBalancerVIPs) add('nat', fwChain, `${fwComment} -s ${ip} -j ${extChain}`);
    add('nat', fwChain, comment(`other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL`));
  }

  if (usesCluster) writeEndpointDispatch(sp, svcChain, cluster, add, epComment);
  if (usesLocal) writeEndpointDispatch(sp, svlChain, local, add, epComment);

  for (const ep of allReachable) {
    const sep = sepChainName(sp, ep);
    // Hairpin: a pod reaching itself through the Service must be masqueraded.
    add('nat', sep, `${epComment(name)}-s ${ep.ip} -j KUBE-MARK-MASQ`);
    const recent = sp.affinitySeconds !== undefined ? ` -m recent --name ${sep} --set` : '';
    add('nat', sep, `${epComment(name)}${recent.trimStart()}${recent ? ' ' : ''}${pm} -j DNAT --to-destination ${endpointString(ep)}`);
  }
}

/** writeServiceToEndpointRules: affinity checks first, then the probability ladder. */
function writeEndpointDispatch(sp: KubeProxyServicePort, chainName: string, eps: KubeProxyEndpoint[], add: Add, epComment: (text: string) => string) {
  const name = servicePortName(sp);
  if (sp.affinitySeconds !== undefined) {
    for (const ep of eps) {
      const sep = sepChainName(sp, ep);
      add('nat', chainName, `${epComment(`${name} -> ${endpointString(ep)}`)}-m recent --name ${sep} --rcheck --seconds ${sp.affinitySeconds} --reap -j ${sep}`);
    }
  }
  const n = eps.length;
  eps.forEach((ep, i) => {
    // Endpoint i of n is taken with probability 1/(n-i); the last one always.
    const stat = i < n - 1 ? `-m statistic --mode random --probability ${probability(n - i)} ` : '';
    add('nat', chainName, `${epComment(`${name} -> ${endpointString(ep)}`)}${stat}-j ${sepChainName(sp, ep)}`);
  });
}

/** loadBalancerSourceRanges entries may carry spaces; kube-proxy trims and parses them. */
function normaliseCidr(raw: string): string | undefined {
  const c = parseCidr(raw.trim());
  return c ? formatCidr(c) : undefined;
}
