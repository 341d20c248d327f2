// kube-proxy's nftables mode: the `table ip kube-proxy` ruleset as kube-proxy writes it
// (`add table|chain|rule|set|map|element …` statements). Source: kubernetes pkg/proxy/nftables/
// proxier.go (setupNFTables, syncProxyRules, writeServiceToEndpointRules) and the expected rulesets
// of pkg/proxy/nftables/proxier_test.go (../shared/conformance/kube-proxy-nftables).
// Dispatch uses verdict maps instead of per-Service rules: service-ips (daddr . proto . dport),
// service-nodeports (proto . port), firewall-ips, no-endpoint-services / -nodeports.

import { kubeProxyHash } from '../util/hash.ts';
import { cidrContains, formatCidr, parseCidr, parseIPv4 } from '../util/ipv4.ts';
import { categorizeEndpoints, externallyAccessible, usesClusterEndpoints, usesLocalEndpoints } from './kubeProxyEndpoints.ts';
import type { KubeProxyEndpoint, KubeProxyServicePort } from './kubeProxyIptables.ts';

export interface NftParams {
  /** The nftables family of the table: ip (IPv4 proxier) or ip6 (IPv6 proxier). */
  family?: 'ip' | 'ip6';
  nodeName: string;
  /** The node's IP: source ranges containing it also admit the LB IPs as sources (VIPs bound locally). */
  nodeIP?: string;
  clusterCIDR: string | null;
  serviceCIDR: string;
  masqueradeAll: boolean;
  masqueradeBit: number;
  /** The node IPs that accept NodePort traffic (nftables mode defaults to the primary node IPs). */
  nodePortIPs: string[];
}


/**
 * hash8(name) + "-" + name, cut to 240 characters with "..." (knftables' 256-character limit minus
 * the longest prefix; pkg/proxy/nftables/proxier.go hashAndTruncate).
 */
function hashAndTruncate(name: string): string {
  const out = `${kubeProxyHash(name, 8)}-${name}`;
  return out.length > 240 ? out.slice(0, 237) + '...' : out;
}

/** "<ns>/<svc>/<proto>/<portName>" (servicePortChainNameBase). */
function svcBase(sp: KubeProxyServicePort): string {
  return hashAndTruncate(`${sp.namespace}/${sp.name}/${sp.protocol.toLowerCase()}/${sp.portName}`);
}

/** …"__<ip>/<port>" for an endpoint; an IPv6 address has its colons turned into dots (servicePortEndpointChainNameBase). */
function epBase(sp: KubeProxyServicePort, ep: KubeProxyEndpoint): string {
  return hashAndTruncate(`${sp.namespace}/${sp.name}/${sp.protocol.toLowerCase()}/${sp.portName}__${ep.ip.replaceAll(':', '.')}/${ep.port}`);
}

