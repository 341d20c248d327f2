// A netfilter walker: evaluates a packet against iptables rules in the kernel's hook order and
// records every rule it tested. Hook/table order (net/ipv4/netfilter, NF_IP_PRI_*): raw < mangle
// < nat (DNAT, in PREROUTING/OUTPUT) < filter < nat (SNAT, in POSTROUTING/INPUT).
// The nat table is consulted only for a connection's first packet (nf_nat_inet_fn looks the
// rules up only when the conntrack entry has no NAT binding yet); later packets reuse the binding.
// raw and mangle are walked when a ruleset has them (Istio's sidecar capture: TPROXY, marks,
// conntrack zones); `restoreNoflush` applies iptables-restore --noflush input to a ruleset.

import type { RuleStep } from '../types.ts';
import type { Prng } from '../util/prng.ts';
import { ipInCidr } from '../util/ip.ts';
import { builtinChains, type NetfilterTable, type Ruleset } from './kubeProxyIptables.ts';

export type Hook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';
export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID';

export interface NfPacket {
  src: string;
  dst: string;
  /** ipip: an IP-in-IP packet (IP protocol 4), which has no ports. */
  proto: 'tcp' | 'udp' | 'ipip';
  sport: number;
  dport: number;
  mark: number;
  inIface?: string;
  outIface?: string;
  /** Owner of the sending socket, for "-m owner" (locally generated packets only; unset: no socket). */
  uid?: number;
  gid?: number;
  /** The connection's mark ("-m connmark", CONNMARK --save-mark / --restore-mark); unset: 0. */
  ctmark?: number;
}

export interface NfContext {
  /** Addresses for which "-m addrtype --dst-type LOCAL" matches (the node's own addresses). */
  localIPs: ReadonlySet<string>;
  ctstate: CtState;
  /** Whether the connection already has a DNAT binding (for "--ctstate DNAT"). */
  ctDnat: boolean;
  rng: Prng;
  /** The address MASQUERADE uses: the primary address of the outgoing interface. */
  ifaceAddress(iface: string): string | undefined;
  /** IPVS mode's ipsets, for "-m set --match-set". */
  ipsets?: Record<string, { type: string; entries: string[] }>;
  /** Bridges whose ports count for "-m physdev --physdev-is-in". */
  bridges?: ReadonlySet<string>;
  /** "-m socket": whether a local socket owns the packet's connection (unset: none does). */
  socket?: (p: NfPacket, opts: { transparent: boolean; nowildcard: boolean }) => boolean;
}

// An ipset of the hash / bitmap types is a hash table in the kernel (net/netfilter/ipset/
// ip_set_hash_gen.h): membership costs one lookup, not a scan. Each set's entries are indexed once.
const indexed = new WeakMap<object, Set<string>>();
function members(set: { entries: string[] }): Set<string> {
  let m = indexed.get(set);
  if (!m) indexed.set(set, (m = new Set(set.entries)));
  return m;
}

/** ipset membership for "-m set --match-set NAME flags" (flags pick which packet fields form the key). */
function inIpset(set: { type: string; entries: string[] } | undefined, flags: string, p: NfPacket): boolean {
  if (!set) return false;
  const field = (f: string, i: number) => {
    if (f === 'dst') return i === 0 ? p.dst : `${p.proto}:${p.dport}`;
    return i === 0 ? p.src : `${p.proto}:${p.sport}`;
  };
  const fs = flags.split(',');
  if (set.type === 'bitmap:port') return members(set).has(String(fs[0] === 'dst' ? p.dport : p.sport));
  if (set.type === 'hash:ip') return members(set).has(fs[0] === 'dst' ? p.dst : p.src);
  const key = [field(fs[0]!, 0), field(fs[1]!, 1)].join(',');
  if (set.type === 'hash:ip,port') return members(set).has(key);
  const third = fs[2] === 'dst' ? p.dst : p.src;
  if (set.type === 'hash:ip,port,ip') return members(set).has(`${key},${third}`);
  // hash:ip,port,net: the third part is a CIDR the address must fall in.
  return set.entries.some((e) => e.startsWith(`${key},`) && ipInCidr(third, e.slice(key.length + 1)));
}

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
export function parseNumber(s: string): number {
  const t = s.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t.slice(2), 16) >>> 0;
  if (/^0[0-7]+$/.test(t)) return parseInt(t, 8) >>> 0;
  return /^\d+$/.test(t) ? Number(t) >>> 0 : NaN;
}

/** "value[/mask]" of --mark, --set-mark, --tproxy-mark … (mask default 0xffffffff). */
function valueMask(s: string): [number, number] {
  const [v, m] = s.split('/');
  return [parseNumber(v ?? ''), m === undefined ? 0xffffffff : parseNumber(m)];
}

/** A port ("80") or range ("1000:2000") as --dport / --dports take them. */
function portMatch(spec: string): (port: number) => boolean {
  const [a, b] = spec.split(':');
  const lo = a === '' ? 0 : Number(a);
  const hi = b === undefined ? lo : b === '' ? 65535 : Number(b);
  return (port) => port >= lo && port <= hi;
}

/** --uid-owner / --gid-owner: a number or "a-b" range; names are not resolved (never match). */
function idMatch(spec: string): (id: number | undefined) => boolean {
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec);
  if (!m) return () => false;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return (id) => id !== undefined && id >= lo && id <= hi;
}

interface ParsedRule {
  text: string;
  tests: ((p: NfPacket, c: NfContext) => boolean)[];
  /** Tests with side conditions the walker cannot model: the rule is treated as not matching. */
  unsupported: string[];
  target?: string;
  targetArgs: Record<string, string>;
  probability?: number;
  /** Tests connection state (conntrack, mark, recent --rcheck). */
  stateful: boolean;
  /** "-m recent --set": the rule records the source address in a recent list. */
  recentSet?: string;
}

