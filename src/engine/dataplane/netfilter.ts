// A netfilter walker: evaluates a packet against iptables rules in the kernel's hook order and
// records every rule it tested. Hook/table order (net/ipv4/netfilter, NF_IP_PRI_*): raw < mangle
// < nat (DNAT, in PREROUTING/OUTPUT) < filter < nat (SNAT, in POSTROUTING/INPUT).
// The nat table is consulted only for a connection's first packet (nf_nat_inet_fn looks the
// rules up only when the conntrack entry has no NAT binding yet); later packets reuse the binding.
// raw and mangle are walked when a ruleset has them (Istio's sidecar capture: TPROXY, marks,
// conntrack zones); `restoreNoflush` applies iptables-restore --noflush input to a ruleset.

import type { RuleStep } from '../types.ts';
import { builtinChains, type NetfilterTable, type Ruleset } from './kubeProxyIptables.ts';
import { parseNumber, parseRule, tokenize, valueMask, type Hook, type NfContext, type NfPacket } from './netfilterRule.ts';

export { parseNumber, parseRule, tokenize, type CtState, type Hook, type NfContext, type NfPacket, type ParsedRule } from './netfilterRule.ts';


/** A rule whose target ended a chain walk or captured the packet, in walk order. */
export interface FiredRule {
  target: 'ACCEPT' | 'DROP' | 'REJECT' | 'RETURN' | 'DNAT' | 'MASQUERADE' | 'REDIRECT' | 'TPROXY';
  rule: RuleStep;
}

export interface HookResult {
  packet: NfPacket;
  verdict: 'ACCEPT' | 'DROP' | 'REJECT';
  steps: RuleStep[];
  dnat?: { ip: string; port: number; rule: RuleStep };
  snat?: { ip: string; rule: RuleStep };
  /** nat REDIRECT: the packet now goes to a local port (ip: the address it was rewritten to). */
  redirect?: { ip: string; port: number; rule: RuleStep };
  /** mangle TPROXY: handed to the local socket on `port` (the packet keeps its destination). */
  tproxy?: { ip?: string; port: number; mark: number; rule: RuleStep };
  /** Terminating targets that fired (ACCEPT, DROP, REJECT, RETURN, DNAT, MASQUERADE, REDIRECT, TPROXY). */
  fired?: FiredRule[];
}

// Which tables each hook runs, in priority order (NF_IP_PRI_RAW < MANGLE < NAT_DST < FILTER <
// NAT_SRC). A ruleset without raw / mangle tables (kube-proxy's) skips them.
const hookTables: Record<Hook, NetfilterTable[]> = {
  PREROUTING: ['raw', 'mangle', 'nat'],
  INPUT: ['mangle', 'filter', 'nat'],
  FORWARD: ['mangle', 'filter'],
  OUTPUT: ['raw', 'mangle', 'nat', 'filter'],
  POSTROUTING: ['mangle', 'nat'],
};

/** Built-in chains per table (iptables(8) TABLES). */
export const tableBuiltins: Record<NetfilterTable, string[]> = {
  ...builtinChains,
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};

/** A number as iptables reads marks and masks (strtoul base 0: "0x…" hex, "0…" octal, else decimal). */

interface WalkState {
  hook: Hook;
  steps: RuleStep[];
  packet: NfPacket;
  dnat?: HookResult['dnat'];
  snat?: HookResult['snat'];
  redirect?: HookResult['redirect'];
  tproxy?: HookResult['tproxy'];
  fired: FiredRule[];
  depth: number;
}

type ChainOutcome = 'ACCEPT' | 'DROP' | 'REJECT' | 'RETURN' | undefined;

const hex = (n: number) => `0x${n.toString(16)}`;