/** The whole ruleset for one node, one statement per line. */
export function kubeProxyNftables(ports: KubeProxyServicePort[], p: NftParams): string[] {
  const mark = `0x${(1 << p.masqueradeBit).toString(16)}`;
  const fam = p.family ?? 'ip';
  const T = `${fam} kube-proxy`;
  const addrType = fam === 'ip6' ? 'ipv6_addr' : 'ipv4_addr';
  const out: string[] = [
    `add table ${T} { comment "rules for kube-proxy" ; }`,
    `add set ${T} cluster-ips { type ${addrType} ; comment "Active ClusterIPs" ; }`,
    `add set ${T} nodeport-ips { type ${addrType} ; comment "IPs that accept NodePort traffic" ; }`,
    `add map ${T} firewall-ips { type ${addrType} . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`,
    `add map ${T} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
    `add map ${T} no-endpoint-services { type ${addrType} . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
    `add map ${T} service-ips { type ${addrType} . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
    `add map ${T} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`,
    `add chain ${T} cluster-ips-check`,
    // Filtering before DNAT (priority -110, before nat's -100), the regular filter hooks at 0.
    `add chain ${T} filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }`,
    `add chain ${T} filter-output-pre-dnat { type filter hook output priority -110 ; }`,
    `add chain ${T} filter-forward { type filter hook forward priority 0 ; }`,
    `add chain ${T} filter-input { type filter hook input priority 0 ; }`,
    `add chain ${T} filter-output { type filter hook output priority 0 ; }`,
    `add chain ${T} firewall-check`,
    `add chain ${T} mark-for-masquerade`,
    `add chain ${T} masquerading`,
    `add chain ${T} nat-output { type nat hook output priority -100 ; }`,
    `add chain ${T} nat-postrouting { type nat hook postrouting priority 100 ; }`,
    `add chain ${T} nat-prerouting { type nat hook prerouting priority -100 ; }`,
    `add chain ${T} nodeport-endpoints-check`,
    `add chain ${T} reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`,
    `add chain ${T} services`,
    `add chain ${T} service-endpoints-check`,
    `add rule ${T} cluster-ips-check ${fam} daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
    `add rule ${T} cluster-ips-check ${fam} daddr { ${p.serviceCIDR} } drop comment "Drop traffic to unallocated ClusterIPs"`,
    `add rule ${T} filter-prerouting-pre-dnat ct state new jump firewall-check`,
    `add rule ${T} filter-forward ct state new jump service-endpoints-check`,
    `add rule ${T} filter-forward ct state new jump cluster-ips-check`,
    `add rule ${T} filter-input ct state new jump nodeport-endpoints-check`,
    `add rule ${T} filter-input ct state new jump service-endpoints-check`,
    `add rule ${T} filter-output ct state new jump service-endpoints-check`,
    `add rule ${T} filter-output-pre-dnat ct state new jump firewall-check`,
    `add rule ${T} filter-output ct state new jump cluster-ips-check`,
    `add rule ${T} firewall-check ${fam} daddr . meta l4proto . th dport vmap @firewall-ips`,
    `add rule ${T} mark-for-masquerade mark set mark or ${mark}`,
    `add rule ${T} masquerading mark and ${mark} == 0 return`,
    `add rule ${T} masquerading mark set mark xor ${mark}`,
    `add rule ${T} masquerading masquerade fully-random`,
    `add rule ${T} nat-output jump services`,
    `add rule ${T} nat-postrouting jump masquerading`,
    `add rule ${T} nat-prerouting jump services`,
    `add rule ${T} nodeport-endpoints-check ${fam} daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports`,
    `add rule ${T} reject-chain reject`,
    `add rule ${T} services ${fam} daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ${T} services ${fam} daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports`,
    `add rule ${T} service-endpoints-check ${fam} daddr . meta l4proto . th dport vmap @no-endpoint-services`,
    ...p.nodePortIPs.map((ip) => `add element ${T} nodeport-ips { ${ip} }`),
  ];
  for (const sp of ports) out.push(...servicePortStatements(sp, p, T, fam, addrType));
  return out;
}

