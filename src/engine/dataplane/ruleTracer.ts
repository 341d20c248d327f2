// kube-proxy's own packet tracer for its unit tests (pkg/proxy/iptables/helpers_test.go,
// iptablesTracer), reproduced to check our rules against the flows those tests assert:
// nat PREROUTING first, then the filter chains KUBE-SERVICES, KUBE-EXTERNAL-SERVICES,
// KUBE-NODEPORTS and KUBE-PROXY-FIREWALL; a jump guarded by "-m statistic" is followed and the
// chain then continues, so every reachable endpoint is listed; rules testing connection state
// (conntrack, mark, recent --rcheck) never match; a jump to KUBE-MARK-MASQ only notes "masq".
// This is a static analysis of a ruleset, not a packet walk: the trace uses netfilter.ts.

import type { Prng } from '../util/prng.ts';
import type { Ruleset, TableName } from './kubeProxyIptables.ts';
import { parseRule, type NfContext, type NfPacket } from './netfilter.ts';

export interface TracerFlow {
  src: string;
  dst: string;
  proto: 'tcp' | 'udp' | 'sctp';
  dport: number;
}

export interface TracerResult {
  /** DNAT destinations, or ACCEPT / DROP / REJECT, joined with ", "; "" when no rule decided. */
  output: string;
  masq: boolean;
  /** The outputs' order carries no meaning (a kernel's random picks, gathered over attempts). */
  unordered?: boolean;
}

const neverRandom: Prng = { next: () => 0, int: (lo) => lo };

export function traceOutcomes(rs: Ruleset, flow: TracerFlow, localIPs: string[]): TracerResult {
  const outputs: string[] = [];
  let masq = false;
  const ctx: NfContext = { localIPs: new Set(localIPs), ctstate: 'NEW', ctDnat: false, rng: neverRandom, ifaceAddress: () => undefined };
  let packet: NfPacket = { src: flow.src, dst: flow.dst, proto: flow.proto as NfPacket['proto'], sport: 0, dport: flow.dport, mark: 0 };

  const run = (table: TableName, chainName: string, depth = 0): boolean => {
    const chain = rs.tables[table].find((c) => c.name === chainName);
    if (!chain || depth > 32) return false;
    for (const text of chain.rules) {
      const rule = parseRule(text);
      if (rule.stateful || rule.unsupported.length) continue;
      if (!rule.tests.every((f) => f(packet, ctx))) continue;
      switch (rule.target) {
        case undefined:
          continue;
        case 'KUBE-MARK-MASQ':
          masq = true;
          continue;
        case 'ACCEPT':
        case 'DROP':
        case 'REJECT':
          outputs.push(rule.target);
          return true;
        case 'DNAT':
          outputs.push(rule.targetArgs['--to-destination'] ?? '');
          return true;
        default: {
          const ended = run(table, rule.target, depth + 1);
          if (ended && rule.probability === undefined) return true;
        }
      }
    }
    return false;
  };

  run('nat', 'PREROUTING');
  // Later chains match against the DNATed destination.
  const first = outputs[0];
  if (first && first.includes(':')) packet = { ...packet, dst: first.slice(0, first.lastIndexOf(':')).replace(/^\[|\]$/g, '') };
  for (const c of ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']) run('filter', c);
  return { output: outputs.join(', '), masq };
}
