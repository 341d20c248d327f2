// kube-proxy at scale: rule generation for N Services × 10 endpoints, and the cost of one packet
// to the last Service in each mode — iptables walks KUBE-SERVICES (a linear list: the last Service
// is the worst case); IPVS matches a hash:ip,port ipset and looks the virtual server up in a hash
// table; nftables looks the destination up in the service-ips verdict map.
import { performance } from 'node:perf_hooks';
import { renderRuleset } from '../src/engine/dataplane/iptablesSave.ts';
import { kubeProxyRules, type KubeProxyParams, type KubeProxyServicePort } from '../src/engine/dataplane/kubeProxyIptables.ts';
import { findVirtualServer, kubeProxyIpvs } from '../src/engine/dataplane/kubeProxyIpvs.ts';
import { kubeProxyNftables } from '../src/engine/dataplane/kubeProxyNftables.ts';
import { runHook, type NfContext, type NfPacket } from '../src/engine/dataplane/netfilter.ts';
import { parseNft, runNftHook } from '../src/engine/dataplane/nftWalker.ts';
import { formatIPv4 } from '../src/engine/util/ipv4.ts';
import { createPrng } from '../src/engine/util/prng.ts';
import { summary } from './stats.ts';

const params: KubeProxyParams = {
  nodeName: 'node-1', nodeIP: '192.168.1.11', nodeAddresses: ['127.0.0.1', '192.168.1.11'], clusterCIDR: '10.244.0.0/16', masqueradeBit: 14,
  masqueradeAll: false, localhostNodePorts: true, nodePortAddresses: null, nfacct: { ctStateInvalidDropped: true, localhostNodePortsAccepted: true }, randomFully: true, conntrackTCPLiberal: false,
};

export function servicePorts(n: number, endpoints: number): KubeProxyServicePort[] {
  return Array.from({ length: n }, (_, i) => ({
    namespace: 'bench', name: `svc-${i}`, portName: 'http', clusterIP: formatIPv4(0x0a600000 + 16 + i), port: 80, protocol: 'TCP' as const,
    nodePort: 0, externalIPs: [], loadBalancerVIPs: [], loadBalancerSourceRanges: [], healthCheckNodePort: 0, externalPolicyLocal: false, internalPolicyLocal: false,
    endpoints: Array.from({ length: endpoints }, (_, e) => ({ ip: formatIPv4(0x0af40000 + i * endpoints + e + 2), port: 8080, ready: true, serving: true, terminating: false })),
  }));
}

export function benchKubeProxy(sizes: number[], runs = 7) {
  const rows: string[] = [];
  let prev: number | undefined;
  for (const n of sizes) {
    const ports = servicePorts(n, 10);
    const gen: number[] = [];
    let rules = 0;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      const rs = kubeProxyRules(ports, params);
      const text = renderRuleset(rs, { builtins: true });
      gen.push(performance.now() - t0);
      rules = text.split('\n').filter((l) => l.startsWith('-A ')).length;
    }
    const rs = kubeProxyRules(ports, params);
    const last = ports[n - 1]!;
    const walk: number[] = [];
    let tested = 0;
    for (let r = 0; r < runs * 3; r++) {
      const t0 = performance.now();
      const res = runHook(rs, 'PREROUTING', { src: '10.244.1.3', dst: last.clusterIP, proto: 'tcp', sport: 40000, dport: 80, mark: 0 }, { localIPs: new Set(['192.168.1.11']), ctstate: 'NEW', ctDnat: false, rng: createPrng(r), ifaceAddress: () => undefined }, true);
      walk.push(performance.now() - t0);
      tested = res.steps.length;
    }
    const g = summary(gen);
    const w = summary(walk);
    rows.push(`${String(n).padStart(6)} Services × 10 endpoints: ${String(rules).padStart(7)} rules, generate+render median ${g.median.toFixed(1)} ms p95 ${g.p95.toFixed(1)} ms${prev ? ` (×${(g.median / prev).toFixed(1)} for ×10 Services)` : ''}`);
    prev = g.median;

    // One packet to the last Service, per mode (indexes are built once, before the timed runs).
    const pkt: NfPacket = { src: '10.244.1.3', dst: last.clusterIP, proto: 'tcp', sport: 40000, dport: 80, mark: 0 };
    const ipvs = kubeProxyIpvs(ports, { nodeName: 'node-1', nodeIP: '192.168.1.11', nodeIPs: ['192.168.1.11'], nodePortAddresses: null, clusterCIDR: '10.244.0.0/16', masqueradeAll: false, masqueradeBit: 14, scheduler: 'rr', randomFully: true });
    const ipvsLocal = new Set(['192.168.1.11', ...ipvs.dummyAddresses]);
    const ipvsCtx = (r: number): NfContext => ({ localIPs: ipvsLocal, ctstate: 'NEW', ctDnat: false, rng: createPrng(r), ifaceAddress: () => undefined, ipsets: ipvs.ipsets });
    const ipvsPacket = (r: number) => {
      const res = runHook(ipvs.ruleset, 'PREROUTING', pkt, ipvsCtx(r), true);
      const vs = findVirtualServer(ipvs, 'TCP', pkt.dst, pkt.dport)!;
      return { tested: res.steps.length, rs: vs.realServers[createPrng(r).int(0, vs.realServers.length - 1)] };
    };
    ipvsPacket(0);
    const nft = parseNft(kubeProxyNftables(ports, { nodeName: 'node-1', nodeIP: '192.168.1.11', clusterCIDR: '10.244.0.0/16', serviceCIDR: '10.96.0.0/12', masqueradeAll: false, masqueradeBit: 14, nodePortIPs: ['192.168.1.11'] }));
    const nftPacket = (r: number) => runNftHook(nft, 'PREROUTING', pkt, { localIPs: new Set(['192.168.1.11']), ctstate: 'NEW', numgen: (k) => [createPrng(r).int(0, k - 1)], ifaceAddress: () => undefined }, true);
    nftPacket(0);
    const ipvsT: number[] = [];
    const nftT: number[] = [];
    let ipvsTested = 0;
    let nftTested = 0;
    for (let r = 0; r < runs * 3; r++) {
      let t0 = performance.now();
      const i = ipvsPacket(r);
      ipvsT.push(performance.now() - t0);
      ipvsTested = i.tested;
      if (!i.rs) throw new Error('IPVS found no real server');
      t0 = performance.now();
      const res = nftPacket(r);
      nftT.push(performance.now() - t0);
      nftTested = res.steps.length;
      if (!res.dnat) throw new Error('nftables found no endpoint');
    }
    const iv = summary(ipvsT);
    const nv = summary(nftT);
    rows.push(`         one packet to the last Service: iptables tests ${tested} rules in ${w.median.toFixed(3)} ms (p95 ${w.p95.toFixed(3)}); IPVS ${ipvsTested} iptables rules + a hash lookup in ${iv.median.toFixed(3)} ms (p95 ${iv.p95.toFixed(3)}); nftables ${nftTested} rules with one verdict-map lookup in ${nv.median.toFixed(3)} ms (p95 ${nv.p95.toFixed(3)}) — iptables ÷ IPVS ×${(w.median / iv.median).toFixed(0)}, iptables ÷ nftables ×${(w.median / nv.median).toFixed(0)}`);
  }
  return rows;
}
