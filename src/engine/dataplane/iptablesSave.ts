// iptables-save / iptables-restore text: render a ruleset, parse one back, and the normalisation
// kube-proxy's own tests apply before comparing dumps (proxier_test.go sortIPTablesRules).

import type { Topology } from '../types.ts';
import { ipInCidr, isIPv6 } from '../util/ip.ts';
import { kubeProxyIpvs, renderIpsets, renderIpvsadm, type IpvsState } from './kubeProxyIpvs.ts';
import { kubeProxyNftables, nftLoadOrder } from './kubeProxyNftables.ts';
import { addFlannelRules } from './flannel.ts';
import { addCiliumRules, emptyRuleset } from './cilium.ts';
import { builtinChains, kubeProxyRules, type Chain, type KubeProxyParams, type KubeProxyServicePort, type Ruleset, type TableName } from './kubeProxyIptables.ts';

const TABLE_ORDER: TableName[] = ['filter', 'nat'];

export function renderRuleset(rs: Ruleset, opts: { builtins: boolean }): string {
  const out: string[] = [];
  for (const t of TABLE_ORDER) {
    const chains = rs.tables[t].filter((c) => opts.builtins || !(builtinChains[t].includes(c.name) || rs.foreign?.includes(c.name)));
    out.push(`*${t}`);
    for (const c of chains) out.push(`:${c.name} ${builtinChains[t].includes(c.name) ? 'ACCEPT' : '-'} [0:0]`);
    for (const c of chains) for (const r of c.rules) out.push(`-A ${c.name} ${r}`);
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

/** Parse iptables-save / restore text into tables of chains with ordered rules. */
export function parseIptablesSave(text: string): Ruleset {
  const tables: Record<TableName, Chain[]> = { filter: [], nat: [] };
  let current: Chain[] | undefined;
  const find = (name: string) => {
    let c = current!.find((x) => x.name === name);
    if (!c) current!.push((c = { name, rules: [] }));
    return c;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      const t = line.slice(1).trim();
      current = t === 'filter' || t === 'nat' ? tables[t] : [];
    } else if (line === 'COMMIT') current = undefined;
    else if (current && line.startsWith(':')) find(line.slice(1).split(/\s+/)[0]!);
    else if (current && line.startsWith('-A ')) {
      const m = /^-A\s+(\S+)\s*(.*)$/.exec(line)!;
      find(m[1]!).rules.push(m[2]!);
    }
  }
  return { tables };
}

/**
 * kube-proxy's test normalisation: tables by name; KUBE-NODEPORTS, then KUBE-SERVICES, then the
 * other KUBE-* chains alphabetically, then other chains; rules of KUBE-SERVICES and KUBE-NODEPORTS
 * stably sorted by the service name in their comment, the "must be the last rule" jump kept last.
 */
export function normalizeKubeProxyDump(text: string): string {
  const rs = parseIptablesSave(text);
  const rank = (n: string) => (n === 'KUBE-NODEPORTS' ? '0' : n === 'KUBE-SERVICES' ? '1' : n.startsWith('KUBE-') ? '2' + n : '3' + n);
  const svcName = (rule: string) => /--comment "?([^" ]+)/.exec(rule)?.[1] ?? '';
  const out: Ruleset = { tables: { filter: [], nat: [] } };
  for (const t of TABLE_ORDER) {
    out.tables[t] = [...rs.tables[t]]
      .sort((a, b) => (rank(a.name) < rank(b.name) ? -1 : rank(a.name) > rank(b.name) ? 1 : 0))
      .map((c) => {
        if (c.name !== 'KUBE-SERVICES' && c.name !== 'KUBE-NODEPORTS') return c;
        const last = c.rules.filter((r) => r.includes('this must be the last rule'));
        const rest = c.rules.filter((r) => !r.includes('this must be the last rule'));
        const sorted = rest.map((r, i) => ({ r, i })).sort((a, b) => (svcName(a.r) < svcName(b.r) ? -1 : svcName(a.r) > svcName(b.r) ? 1 : a.i - b.i));
        return { name: c.name, rules: [...sorted.map((x) => x.r), ...last] };
      });
  }
  return renderRuleset(out, { builtins: true });
}