function servicePortStatements(sp: KubeProxyServicePort, p: NftParams, T: string, fam: string, addrType: string): string[] {
  const out: string[] = [];
  const name = `${sp.namespace}/${sp.name}${sp.portName ? ':' + sp.portName : ''}`;
  const proto = sp.protocol.toLowerCase();
  const base = svcBase(sp);
  const { cluster, local, allReachable, hasAny } = categorizeEndpoints(sp, p.nodeName);
  const clusterChain = `service-${base}`;
  // Chain prefixes: proxier.go servicePortPolicyClusterChainNamePrefix "service-", …LocalChainNamePrefix "local-".
  const localChain = `local-${base}`;
  const extChain = `external-${base}`;
  const fwChain = `firewall-${base}`;
  const extLocal = externallyAccessible(sp) && sp.externalPolicyLocal;
  const internalChain = sp.internalPolicyLocal ? localChain : clusterChain;
  const hasInternal = hasAny && !(sp.internalPolicyLocal && local.length === 0);
  const hasExternal = hasAny && !(extLocal && local.length === 0);
  const usesExt = hasAny && externallyAccessible(sp);
  const usesFw = hasAny && sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
  const noEndpoints = (key: string, map: string) => out.push(`add element ${T} ${map} { ${key} comment "${name}" : ${hasAny ? 'drop' : 'goto reject-chain'} }`);

  out.push(`add element ${T} cluster-ips { ${sp.clusterIP} }`);
  const cipKey = `${sp.clusterIP} . ${proto} . ${sp.port}`;
  if (hasInternal) out.push(`add element ${T} service-ips { ${cipKey} : goto ${internalChain} }`);
  else noEndpoints(cipKey, 'no-endpoint-services');
  for (const ip of [...sp.externalIPs, ...sp.loadBalancerVIPs]) {
    const key = `${ip} . ${proto} . ${sp.port}`;
    if (hasAny) out.push(`add element ${T} service-ips { ${key} : goto ${extChain} }`);
    if (usesFw && sp.loadBalancerVIPs.includes(ip)) out.push(`add element ${T} firewall-ips { ${key} : goto ${fwChain} }`);
    if (!hasExternal) noEndpoints(key, 'no-endpoint-services');
  }
  if (sp.nodePort) {
    const key = `${proto} . ${sp.nodePort}`;
    if (hasAny) out.push(`add element ${T} service-nodeports { ${key} : goto ${extChain} }`);
    if (!hasExternal) noEndpoints(key, 'no-endpoint-nodeports');
  }

  const chains = new Map<string, string[]>();
  const rule = (chain: string, r: string) => {
    if (!chains.has(chain)) chains.set(chain, []);
    chains.get(chain)!.push(`add rule ${T} ${chain} ${r}`);
  };
  if (hasInternal) {
    if (p.masqueradeAll) rule(internalChain, `${fam} daddr ${sp.clusterIP} jump mark-for-masquerade`);
    else if (p.clusterCIDR) rule(internalChain, `${fam} daddr ${sp.clusterIP} ${fam} saddr != ${p.clusterCIDR} jump mark-for-masquerade`);
  }
  if (usesExt) {
    if (!extLocal) {
      rule(extChain, 'jump mark-for-masquerade');
    } else {
      if (p.clusterCIDR) rule(extChain, `${fam} saddr ${p.clusterCIDR} goto ${clusterChain} comment "short-circuit pod traffic"`);
      rule(extChain, 'fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"');
      rule(extChain, `fib saddr type local goto ${clusterChain} comment "short-circuit local traffic"`);
    }
    if (hasExternal) rule(extChain, `goto ${extLocal ? localChain : clusterChain}`);
  }
  if (usesFw) {
    const cidrs = sp.loadBalancerSourceRanges.map((r) => parseCidr(r.trim())).filter((c) => c !== undefined);
    const node = p.nodeIP ? parseIPv4(p.nodeIP) : undefined;
    const allowFromNode = node !== undefined && cidrs.some((c) => cidrContains(c, node));
    const sources = [...cidrs.map(formatCidr), ...(allowFromNode ? sp.loadBalancerVIPs : [])];
    // knftables.Concat joins the "{", cidr, ",", … tokens with spaces (proxier.go).
    rule(fwChain, `${fam} saddr != { ${sources.join(' , ')} } drop`);
  }
  const dispatch = (chain: string, eps: KubeProxyEndpoint[]) => {
    if (sp.affinitySeconds !== undefined) for (const ep of eps) rule(chain, `${fam} saddr @affinity-${epBase(sp, ep)} goto endpoint-${epBase(sp, ep)}`);
    rule(chain, `numgen random mod ${eps.length} vmap { ${eps.map((ep, i) => `${i} : goto endpoint-${epBase(sp, ep)}`).join(' , ')} }`);
  };
  if (cluster.length && usesClusterEndpoints(sp)) dispatch(clusterChain, cluster);
  if (local.length && usesLocalEndpoints(sp)) dispatch(localChain, local);
  for (const ep of allReachable) {
    const eb = epBase(sp, ep);
    if (sp.affinitySeconds !== undefined) out.push(`add set ${T} affinity-${eb} { type ${addrType} ; flags dynamic,timeout ; timeout ${sp.affinitySeconds}s ; }`);
    rule(`endpoint-${eb}`, `${fam} saddr ${ep.ip} jump mark-for-masquerade`);
    if (sp.affinitySeconds !== undefined) rule(`endpoint-${eb}`, `update @affinity-${eb} { ${fam} saddr }`);
    rule(`endpoint-${eb}`, `meta l4proto ${proto} dnat to ${ep.ip.includes(':') ? `[${ep.ip}]` : ep.ip}:${ep.port}`);
  }
  for (const [chain, rules] of chains) out.push(`add chain ${T} ${chain}`, ...rules);
  return out;
}

/**
 * The normalisation kube-proxy's nftables tests apply before comparing: drop blank and comment
 * lines; stable-sort by object type (table, chain, rule, set, map, element), then by object name
 * (the 5th word); rules of one chain keep their order; other lines with the same name by full text.
 */
export function normalizeNft(lines: string[]): string[] {
  const order = ['table', 'chain', 'rule', 'set', 'map', 'element'];
  const items = lines.map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l, i) => ({ l, i, w: l.split(/\s+/) }));
  return items
    .sort((a, b) => {
      const ta = order.indexOf(a.w[1]!);
      const tb = order.indexOf(b.w[1]!);
      if (ta !== tb) return ta - tb;
      const na = a.w[4] ?? '';
      const nb = b.w[4] ?? '';
      if (na !== nb) return na < nb ? -1 : 1;
      if (a.w[1] === 'rule') return a.i - b.i;
      return a.l < b.l ? -1 : a.l > b.l ? 1 : 0;
    })
    .map((x) => x.l);
}

/** A loadable order for `nft -f`: table, sets, maps, chains, rules, elements. */
export function nftLoadOrder(lines: string[]): string {
  const rank = (l: string) => ['table', 'set', 'map', 'chain', 'rule', 'element'].indexOf(l.split(/\s+/)[1]!);
  return lines.map((l, i) => ({ l, i })).sort((a, b) => rank(a.l) - rank(b.l) || a.i - b.i).map((x) => x.l).join('\n') + '\n';
}