function walkChain(rs: Ruleset, table: NetfilterTable, chainName: string, ctx: NfContext, st: WalkState): ChainOutcome {
  const chain = rs.tables[table]?.find((c) => c.name === chainName);
  if (!chain || st.depth > 32) return undefined;
  for (let i = 0; i < chain.rules.length; i++) {
    const text = chain.rules[i]!;
    const rule = parseRule(text);
    const step: RuleStep = { table, chain: chainName, ruleNumber: i + 1, text: `-A ${chainName} ${text}`, matched: false, effect: 'no match' };
    st.steps.push(step);
    if (rule.unsupported.length) {
      step.effect = `not evaluated (unsupported: ${rule.unsupported.join(' ')})`;
      continue;
    }
    if (!rule.tests.every((f) => f(st.packet, ctx))) continue;
    if (rule.probability !== undefined) {
      const draw = ctx.rng.next();
      if (draw >= rule.probability) {
        step.effect = `statistic: not taken (draw ${draw.toFixed(4)} ≥ ${rule.probability})`;
        continue;
      }
      step.effect = `statistic: taken (draw ${draw.toFixed(4)} < ${rule.probability})`;
    }
    step.matched = true;
    const target = rule.target;
    if (!target) {
      step.effect = step.effect === 'no match' ? 'matched (no target: counted only)' : step.effect;
      continue;
    }
    const note = (s: string) => (step.effect = step.effect.startsWith('statistic') ? `${step.effect}; ${s}` : s);
    const args = rule.targetArgs;
    switch (target) {
      case 'ACCEPT':
      case 'DROP':
      case 'REJECT':
      case 'RETURN':
        note(target);
        st.fired.push({ target, rule: step });
        return target;
      case 'MARK': {
        // xt_mark: --set-xmark v/m: mark = (mark & ~m) ^ v; --set-mark v/m: (mark & ~m) | v.
        const before = st.packet.mark;
        let mark = before;
        if (args['--set-xmark'] !== undefined) { const [v, m] = valueMask(args['--set-xmark']); mark = ((mark & ~m) ^ v) >>> 0; }
        if (args['--set-mark'] !== undefined) { const [v, m] = valueMask(args['--set-mark']); mark = ((mark & ~m) | v) >>> 0; }
        if (args['--and-mark'] !== undefined) mark = (mark & parseNumber(args['--and-mark'])) >>> 0;
        if (args['--or-mark']) mark = (before | parseNumber(args['--or-mark'])) >>> 0;
        if (args['--xor-mark']) mark = (before ^ parseNumber(args['--xor-mark'])) >>> 0;
        st.packet = { ...st.packet, mark };
        note(`mark ${hex(before)} → ${hex(mark)}`);
        break;
      }
      case 'CONNMARK': {
        // xt_connmark: --save-mark copies the packet mark to the connection, --restore-mark back.
        const nfmask = args['--nfmask'] !== undefined ? parseNumber(args['--nfmask']) : args['--mask'] !== undefined ? parseNumber(args['--mask']) : 0xffffffff;
        const ctmask = args['--ctmask'] !== undefined ? parseNumber(args['--ctmask']) : args['--mask'] !== undefined ? parseNumber(args['--mask']) : 0xffffffff;
        const ct = st.packet.ctmark ?? 0;
        if (args['--save-mark'] !== undefined) {
          st.packet = { ...st.packet, ctmark: ((ct & ~ctmask) ^ (st.packet.mark & nfmask)) >>> 0 };
          note(`connmark ${hex(ct)} → ${hex(st.packet.ctmark!)} (saved from the packet mark)`);
        } else if (args['--restore-mark'] !== undefined) {
          const before = st.packet.mark;
          st.packet = { ...st.packet, mark: ((before & ~nfmask) ^ (ct & ctmask)) >>> 0 };
          note(`mark ${hex(before)} → ${hex(st.packet.mark)} (restored from connmark)`);
        } else {
          const spec = args['--set-xmark'] ?? args['--set-mark'];
          if (spec !== undefined) {
            const [v, m] = valueMask(spec);
            st.packet = { ...st.packet, ctmark: args['--set-xmark'] !== undefined ? ((ct & ~m) ^ v) >>> 0 : ((ct & ~m) | v) >>> 0 };
          }
          note(`connmark ${hex(ct)} → ${hex(st.packet.ctmark ?? 0)}`);
        }
        break;
      }
      case 'CT':
        // raw table: conntrack zone / helper for the connection; no effect on this walk.
        note(args['--notrack'] !== undefined ? 'CT --notrack' : `conntrack zone ${args['--zone'] ?? '0'}`);
        break;
      case 'REDIRECT': {
        // nf_nat_redirect: to the incoming interface's primary address (PREROUTING) or loopback (OUTPUT).
        const spec = args['--to-ports'] ?? args['--to-port'] ?? '';
        const port = spec ? Number(spec.split(/[-:]/)[0]) : st.packet.dport;
        const v6 = st.packet.dst.includes(':');
        const ip = st.hook === 'PREROUTING' ? (st.packet.inIface ? ctx.ifaceAddress(st.packet.inIface) : undefined) ?? st.packet.dst : v6 ? '::1' : '127.0.0.1';
        st.packet = { ...st.packet, dst: ip, dport: port };
        st.redirect = { ip, port, rule: step };
        st.fired.push({ target, rule: step });
        note(`REDIRECT to local port ${port}`);
        return 'ACCEPT';
      }
      case 'TPROXY': {
        // xt_TPROXY: the packet goes to the local socket on --on-port (destination unchanged) and
        // gets --tproxy-mark, which policy routing uses to deliver it locally.
        const port = Number(args['--on-port'] ?? st.packet.dport);
        const before = st.packet.mark;
        const [v, m] = args['--tproxy-mark'] !== undefined ? valueMask(args['--tproxy-mark']) : [0, 0];
        st.packet = { ...st.packet, mark: ((before & ~m) ^ v) >>> 0 };
        st.tproxy = { ip: args['--on-ip'], port, mark: st.packet.mark, rule: step };
        st.fired.push({ target, rule: step });
        note(`TPROXY to local port ${port}, mark ${hex(before)} → ${hex(st.packet.mark)}`);
        return 'ACCEPT';
      }
      case 'DNAT': {
        const to = rule.targetArgs['--to-destination'] ?? '';
        const [ip, port] = to.split(':');
        st.packet = { ...st.packet, dst: ip!, dport: port ? Number(port) : st.packet.dport };
        st.dnat = { ip: ip!, port: st.packet.dport, rule: step };
        st.fired.push({ target, rule: step });
        note(`DNAT to ${to}`);
        return 'ACCEPT';
      }
      case 'MASQUERADE': {
        const addr = st.packet.outIface ? ctx.ifaceAddress(st.packet.outIface) : undefined;
        if (addr) {
          st.packet = { ...st.packet, src: addr };
          st.snat = { ip: addr, rule: step };
        }
        st.fired.push({ target, rule: step });
        note(`MASQUERADE: source becomes ${addr ?? '?'}`);
        return 'ACCEPT';
      }
      default: {
        note(`jump ${target}`);
        st.depth++;
        const res = walkChain(rs, table, target, ctx, st);
        st.depth--;
        if (res && res !== 'RETURN') return res;
      }
    }
  }
  return undefined;
}