/** kube-proxy's view of the cluster's Services: one entry per Service port with a ClusterIP. */
/** `family`: each kube-proxy proxier handles one IP family and ignores the other's addresses. */
export function servicePortsOf(t: Topology, family: 'IPv4' | 'IPv6' = 'IPv4'): KubeProxyServicePort[] {
  const fam = (ip: string) => (isIPv6(ip) ? 'IPv6' : 'IPv4') === family;
  const out: KubeProxyServicePort[] = [];
  for (const s of t.services) {
    // Headless and ExternalName Services have no ClusterIP: kube-proxy writes nothing for them.
    if (s.clusterIP === 'None' || s.clusterIP === '' || s.type === 'ExternalName' || !fam(s.clusterIP)) continue;
    const exposed = s.type === 'NodePort' || s.type === 'LoadBalancer' || s.externalIPs.length > 0;
    for (const p of s.ports) {
      out.push({
        namespace: s.namespace,
        name: s.name,
        portName: p.name,
        clusterIP: s.clusterIP,
        port: p.port,
        protocol: p.protocol,
        nodePort: p.nodePort,
        externalIPs: s.externalIPs.filter(fam),
        loadBalancerVIPs: s.loadBalancerIPs.filter(fam),
        loadBalancerSourceRanges: s.loadBalancerSourceRanges,
        healthCheckNodePort: s.healthCheckNodePort,
        externalPolicyLocal: exposed && s.externalTrafficPolicy === 'Local',
        internalPolicyLocal: s.internalTrafficPolicy === 'Local',
        affinitySeconds: s.affinitySeconds,
        endpoints: s.endpoints
          .filter((e) => e.portName === p.name && e.protocol === p.protocol && fam(e.ip))
          .map((e) => ({ ip: e.ip, port: e.port, ready: e.ready, serving: e.serving, terminating: e.terminating, nodeName: e.nodeName })),
      });
    }
  }
  // kube-proxy walks a map; we write Services in name order, the order its tests normalise to.
  return out.sort((a, b) => (`${a.namespace}/${a.name}:${a.portName}` < `${b.namespace}/${b.name}:${b.portName}` ? -1 : 1));
}

/** kube-proxy's flags on a kubeadm node (KubeProxyConfiguration defaults, Kubernetes ≥ 1.29). */
export function kubeProxyParamsFor(t: Topology, nodeName: string): KubeProxyParams {
  const node = t.nodes.find((n) => n.name === nodeName);
  const kp = t.settings.kubeProxy;
  return {
    nodeName,
    nodeIP: node?.ip ?? '',
    nodeAddresses: ['127.0.0.1', ...(node?.interfaces.filter((i) => i.address).map((i) => i.address!.split('/')[0]!) ?? [])],
    clusterCIDR: kp.clusterCIDR,
    masqueradeBit: kp.masqueradeBit,
    masqueradeAll: kp.masqueradeAll,
    localhostNodePorts: kp.localhostNodePorts,
    nodePortAddresses: kp.nodePortAddresses,
    nfacct: { ctStateInvalidDropped: true, localhostNodePortsAccepted: true },
    // iptables ≥ 1.6.2 supports it, so kube-proxy always adds it on current distributions.
    randomFully: true,
    conntrackTCPLiberal: false,
  };
}

/** Does kube-proxy run on the nodes? Not when Cilium replaces it (kube-proxy-replacement: "true"). */
export function kubeProxyRuns(t: Topology): boolean {
  return !(t.settings.cni.plugin === 'cilium' && t.settings.cni.kubeProxyReplacement);
}

/** The iptables rules on a node: kube-proxy's (unless Cilium replaces it), plus the CNI's own chains (flanneld's, Cilium's). */
export function nodeRuleset(t: Topology, nodeName: string): Ruleset {
  return withCniRules(t, nodeName, kubeProxyRuns(t) ? kubeProxyRules(servicePortsOf(t), kubeProxyParamsFor(t, nodeName)) : emptyRuleset());
}

function withCniRules(t: Topology, nodeName: string, rs: Ruleset): Ruleset {
  const node = t.nodes.find((n) => n.name === nodeName);
  if (!node) return rs;
  if (t.settings.cni.plugin === 'flannel') return addFlannelRules(rs, t.settings.podCIDR, node.podCIDR);
  if (t.settings.cni.plugin === 'cilium') return addCiliumRules(rs, t, node.podCIDR);
  return rs;
}

/** The node's filter and nat tables as kube-proxy and flanneld leave them (iptables-restore format). */
export function iptablesSave(t: Topology, nodeName: string): string {
  if (!t.nodes.some((n) => n.name === nodeName)) throw new Error(`no node ${nodeName}`);
  const cni = t.settings.cni.plugin;
  const who = !kubeProxyRuns(t) ? "Cilium's iptables rules (no kube-proxy: Cilium's kube-proxy replacement handles Services in BPF)" : cni === 'flannel' ? 'kube-proxy (iptables mode) and flanneld rules' : cni === 'cilium' ? "kube-proxy (iptables mode) and Cilium's rules" : 'kube-proxy (iptables mode) rules';
  return `# ${who} on ${nodeName}, as they write them (iptables-restore input)\n` + renderRuleset(nodeRuleset(t, nodeName), { builtins: true });
}

