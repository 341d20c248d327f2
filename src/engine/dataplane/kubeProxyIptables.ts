// kube-proxy's iptables mode: the rules it writes for every node, as text, exactly as kube-proxy
// writes its iptables-restore input. Source: kubernetes pkg/proxy/iptables/proxier.go
// (syncProxyRules, writeServiceToEndpointRules, iptablesJumpChains) and the expected dumps of
// pkg/proxy/iptables/proxier_test.go (../shared/conformance/kube-proxy).
// This skeleton writes ClusterIP Services (with endpoints, or REJECT without); NodePort,
// LoadBalancer, external IPs, traffic policies and affinity come with issue 4.

import type { Protocol } from '../types.ts';
import { kubeProxyHash16 } from '../util/hash.ts';

export interface KubeProxyParams {
  nodeName: string;
  /** The local-traffic detector's cluster CIDR ("! -s <cidr> -j KUBE-MARK-MASQ"). */
  clusterCIDR: string;
  /** --iptables-masquerade-bit 14 → 0x4000. */
  masqueradeBit: number;
  /** Kubernetes ≥ 1.29 counts dropped invalid packets with nfacct objects. */
  nfacct: boolean;
}

export interface KubeProxyServicePort {
  namespace: string;
  name: string;
  portName: string;
  clusterIP: string;
  port: number;
  protocol: Protocol;
  /** Ready endpoints, already in kube-proxy's order (sorted by "IP:port"). */
  endpoints: { ip: string; port: number }[];
}

export type TableName = 'filter' | 'nat';

export interface Chain {
  name: string;
  /** Rules as kube-proxy writes them, without the leading "-A <chain> ". */
  rules: string[];
}

export interface Ruleset {
  tables: Record<TableName, Chain[]>;
}

export const builtinChains: Record<TableName, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/** "ns/svc:port" — the ServicePortName string that kube-proxy hashes and prints in comments. */
export function servicePortName(sp: Pick<KubeProxyServicePort, 'namespace' | 'name' | 'portName'>): string {
  return `${sp.namespace}/${sp.name}${sp.portName ? ':' + sp.portName : ''}`;
}

export function svcChainName(sp: KubeProxyServicePort): string {
  return `KUBE-SVC-${kubeProxyHash16(servicePortName(sp) + sp.protocol.toLowerCase())}`;
}

export function sepChainName(sp: KubeProxyServicePort, ep: { ip: string; port: number }): string {
  return `KUBE-SEP-${kubeProxyHash16(servicePortName(sp) + sp.protocol.toLowerCase() + `${ep.ip}:${ep.port}`)}`;
}

/** kube-proxy quotes a comment only when it contains a space (it passes `"..."` itself). */
function comment(text: string): string {
  return `-m comment --comment ${/\s/.test(text) ? `"${text}"` : text}`;
}

/** computeProbability: 1/n printed with 10 decimals (proxier.go). */
function probability(n: number): string {
  return (1 / n).toFixed(10);
}