/**
 * Run one netfilter hook. `natWalk` is false for packets of an existing connection: the nat
 * table is skipped (conntrack applies the existing binding instead).
 */
export function runHook(rs: Ruleset, hook: Hook, packet: NfPacket, ctx: NfContext, natWalk: boolean): HookResult {
  const st: WalkState = { hook, steps: [], packet, depth: 0, fired: [] };
  const result = (verdict: HookResult['verdict']): HookResult => {
    const r: HookResult = { packet: st.packet, verdict, steps: st.steps, dnat: st.dnat, snat: st.snat };
    // Optional fields only when the walk produced them.
    if (st.redirect) r.redirect = st.redirect;
    if (st.tproxy) r.tproxy = st.tproxy;
    if (st.fired.length) r.fired = st.fired;
    return r;
  };
  for (const table of hookTables[hook]) {
    if (table === 'nat' && !natWalk) continue;
    if (!rs.tables[table] || !tableBuiltins[table].includes(hook)) continue;
    const res = walkChain(rs, table, hook, ctx, st);
    if (res === 'DROP' || res === 'REJECT') return result(res);
  }
  // Built-in chains' policy is ACCEPT on kubeadm nodes.
  return result('ACCEPT');
}

/**
 * Apply iptables-restore input with --noflush to a ruleset (a copy is returned): "* table"
 * blocks ending in COMMIT, "-N chain", "-A chain rule", "-I chain [n] rule" (n is 1-based; the
 * inserts take effect in file order, so later ones push earlier ones down), ":CHAIN policy
 * [counters]" declarations. Chains already present keep their rules (no flush). Errors where
 * iptables-restore fails: unknown chain, duplicate -N, insert position past the end.
 */
