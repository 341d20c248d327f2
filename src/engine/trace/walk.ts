// The state of one trace: the hops so far, each node's conntrack table and ruleset, the PRNG.

import type { Hop, NodeInfo, Packet, Topology } from '../types.ts';
import { kubeProxyRuns, nftablesSave, nodeIpvsState, nodeRuleset } from '../dataplane/iptablesSave.ts';
import { parseNft, runNftHook, type NftRuleset } from '../dataplane/nftWalker.ts';
import type { IpvsState } from '../dataplane/kubeProxyIpvs.ts';
import type { Ruleset } from '../dataplane/kubeProxyIptables.ts';
import { runHook, type CtState, type Hook, type HookResult, type NfContext, type NfPacket } from '../dataplane/netfilter.ts';
import { ip, tcp } from '../packet/packet.ts';
import type { Prng } from '../util/prng.ts';
import type { CaptureRulesets } from '../istio/captureWalk.ts';
import type { MeshDecision, MeshRequest } from '../mesh/routing.ts';
import type { UpstreamTls } from '../mesh/tls.ts';

/** A request a client sidecar routed: what the app asked, what Envoy decided, and whether the server's sidecar took it in. */
export interface MeshState {
  request: MeshRequest;
  decision: Extract<MeshDecision, { ok: true }>;
  appPacket: Packet;
  /** What the client's Envoy speaks on its upstream connection (DestinationRule tls or automatic mTLS). */
  tls: UpstreamTls;
  inboundCaptured?: boolean;
}

export const CITE_NETFILTER = 'Linux net/netfilter (nf_conntrack_core.c, nf_nat_core.c); kubernetes pkg/proxy/iptables/proxier.go';
export const CITE_NFTABLES = 'kubernetes pkg/proxy/nftables/proxier.go; Linux net/netfilter/nf_tables_core.c, nft_nat.c, nft_masq.c';
export const CITE_CALICO = 'projectcalico/calico cni-plugin/pkg/dataplane/linux, felix/dataplane/linux, confd BIRD templates';
export const CITE_FLANNEL = 'flannel pkg/backend/vxlan/vxlan_network.go; Linux drivers/net/vxlan/vxlan_core.c';

export interface Tuple { src: string; sport: number; dst: string; dport: number }

/**
 * One conntrack entry: the original tuple and the tuple a reply will carry, after the NAT
 * bindings made for the connection's first packet (DNAT in PREROUTING, SNAT in POSTROUTING).
 */
export interface CtEntry {
  orig: Tuple;
  reply: Tuple;
  /** The DNAT binding; `by: 'ipvs'` when IPVS made it (undone by ip_vs_out at FORWARD, not by nf_nat). */
  dnat?: { ip: string; port: number; by?: 'ipvs' };
  snat?: { ip: string; port: number };
}

export interface CtHit { entry: CtEntry; dir: 'orig' | 'reply' }

export const key = (t: Tuple) => `${t.src}:${t.sport}>${t.dst}:${t.dport}`;
export const tupleOf = (p: Packet): Tuple => ({ src: ip(p).src, sport: tcp(p).srcPort, dst: ip(p).dst, dport: tcp(p).dstPort });

export class Walk {
  hops: Hop[] = [];
  direction: Hop['direction'] = 'request';
  /** The external client of this flow, when it comes from outside the cluster. */
  externalClient?: string;
  /** Istio: each sidecar pod's capture rules (built once per walk), and the request its Envoy routed. */
  readonly meshRules = new Map<string, CaptureRulesets>();
  mesh?: MeshState;
  /** The node whose own process is the client, when the flow starts on a node. */
  nodeClient?: string;
  private conntrack = new Map<string, Map<string, CtHit>>();
  /**
   * Cilium's BPF NAT state, keyed "<node>|<reply tuple>": what a reply gets back — the Service
   * frontend as its source (rev-NAT), and for a NodePort the client as its destination.
   */
  readonly bpfNat = new Map<string, { front: { ip: string; port: number }; client?: { ip: string; port: number } }>();
  private rules = new Map<string, Ruleset>();

  constructor(readonly t: Topology, readonly rng: Prng) {}

  add(at: string, node: string | undefined, mechanism: Hop['mechanism'], before: Packet, after: Packet) {
    this.hops.push({ index: this.hops.length, direction: this.direction, at, node, mechanism, before, after });
  }

  private ipvs = new Map<string, IpvsState>();

  private nft = new Map<string, NftRuleset>();
  private locals = new Map<string, ReadonlySet<string>>();

  /** The addresses "addrtype LOCAL" / "fib type local" match on a node: its own, and in IPVS mode kube-ipvs0's. */
  localIPsOf(n: NodeInfo): ReadonlySet<string> {
    let s = this.locals.get(n.name);
    if (!s) this.locals.set(n.name, (s = new Set([...nodeLocalIPs(n), ...(this.ipvsOf(n.name)?.dummyAddresses ?? [])])));
    return s;
  }

