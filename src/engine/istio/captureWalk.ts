// Packets through a sidecar pod's capture rules: the restore input of captureRules.ts applied to
// the pod namespace's empty built-in chains (iptables-restore --noflush), then one netfilter hook
// walked with netfilter.ts — PREROUTING (raw, mangle, nat) for a packet arriving on an interface,
// OUTPUT (raw, mangle, nat, filter) for a packet a local process sends. The walk model of
// ../shared/conformance/istio-iptables (README section 6, "flows.yaml").

import { restoreNoflush, runHook, type CtState, type HookResult, type NfContext, type NfPacket } from '../dataplane/netfilter.ts';
import type { Ruleset } from '../dataplane/kubeProxyIptables.ts';
import { ipInCidr } from '../util/ip.ts';
import { createPrng } from '../util/prng.ts';
import { captureRestore, type IstioCaptureConfig } from './captureRules.ts';

export interface CaptureRulesets {
  ipv4: Ruleset;
  /** Empty unless EnableIPv6: ip6tables then holds no Istio rules at all. */
  ipv6: Ruleset;
}

/** The pod namespace's iptables and ip6tables state after istio-iptables ran. */
export function captureRulesets(cfg: IstioCaptureConfig): CaptureRulesets {
  const r = captureRestore(cfg);
  return { ipv4: restoreNoflush(r.ipv4), ipv6: restoreNoflush(r.ipv6) };
}

export interface PodFlow {
  /** inbound: arrives on `iif`; outbound: sent by a local process (uid/gid) through `oif`. */
  direction: 'inbound' | 'outbound';
  proto: 'tcp' | 'udp';
  src: string;
  dst: string;
  sport?: number;
  dport: number;
  iif?: string;
  oif?: string;
  uid?: number;
  gid?: number;
  /** Conntrack state of the packet's connection (default NEW: the first packet). */
  ctstate?: CtState;
  mark?: number;
}

/** The pod's interfaces and their addresses (no prefix length), e.g. { eth0: ['10.244.1.5'], lo: ['127.0.0.1', '::1'] }. */
export type PodInterfaces = Record<string, string[]>;

export interface CaptureOutcome {
  /**
   * REDIRECT / TPROXY: captured to `toPort`; RETURN: an explicit -j RETURN ended Istio's rules;
   * ACCEPT: an explicit -j ACCEPT (with `setsMark`: ISTIO_DIVERT) or, without one, the built-in
   * chains' policy; DROP / REJECT: a rule dropped it (ISTIO_DROP).
   */
  result: 'REDIRECT' | 'TPROXY' | 'RETURN' | 'ACCEPT' | 'DROP' | 'REJECT';
  toPort?: number;
  /** Delivered to Envoy (or the DNS proxy): REDIRECT, TPROXY, or ACCEPT with a mark (ISTIO_DIVERT). */
  captured: boolean;
  /** The mark an explicit ACCEPT left on the packet (ISTIO_DIVERT's TPROXY mark), when it set one. */
  setsMark?: number;
  hook: 'PREROUTING' | 'OUTPUT';
  walk: HookResult;
}

const DEFAULT_SPORT = 40000;

/** Walk one packet through the capture rules of its family (IPv6 destination: the ip6tables rules). */
export function walkPodFlow(rulesets: CaptureRulesets, flow: PodFlow, interfaces: PodInterfaces): CaptureOutcome {
  const v6 = flow.dst.includes(':');
  const rs = v6 ? rulesets.ipv6 : rulesets.ipv4;
  const inbound = flow.direction === 'inbound';
  const hook = inbound ? 'PREROUTING' : 'OUTPUT';
  const mark = flow.mark ?? 0;
  const packet: NfPacket = {
    src: flow.src,
    dst: flow.dst,
    proto: flow.proto,
    sport: flow.sport ?? DEFAULT_SPORT,
    dport: flow.dport,
    mark,
    ...(inbound ? { inIface: flow.iif ?? 'eth0' } : { outIface: flow.oif ?? routeOut(flow.dst, interfaces), uid: flow.uid, gid: flow.gid }),
  };
  const ctstate = flow.ctstate ?? 'NEW';
  const ctx: NfContext = {
    localIPs: new Set(Object.values(interfaces).flat()),
    ctstate,
    ctDnat: false,
    rng: createPrng(0), // Istio's rules draw nothing
    ifaceAddress: (iface) => interfaces[iface]?.find((a) => a.includes(':') === v6),
  };
  // A packet coming back in on lo was sent by this namespace: its connection got its NAT in nat
  // OUTPUT, so nat PREROUTING is not consulted for it (nf_nat_inet_fn: the DNAT binding is already
  // initialised). Only raw and mangle PREROUTING see it — which is why Envoy's passthrough from
  // 127.0.0.6 is not captured again by ISTIO_INBOUND in REDIRECT mode. (Checked against the kernel
  // by scripts/kernelIstio.ts.)
  const looped = inbound && packet.inIface === 'lo';
  const walk = runHook(rs, hook, packet, ctx, ctstate === 'NEW' && !looped);
  return { ...classify(walk, mark), hook, walk };
}

/** The pod's routing: its own addresses and loopback go out on lo, everything else on the first other interface. */
function routeOut(dst: string, interfaces: PodInterfaces): string {
  const local = Object.values(interfaces).flat().includes(dst) || ipInCidr(dst, '127.0.0.0/8') || dst === '::1';
  return local ? 'lo' : Object.keys(interfaces).find((i) => i !== 'lo') ?? 'eth0';
}

function classify(walk: HookResult, markBefore: number): Pick<CaptureOutcome, 'result' | 'toPort' | 'captured' | 'setsMark'> {
  if (walk.redirect || walk.tproxy) {
    const first = walk.fired?.find((f) => f.target === 'REDIRECT' || f.target === 'TPROXY');
    if (first?.target === 'TPROXY' && walk.tproxy) return { result: 'TPROXY', toPort: walk.tproxy.port, captured: true };
    if (walk.redirect) return { result: 'REDIRECT', toPort: walk.redirect.port, captured: true };
  }
  if (walk.verdict !== 'ACCEPT') return { result: walk.verdict, captured: false };
  const fired = walk.fired ?? [];
  if (fired.some((f) => f.target === 'ACCEPT')) {
    const marked = walk.packet.mark !== markBefore;
    return marked ? { result: 'ACCEPT', captured: true, setsMark: walk.packet.mark } : { result: 'ACCEPT', captured: false };
  }
  if (fired.some((f) => f.target === 'RETURN')) return { result: 'RETURN', captured: false };
  return { result: 'ACCEPT', captured: false };
}