export function restoreNoflush(text: string, base?: Ruleset): Ruleset {
  const tables: Partial<Record<NetfilterTable, { name: string; rules: string[] }[]>> = {};
  const known: NetfilterTable[] = ['filter', 'nat', 'mangle', 'raw'];
  const tableOf = (t: NetfilterTable) => {
    let cs = tables[t];
    if (!cs) {
      cs = (base?.tables[t] ?? []).map((c) => ({ name: c.name, rules: [...c.rules] }));
      for (const b of tableBuiltins[t]) if (!cs.some((c) => c.name === b)) cs.push({ name: b, rules: [] });
      tables[t] = cs;
    }
    return cs;
  };
  let current: NetfilterTable | undefined;
  const lines = text.split('\n');
  lines.forEach((raw, n) => {
    const line = raw.trim();
    const fail = (why: string) => {
      throw new Error(`iptables-restore line ${n + 1}: ${why}: ${line}`);
    };
    if (line === '' || line.startsWith('#')) return;
    if (line.startsWith('*')) {
      const t = line.slice(1).trim() as NetfilterTable;
      if (!known.includes(t)) fail('unknown table');
      current = t;
      tableOf(t);
      return;
    }
    if (line === 'COMMIT') {
      current = undefined;
      return;
    }
    if (!current) fail('rule outside a table');
    const chains = tableOf(current!);
    const find = (name: string) => chains.find((c) => c.name === name) ?? fail(`no chain ${name}`);
    if (line.startsWith(':')) {
      const name = line.slice(1).split(/\s+/)[0]!;
      if (!chains.some((c) => c.name === name)) chains.push({ name, rules: [] });
      return;
    }
    const t = tokenize(line);
    if (t[0] === '-N' && t[1]) {
      if (chains.some((c) => c.name === t[1])) fail('chain already exists');
      chains.push({ name: t[1], rules: [] });
    } else if (t[0] === '-A' && t[1]) {
      find(t[1])!.rules.push(ruleText(line, 2));
    } else if (t[0] === '-I' && t[1]) {
      const c = find(t[1])!;
      const pos = /^\d+$/.test(t[2] ?? '') ? Number(t[2]) : 1;
      if (pos < 1 || pos > c.rules.length + 1) fail('index of insertion too big');
      c.rules.splice(pos - 1, 0, ruleText(line, /^\d+$/.test(t[2] ?? '') ? 3 : 2));
    } else {
      fail('unsupported command');
    }
  });
  const out: Ruleset = { ...base, tables: { filter: base?.tables.filter ?? [], nat: base?.tables.nat ?? [], ...(base?.tables.mangle ? { mangle: base.tables.mangle } : {}), ...(base?.tables.raw ? { raw: base.tables.raw } : {}) } };
  for (const t of known) if (tables[t]) out.tables[t] = tables[t];
  return out;
}

/** The rule of an "-A chain …" / "-I chain n …" line without its first `skip` words, spacing kept. */
function ruleText(line: string, skip: number): string {
  let rest = line;
  for (let i = 0; i < skip; i++) rest = rest.replace(/^\S+\s*/, '');
  return rest;
}