/** The rules kube-proxy writes for one node. */
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

  // Built-in chain jumps. kube-proxy ensures each with "-I <chain> 1" (Prepend) in the order of
  // iptablesJumpChains, so the last one listed ends up first; kubelet's KUBE-FIREWALL jumps were
  // there before kube-proxy started and end up last.
  const jumps: [TableName, string, string, string][] = [
    ['filter', 'INPUT', '-m conntrack --ctstate NEW ' + comment('kubernetes load balancer firewall'), 'KUBE-PROXY-FIREWALL'],
    ['filter', 'INPUT', comment('kubernetes health check service ports'), 'KUBE-NODEPORTS'],
    ['filter', 'INPUT', '-m conntrack --ctstate NEW ' + comment('kubernetes externally-visible service portals'), 'KUBE-EXTERNAL-SERVICES'],
    ['filter', 'INPUT', '', 'KUBE-FIREWALL'],
    ['filter', 'FORWARD', '-m conntrack --ctstate NEW ' + comment('kubernetes load balancer firewall'), 'KUBE-PROXY-FIREWALL'],
    ['filter', 'FORWARD', comment('kubernetes forwarding rules'), 'KUBE-FORWARD'],
    ['filter', 'FORWARD', '-m conntrack --ctstate NEW ' + comment('kubernetes service portals'), 'KUBE-SERVICES'],
    ['filter', 'FORWARD', '-m conntrack --ctstate NEW ' + comment('kubernetes externally-visible service portals'), 'KUBE-EXTERNAL-SERVICES'],
    ['filter', 'OUTPUT', '-m conntrack --ctstate NEW ' + comment('kubernetes load balancer firewall'), 'KUBE-PROXY-FIREWALL'],
    ['filter', 'OUTPUT', '-m conntrack --ctstate NEW ' + comment('kubernetes service portals'), 'KUBE-SERVICES'],
    ['filter', 'OUTPUT', '', 'KUBE-FIREWALL'],
    ['nat', 'PREROUTING', comment('kubernetes service portals'), 'KUBE-SERVICES'],
    ['nat', 'OUTPUT', comment('kubernetes service portals'), 'KUBE-SERVICES'],
    ['nat', 'POSTROUTING', comment('kubernetes postrouting rules'), 'KUBE-POSTROUTING'],
  ];
  for (const t of ['filter', 'nat'] as const) for (const b of builtinChains[t]) chain(t, b);
  for (const [t, c, match, target] of jumps) chain(t, c).rules.push(`${match ? match + ' ' : ''}-j ${target}`);

  // The chains of every sync, in the order kube-proxy declares them.
  for (const c of ['KUBE-NODEPORTS', 'KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FIREWALL', 'KUBE-FORWARD', 'KUBE-PROXY-FIREWALL']) chain('filter', c);
  for (const c of ['KUBE-NODEPORTS', 'KUBE-SERVICES', 'KUBE-MARK-MASQ', 'KUBE-POSTROUTING']) chain('nat', c);

  chain('filter', 'KUBE-FIREWALL').rules.push(
    `${comment('block incoming localnet connections')} -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
  );
  chain('filter', 'KUBE-FORWARD').rules.push(
    `-m conntrack --ctstate INVALID${p.nfacct ? ' -m nfacct --nfacct-name ct_state_invalid_dropped_pkts' : ''} -j DROP`,
    `${comment('kubernetes forwarding rules')} -m mark --mark ${mark}/${mark} -j ACCEPT`,
    `${comment('kubernetes forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  );
  chain('nat', 'KUBE-MARK-MASQ').rules.push(`-j MARK --or-mark ${mark}`);
  chain('nat', 'KUBE-POSTROUTING').rules.push(
    `-m mark ! --mark ${mark}/${mark} -j RETURN`,
    // Clear the mark so a packet re-traversing the stack is not masqueraded twice.
    `-j MARK --xor-mark ${mark}`,
    `${comment('kubernetes service traffic requiring SNAT')} -j MASQUERADE`,
  );

  const svcRules = chain('nat', 'KUBE-SERVICES').rules;
  for (const sp of ports) {
    const name = servicePortName(sp);
    const proto = sp.protocol.toLowerCase();
    const dst = `-m ${proto} -p ${proto} -d ${sp.clusterIP} --dport ${sp.port}`;
    if (sp.endpoints.length === 0) {
      // No endpoints: the filter table rejects, so the client gets "connection refused" (ICMP
      // port unreachable) instead of a timeout.
      chain('filter', 'KUBE-SERVICES').rules.push(`${comment(`${name} has no endpoints`)} ${dst} -j REJECT`);
      continue;
    }
    const svcChain = svcChainName(sp);
    svcRules.push(`${comment(`${name} cluster IP`)} ${dst} -j ${svcChain}`);
    const svc = chain('nat', svcChain);
    // Traffic to the ClusterIP from outside the pod network is masqueraded (local detector).
    svc.rules.push(`${comment(`${name} cluster IP`)} ${dst} ! -s ${p.clusterCIDR} -j KUBE-MARK-MASQ`);
    const n = sp.endpoints.length;
    sp.endpoints.forEach((ep, i) => {
      const sep = sepChainName(sp, ep);
      const stat = i < n - 1 ? ` -m statistic --mode random --probability ${probability(n - i)}` : '';
      svc.rules.push(`${comment(`${name} -> ${ep.ip}:${ep.port}`)}${stat} -j ${sep}`);
      const c = chain('nat', sep);
      // Hairpin: a pod reaching itself through the Service must be masqueraded.
      c.rules.push(`${comment(name)} -s ${ep.ip} -j KUBE-MARK-MASQ`);
      c.rules.push(`${comment(name)} -m ${proto} -p ${proto} -j DNAT --to-destination ${ep.ip}:${ep.port}`);
    });
  }
  svcRules.push(`${comment('kubernetes service nodeports; NOTE: this must be the last rule in this chain')} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`);
  return { tables: table };
}
