// A flow's outcome in the Istio kernel check (scripts/kernelIstio.ts): as flows.yaml expects it,
// as the engine's walker gives it, and as the kernel's own records show it:
// - REDIRECT: conntrack's reply tuple for the connection has source port = the listener port;
// - TPROXY: the TPROXY rule counted the packet and a transparent listener (IP_TRANSPARENT) on
//   --on-port holds the half-open connection under the original destination (ss state syn-recv);
// - otherwise the rules counted (iptables-save -c, before/after): an ACCEPT target (with the mark
//   the packet carried into INPUT, seen by an nftables set), a RETURN target, or neither (the
//   built-in chain's policy).
// The set of rules the kernel counted must also be exactly the set the engine's walker matched
// (table, chain, position), in the chains only this packet's hook reaches (scope).
import type { CaptureOutcome, PodFlow } from '../src/engine/istio/captureWalk.ts';
import { sameAddr } from './kernelIstioLab.ts';
import { builtinsOf, type Saved } from './kernelIstioRuleOrder.ts';

type Doc = Record<string, unknown>;

export interface Outcome {
  result: string;
  toPort?: number;
  setsMark?: string;
}

/**
 * A flow of flows.yaml: the engine's PodFlow with its name and the outcome it expects. Its proto
 * and ctstate stay as the file writes them rather than narrowed to PodFlow's: a protocol or
 * conntrack state this check cannot send is skipped with the reason, so it must survive reading.
 */
export type Flow = Omit<PodFlow, 'proto' | 'ctstate' | 'mark'> & { name: string; proto: string; ctstate?: string; expected: Outcome };

/** The flows of flows.yaml. */
export function flowsOf(doc: Doc): Flow[] {
  const num = (v: unknown) => (v === undefined ? undefined : Number(v));
  const str = (v: unknown) => (v === undefined ? undefined : String(v));
  return ((doc.flows ?? []) as Doc[]).map((f) => ({
    name: String(f.name),
    direction: f.direction === 'inbound' ? 'inbound' : 'outbound',
    proto: String(f.proto),
    src: String(f.src),
    dst: String(f.dst),
    sport: num(f.sport),
    dport: Number(f.dport),
    iif: str(f.iif),
    oif: str(f.oif),
    uid: num(f.uid),
    gid: num(f.gid),
    ctstate: str(f.ctstate),
    expected: { result: String(f.result), toPort: num(f.to_port), setsMark: str(f.sets_mark) },
  }));
}

export const show = (o: Outcome) => `${o.result}${o.toPort !== undefined ? ` to ${o.toPort}` : ''}${o.setsMark !== undefined ? ` mark ${o.setsMark}` : ''}`;
export const sameOutcome = (a: Outcome, b: Outcome) => a.result === b.result && a.toPort === b.toPort && a.setsMark === b.setsMark;

export function engineOutcome(o: CaptureOutcome): Outcome {
  return { result: o.result, toPort: o.toPort, setsMark: o.setsMark === undefined ? undefined : String(o.setsMark) };
}

export interface Evidence {
  before: Saved;
  after: Saved;
  conntrack: string;
  synRecv: string;
  marks: number[];
}