/** kube-proxy's IPVS state on one node (simulated). */
export function nodeIpvsState(t: Topology, nodeName: string): IpvsState {
  const node = t.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no node ${nodeName}`);
  const kp = kubeProxyParamsFor(t, nodeName);
  const state = kubeProxyIpvs(servicePortsOf(t), {
    nodeName,
    nodeIP: node.ip,
    nodeIPs: kp.nodeAddresses,
    nodePortAddresses: kp.nodePortAddresses,
    clusterCIDR: kp.clusterCIDR,
    masqueradeAll: kp.masqueradeAll,
    masqueradeBit: kp.masqueradeBit,
    scheduler: 'rr',
    randomFully: kp.randomFully,
  });
  return { ...state, ruleset: withCniRules(t, nodeName, state.ruleset) };
}

/** IPVS mode on one node (simulated): `ipvsadm -Ln`, the ipsets, and the iptables rules of that mode. */
export function ipvsSave(t: Topology, nodeName: string): string {
  const state = nodeIpvsState(t, nodeName);
  return [
    `# kube-proxy IPVS mode on ${nodeName} (simulated: IPVS is not built into this machine's kernel)`,
    `# kube-ipvs0 (dummy device) holds: ${state.dummyAddresses.join(', ') || '(nothing)'}`,
    '# ipvsadm -Ln',
    renderIpvsadm(state).trimEnd(),
    '# ipset save (the sets kube-proxy fills)',
    renderIpsets(state).trimEnd(),
    '# iptables rules of IPVS mode (iptables-restore input)',
    renderRuleset(state.ruleset, { builtins: true }).trimEnd(),
  ].join('\n') + '\n';
}

/** nftables mode on one node: the `table ip kube-proxy` ruleset, in an order `nft -f` loads. */
export function nftablesSave(t: Topology, nodeName: string): string {
  const node = t.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no node ${nodeName}`);
  const kp = kubeProxyParamsFor(t, nodeName);
  const lines = kubeProxyNftables(servicePortsOf(t), {
    nodeName,
    nodeIP: node.ip,
    clusterCIDR: kp.clusterCIDR,
    serviceCIDR: t.settings.serviceCIDR,
    masqueradeAll: kp.masqueradeAll,
    masqueradeBit: kp.masqueradeBit,
    // In nftables mode --nodeport-addresses defaults to the node's primary IPs (KEP-3866).
    nodePortIPs: kp.nodePortAddresses ? kp.nodeAddresses.filter((a) => !a.startsWith('127.') && kp.nodePortAddresses!.some((c) => ipInCidr(a, c))) : [node.ip],
  });
  return `# kube-proxy (nftables mode) ruleset on ${nodeName}, as nft -f input\n${nftLoadOrder(lines)}`;
}

/** The node's kube-proxy state in the mode the cluster runs (KubeProxyConfiguration.mode). */
export function kubeProxySave(t: Topology, nodeName: string): string {
  if (!kubeProxyRuns(t)) return ciliumSave(t, nodeName);
  const mode = t.settings.kubeProxy.mode;
  return mode === 'ipvs' ? ipvsSave(t, nodeName) : mode === 'nftables' ? nftablesSave(t, nodeName) : iptablesSave(t, nodeName);
}

/**
 * A node of a cluster where Cilium replaces kube-proxy: Cilium's own iptables chains, and its
 * Service table in BPF (the shape of `cilium-dbg bpf lb list`: each frontend with its backends).
 */
export function ciliumSave(t: Topology, nodeName: string): string {
  const lines = ['# cilium-dbg bpf lb list (the BPF Service map: frontend → backends; no iptables rule per Service)', 'SERVICE ADDRESS          BACKEND ADDRESS'];
  for (const svc of t.services) {
    if (svc.clusterIP === 'None' || !svc.clusterIP) continue;
    for (const port of svc.ports) {
      const backends = svc.endpoints.filter((e) => e.portName === port.name && e.protocol === port.protocol && e.ready);
      const fronts = [`${svc.clusterIP}:${port.port}`, ...(port.nodePort ? [`0.0.0.0:${port.nodePort} (NodePort)`] : []), ...svc.loadBalancerIPs.map((a) => `${a}:${port.port} (LoadBalancer)`), ...svc.externalIPs.map((a) => `${a}:${port.port} (ExternalIP)`)];
      for (const f of fronts) {
        lines.push(`${f.padEnd(24)} ${backends.length ? `${backends[0]!.ip}:${backends[0]!.port}` : '(no backends)'}   # ${svc.namespace}/${svc.name}`);
        for (const b of backends.slice(1)) lines.push(`${''.padEnd(24)} ${b.ip}:${b.port}`);
      }
    }
  }
  return `${iptablesSave(t, nodeName)}\n${lines.join('\n')}\n`;
}