const parsedCache = new Map<string, ParsedRule>();

export function tokenize(rule: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m; (m = re.exec(rule)); ) out.push(m[1] ?? m[2]!);
  return out;
}

/** "-o cilium_+": a name ending in "+" matches every interface with that prefix (iptables-extensions(8)). */
function ifaceMatches(spec: string, name: string | undefined): boolean {
  return spec.endsWith('+') ? name !== undefined && name.startsWith(spec.slice(0, -1)) : name === spec;
}

function inCidr(spec: string, ip: string): boolean {
  return ipInCidr(ip, spec);
}

export function parseRule(text: string): ParsedRule {
  const cached = parsedCache.get(text);
  if (cached) return cached;
  const t = tokenize(text);
  const r: ParsedRule = { text, tests: [], unsupported: [], targetArgs: {}, stateful: false };
  let recentName = '';
  let neg = false;
  /** The match module the options that follow belong to ("-m mark" vs "-m connmark" both have --mark). */
  let module = '';
  const sock = { transparent: false, nowildcard: false };
  const add = (f: (p: NfPacket, c: NfContext) => boolean) => {
    const n = neg;
    r.tests.push(n ? (p, c) => !f(p, c) : f);
    neg = false;
  };
  for (let i = 0; i < t.length; i++) {
    const tok = t[i]!;
    const arg = () => t[++i] ?? '';
    switch (tok) {
      case '!': neg = true; break;
      case '-m': {
        // The match module; its options follow. "-m socket" is itself a test (xt_socket).
        module = arg();
        if (module === 'socket') {
          r.stateful = true;
          add((p, c) => c.socket?.(p, sock) ?? false);
        }
        break;
      }
      case '--transparent': sock.transparent = true; break;
      case '--nowildcard': sock.nowildcard = true; break;
      case '--restore-skmark': break;
      case '--comment':
        // iptables-save quotes comments with spaces; hand-written rules may not: take words up to the next option.
        arg();
        while (i + 1 < t.length && !t[i + 1]!.startsWith('-') && t[i + 1] !== '!') i++;
        break;
      case '--nfacct-name': arg(); break; // a counter: always matches
      case '-p': { const v = arg(); add((p) => p.proto === v); break; }
      case '-s': { const v = arg(); add((p) => inCidr(v, p.src)); break; }
      case '-d': { const v = arg(); add((p) => inCidr(v, p.dst)); break; }
      case '--dport': { const m = portMatch(arg()); add((p) => m(p.dport)); break; }
      case '--sport': { const m = portMatch(arg()); add((p) => m(p.sport)); break; }
      // -m multiport: any listed port or range.
      case '--dports': case '--destination-ports': { const ms = arg().split(',').map(portMatch); add((p) => ms.some((m) => m(p.dport))); break; }
      case '--sports': case '--source-ports': { const ms = arg().split(',').map(portMatch); add((p) => ms.some((m) => m(p.sport))); break; }
      case '--ports': { const ms = arg().split(',').map(portMatch); add((p) => ms.some((m) => m(p.dport) || m(p.sport))); break; }
      // -m owner (xt_owner): a packet without a socket fails every non-negated owner test.
      case '--uid-owner': { const m = idMatch(arg()); add((p) => m(p.uid)); break; }
      case '--gid-owner': { const m = idMatch(arg()); add((p) => m(p.gid)); break; }
      case '--socket-exists': add((p) => p.uid !== undefined); break;
      case '--suppl-groups': break; // only the primary group is modelled
      case '-i': { const v = arg(); add((p) => ifaceMatches(v, p.inIface)); break; }
      case '-o': { const v = arg(); add((p) => ifaceMatches(v, p.outIface)); break; }
      case '--dst-type': { const v = arg(); add((p, c) => v === 'LOCAL' && c.localIPs.has(p.dst)); break; }
      case '--src-type': { const v = arg(); add((p, c) => v === 'LOCAL' && c.localIPs.has(p.src)); break; }
      case '--name': recentName = arg(); break;
      case '--seconds': arg(); break;
      case '--reap': break;
      case '--set': r.recentSet = recentName; break;
      case '--rcheck': {
        // A fresh connection's client is in no recent list yet: the check fails (xt_recent).
        r.stateful = true;
        add(() => false);
        break;
      }
      case '--ctstate':
      case '--state': {
        r.stateful = true;
        const states = arg().split(',');
        add((_p, c) => states.includes(c.ctstate) || (states.includes('DNAT') && c.ctDnat));
        break;
      }
      case '--mark': {
        r.stateful = true;
        const [value, mask] = valueMask(arg());
        const conn = module === 'connmark';
        add((p) => (((conn ? p.ctmark ?? 0 : p.mark) & mask) >>> 0) === ((value & mask) >>> 0));
        break;
      }
      case '--match-set': {
        const name = arg();
        const flags = arg();
        add((p, c) => inIpset(c.ipsets?.[name], flags, p));
        break;
      }
      case '--physdev-is-in': add((p, c) => !!p.inIface && !!c.bridges?.has(p.inIface)); break;
      case '--mode': arg(); break;
      case '--probability': r.probability = Number(arg()); neg = false; break;
      case '-j': r.target = arg(); break;
      default:
        if (r.target && tok.startsWith('--')) r.targetArgs[tok] = t[i + 1]?.startsWith('--') ? '' : arg();
        else r.unsupported.push(tok);
    }
  }
  if (parsedCache.size > 20000) parsedCache.clear(); // a memo only: bounded
  parsedCache.set(text, r);
  return r;
}

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