/** What the kernel did with the flow's packet, from its records. */
export function kernelOutcome(flow: Flow, sport: number, kind: PathKind, own: Set<string>, ev: Evidence) {
  const hits: { key: string; text: string; target: string }[] = [];
  for (const [table, chains] of ev.after) {
    for (const [chain, rules] of chains) {
      if (!own.has(`${table} ${chain}`)) continue;
      rules.forEach((r, i) => {
        const was = ev.before.get(table)?.get(chain)?.[i]?.packets ?? 0;
        if (r.packets > was) hits.push({ key: `${table} ${chain} #${i + 1}`, text: `${table} ${chain}: ${r.text}`, target: r.target });
      });
    }
  }
  const notes: string[] = [];
  let why = 'rule counters';
  // conntrack: the connection by its exact original tuple; a NAT shows in the reply tuple.
  let nat: { ip: string; port: number } | undefined;
  for (const line of ev.conntrack.split('\n')) {
    const m = /src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+) .*?src=(\S+) dst=\S+ sport=(\d+) dport=\d+/.exec(line);
    if (!m || !sameAddr(m[1]!, flow.src) || !sameAddr(m[2]!, flow.dst) || Number(m[3]) !== sport || Number(m[4]) !== flow.dport) continue;
    if (!sameAddr(m[5]!, flow.dst) || Number(m[6]) !== flow.dport) nat = { ip: m[5]!, port: Number(m[6]) };
  }
  // The NAT of a connection looped over lo was decided in OUTPUT, not by the PREROUTING rules an
  // inbound-on-lo flow is about; an ESTABLISHED packet only inherits its connection's NAT.
  const natCounts = kind !== 'in-lo' && !flow.ctstate;
  let out: Outcome;
  const tproxy = hits.find((h) => h.target === 'TPROXY');
  if (nat && natCounts) {
    out = { result: 'REDIRECT', toPort: nat.port };
    why = `conntrack reply tuple from ${nat.ip}:${nat.port}`;
    if (!hits.some((h) => h.target === 'REDIRECT')) notes.push(`conntrack shows NAT to ${nat.ip}:${nat.port} without a counted REDIRECT rule`);
  } else if (tproxy) {
    const onPort = Number(/--on-port (\d+)/.exec(tproxy.text)?.[1]);
    const held = ev.synRecv.split('\n').some((l) => {
      const w = l.trim().split(/\s+/);
      const split = (s = '') => [s.slice(0, s.lastIndexOf(':')).replace(/^\[|\]$/g, ''), Number(s.slice(s.lastIndexOf(':') + 1))] as const;
      const [la, lp] = split(w[2]);
      const [pa, pp] = split(w[3]);
      return la && pa && sameAddr(la, flow.dst) && lp === flow.dport && sameAddr(pa, flow.src) && pp === sport;
    });
    out = held ? { result: 'TPROXY', toPort: onPort } : { result: 'DROP' };
    why = held ? `TPROXY rule counted; half-open connection ${flow.dst}:${flow.dport} held by the transparent listener; marks at INPUT [${ev.marks.join(', ')}]` : why;
    if (!held) notes.push(`the TPROXY rule counted the packet but no transparent listener on ${onPort} holds the connection (TPROXY drops it)`);
  } else if (hits.some((h) => h.target === 'DROP' || h.target === 'REJECT')) {
    out = { result: hits.find((h) => h.target === 'DROP' || h.target === 'REJECT')!.target };
  } else if (hits.some((h) => h.target === 'ACCEPT')) {
    const marks = flow.direction === 'inbound' ? ev.marks.filter((m) => m !== 0) : [];
    out = { result: 'ACCEPT', ...(marks.length === 1 ? { setsMark: String(marks[0]) } : {}) };
    why = `ACCEPT target counted; marks at INPUT [${marks.join(', ')}]`;
    if (marks.length > 1) notes.push(`marks seen at INPUT: ${marks.join(', ')}`);
  } else if (hits.some((h) => h.target === 'RETURN')) {
    out = { result: 'RETURN' };
  } else {
    out = { result: 'ACCEPT' };
  }
  return { outcome: out, hits, notes, why };
}

// ---------------------------------------------------------------------------------------------
// Which counters belong to the flow's packet.

/** table → chain → the built-in chains from which it is reachable (by -j / -g). */
export function reachers(saved: Saved): Map<string, Map<string, Set<string>>> {
  const out = new Map<string, Map<string, Set<string>>>();
  for (const [table, chains] of saved) {
    const m = new Map<string, Set<string>>();
    for (const b of builtinsOf(table)) {
      if (!chains.has(b)) continue;
      const stack = [b];
      const seen = new Set<string>();
      while (stack.length) {
        const c = stack.pop()!;
        if (seen.has(c)) continue;
        seen.add(c);
        if (!m.has(c)) m.set(c, new Set());
        m.get(c)!.add(b);
        for (const r of chains.get(c) ?? []) if (chains.has(r.target) && !builtinsOf(table).includes(r.target)) stack.push(r.target);
      }
    }
    out.set(table, m);
  }
  return out;
}

export type PathKind = 'out' | 'out-lo' | 'in' | 'in-lo';

/**
 * The hooks, per table, that the flow's packets walk in the namespace while it is measured (the
 * first packet; for an ESTABLISHED flow also the pod's own ACKs). A packet looped over lo walks
 * OUTPUT and then PREROUTING, but the nat table only once: its NAT is decided in OUTPUT.
 */
function walkedHooks(kind: PathKind, established: boolean): Record<string, string[]> {
  const w: Record<string, string[]> =
    kind === 'out'
      ? { raw: ['OUTPUT'], mangle: ['OUTPUT', 'POSTROUTING'], nat: ['OUTPUT', 'POSTROUTING'], filter: ['OUTPUT'] }
      : kind === 'in'
        ? { raw: ['PREROUTING'], mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'POSTROUTING'], nat: ['PREROUTING', 'INPUT', 'POSTROUTING'], filter: ['INPUT', 'FORWARD'] }
        : { raw: ['OUTPUT', 'PREROUTING'], mangle: ['OUTPUT', 'POSTROUTING', 'PREROUTING', 'INPUT'], nat: ['OUTPUT', 'POSTROUTING'], filter: ['OUTPUT', 'INPUT'] };
  if (established) for (const t of ['raw', 'mangle', 'filter']) w[t] = [...new Set([...w[t]!, 'OUTPUT', 'POSTROUTING'])];
  return w;
}

/**
 * Chains whose counters belong to the flow's hook alone: reachable from it and from no other hook
 * the packets walk in that table. `shared`: reachable from the hook but also from another walked
 * one — their counters cannot be attributed, so both sides leave them out.
 */
export function scope(reach: Map<string, Map<string, Set<string>>>, hook: string, kind: PathKind, established: boolean) {
  const walked = walkedHooks(kind, established);
  const own = new Set<string>();
  const shared = new Set<string>();
  for (const [table, chains] of reach) {
    for (const [chain, from] of chains) {
      if (!from.has(hook)) continue;
      const others = [...from].filter((b) => b !== hook && (walked[table] ?? []).includes(b));
      (others.length ? shared : own).add(`${table} ${chain}`);
    }
  }
  return { own, shared };
}
