// kube-proxy's nftables test tracer (pkg/proxy/nftables/helpers_test.go, tracePacket), for the
// rule shapes kube-proxy writes: the prerouting hook (filter-prerouting-pre-dnat, stop on a drop or
// reject; then nat-prerouting), the first DNAT replaces the destination, then filter-forward (stop
// on a verdict) and filter-input. "ct state new" always matches; "numgen random mod N vmap {…}"
// follows every endpoint; "fib … type local" is true for the given local IPs; "masq" = the
// masquerade mark was set. A static analysis of a ruleset over the walker in nftWalker.ts.

import { parseNft, runNftHook, type NftContext } from './nftWalker.ts';
import type { NfPacket } from './netfilter.ts';
import type { TracerFlow, TracerResult } from './ruleTracer.ts';

export function traceNft(lines: string[], flow: TracerFlow, localIPs: string[]): TracerResult {
  const rs = parseNft(lines);
  const ctx: NftContext = { localIPs: new Set(localIPs), ctstate: 'NEW', numgen: (n) => [...Array(n).keys()], ifaceAddress: () => undefined };
  const outputs: string[] = [];
  const stopped = (v: string) => {
    if (v === 'ACCEPT') return false;
    outputs.push(v);
    return true;
  };
  let pkt: NfPacket = { src: flow.src, dst: flow.dst, proto: flow.proto as NfPacket['proto'], sport: 0, dport: flow.dport, mark: 0 };
  const pre = runNftHook(rs, 'PREROUTING', pkt, ctx, true);
  outputs.push(...pre.dnats);
  let mark = pre.packet.mark;
  if (!stopped(pre.verdict)) {
    if (pre.dnat) pkt = { ...pkt, dst: pre.dnat.ip, dport: pre.dnat.port };
    const fwd = runNftHook(rs, 'FORWARD', { ...pkt, mark }, ctx, true);
    mark |= fwd.packet.mark;
    if (!stopped(fwd.verdict)) {
      const input = runNftHook(rs, 'INPUT', { ...pkt, mark }, ctx, true);
      mark |= input.packet.mark;
      stopped(input.verdict);
    }
  }
  return { output: outputs.join(', '), masq: mark !== 0 };
}