  /**
   * Run one netfilter hook on a node, through the rules of the cluster's kube-proxy mode: the
   * iptables rules (iptables mode, or the few rules of IPVS mode), or nftables mode's table.
   */
  hook(node: string, hook: Hook, p: NfPacket, ctx: NfContext, natWalk: boolean): HookResult {
    if (this.t.settings.kubeProxy.mode !== 'nftables' || !kubeProxyRuns(this.t)) return runHook(this.rulesOf(node), hook, p, ctx, natWalk);
    let rs = this.nft.get(node);
    if (!rs) this.nft.set(node, (rs = parseNft(nftablesSave(this.t, node).split('\n'))));
    const rng = ctx.rng;
    return runNftHook(rs, hook, p, { localIPs: ctx.localIPs, ctstate: ctx.ctstate, ifaceAddress: ctx.ifaceAddress, numgen: (n) => [rng.int(0, n - 1)] }, natWalk);
  }

  /** The iptables rules the trace walks: kube-proxy's iptables mode, or the few rules of IPVS mode. */
  private rulesOf(node: string): Ruleset {
    if (this.ipvsMode) return this.ipvsOf(node)!.ruleset;
    let r = this.rules.get(node);
    if (!r) this.rules.set(node, (r = nodeRuleset(this.t, node)));
    return r;
  }

  /** kube-proxy runs in nftables mode (with Cilium's kube-proxy replacement, kube-proxy does not run at all). */
  get nftMode(): boolean {
    return this.t.settings.kubeProxy.mode === 'nftables' && kubeProxyRuns(this.t);
  }

  /** Does kube-proxy run (not with Cilium's kube-proxy replacement)? */
  get kubeProxy(): boolean {
    return kubeProxyRuns(this.t);
  }

  get ipvsMode(): boolean {
    return this.t.settings.kubeProxy.mode === 'ipvs' && kubeProxyRuns(this.t);
  }

  /** IPVS mode's state on a node (virtual servers, ipsets, kube-ipvs0 addresses); undefined in other modes. */
  ipvsOf(node: string): IpvsState | undefined {
    if (!this.ipvsMode) return undefined;
    let st = this.ipvs.get(node);
    if (!st) this.ipvs.set(node, (st = nodeIpvsState(this.t, node)));
    return st;
  }

  private table(node: string) {
    let m = this.conntrack.get(node);
    if (!m) this.conntrack.set(node, (m = new Map()));
    return m;
  }

  ctLookup(node: string, t: Tuple): CtHit | undefined {
    return this.table(node).get(key(t));
  }

  ctAdd(node: string, entry: CtEntry) {
    this.table(node).set(key(entry.orig), { entry, dir: 'orig' });
    this.table(node).set(key(entry.reply), { entry, dir: 'reply' });
  }

  /** SNAT changes the tuple replies will carry: re-index the entry under it. */
  ctSetReply(node: string, entry: CtEntry, reply: Tuple) {
    this.table(node).delete(key(entry.reply));
    entry.reply = reply;
    this.table(node).set(key(reply), { entry, dir: 'reply' });
  }
}

export function nodeLocalIPs(n: NodeInfo): Set<string> {
  return new Set(['127.0.0.1', ...n.interfaces.filter((i) => i.address).map((i) => i.address!.split('/')[0]!)]);
}

export function nfContext(w: Walk, n: NodeInfo, ctstate: CtState, ctDnat: boolean): NfContext {
  const ipvs = w.ipvsOf(n.name);
  return {
    ipsets: ipvs?.ipsets,
    bridges: new Set([w.t.settings.cni.bridge]),
    localIPs: w.localIPsOf(n),
    ctstate,
    ctDnat,
    rng: w.rng,
    // MASQUERADE takes the out device's primary address; a device without one (Calico's cali
    // veths) gets the first global address of the node's devices in creation order — eth0 on a
    // real node (inet_select_addr, net/ipv4/devinet.c; nf_nat_masquerade_ipv4).
    ifaceAddress: (iface: string) => (n.interfaces.find((i) => i.name === iface)?.address ?? n.interfaces.find((i) => i.address)?.address)?.split('/')[0],
  };
}

export function nfPacket(p: Packet, mark: number, inIface?: string, outIface?: string): NfPacket {
  const t = tcp(p);
  return { src: ip(p).src, dst: ip(p).dst, proto: 'tcp', sport: t.srcPort, dport: t.dstPort, mark, inIface, outIface };
}

/**
 * The chain path a walk took: "PREROUTING → KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-…" (the jumps
 * that matched), or for nftables "prerouting → nat-prerouting → services → service-… → endpoint-…"
 * (every chain entered, in order: vmaps and numgen jump without a "jump" rule of their own).
 */
export function chainPath(hook: Hook, r: HookResult): string {
  if (r.steps.some((s) => s.table !== 'nat' && s.table !== 'filter')) {
    const chains = [...new Set(r.steps.filter((s) => s.matched || r.steps.some((x) => x.chain === s.chain && x.matched)).map((s) => s.chain))];
    return [hook.toLowerCase(), ...chains].join(' → ');
  }
  const jumps = r.steps.filter((s) => s.matched && s.effect.includes('jump ')).map((s) => s.effect.slice(s.effect.indexOf('jump ') + 5));
  return [hook, ...jumps].join(' → ');
}
