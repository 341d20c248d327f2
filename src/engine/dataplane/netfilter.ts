// A netfilter walker: evaluates a packet against iptables rules in the kernel's hook order and
// records every rule it tested. Hook/table order (net/ipv4/netfilter, NF_IP_PRI_*): raw < mangle
// < nat (DNAT, in PREROUTING/OUTPUT) < filter < nat (SNAT, in POSTROUTING/INPUT).
// The nat table is consulted only for a connection's first packet (nf_nat_inet_fn looks the
// rules up only when the conntrack entry has no NAT binding yet); later packets reuse the binding.

import type { RuleStep } from '../types.ts';
import type { Prng } from '../util/prng.ts';
import { ipInCidr } from '../util/ip.ts';
import { builtinChains, type Ruleset, type TableName } from './kubeProxyIptables.ts';

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

export interface HookResult {
  packet: NfPacket;
  verdict: 'ACCEPT' | 'DROP' | 'REJECT';
  steps: RuleStep[];
  dnat?: { ip: string; port: number; rule: RuleStep };
  snat?: { ip: string; rule: RuleStep };
}

// Which tables each hook runs, in priority order. raw and mangle hold no rules here.
const hookTables: Record<Hook, TableName[]> = {
  PREROUTING: ['nat'],
  INPUT: ['filter', 'nat'],
  FORWARD: ['filter'],
  OUTPUT: ['nat', 'filter'],
  POSTROUTING: ['nat'],
};

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
      case '-m': arg(); break; // the match module; its options follow
      case '--comment':
        // iptables-save quotes comments with spaces; hand-written rules may not: take words up to the next option.
        arg();
        while (i + 1 < t.length && !t[i + 1]!.startsWith('-') && t[i + 1] !== '!') i++;
        break;
      case '--nfacct-name': arg(); break; // a counter: always matches
      case '-p': { const v = arg(); add((p) => p.proto === v); break; }
      case '-s': { const v = arg(); add((p) => inCidr(v, p.src)); break; }
      case '-d': { const v = arg(); add((p) => inCidr(v, p.dst)); break; }
      case '--dport': { const v = Number(arg()); add((p) => p.dport === v); break; }
      case '--sport': { const v = Number(arg()); add((p) => p.sport === v); break; }
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
      case '--ctstate': {
        r.stateful = true;
        const states = arg().split(',');
        add((_p, c) => states.includes(c.ctstate) || (states.includes('DNAT') && c.ctDnat));
        break;
      }
      case '--mark': {
        r.stateful = true;
        const [v, m] = arg().split('/');
        const value = parseInt(v!, 16);
        const mask = m === undefined ? 0xffffffff : parseInt(m, 16);
        add((p) => ((p.mark & mask) >>> 0) === (value & mask));
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
  steps: RuleStep[];
  packet: NfPacket;
  dnat?: HookResult['dnat'];
  snat?: HookResult['snat'];
  depth: number;
}

type ChainOutcome = 'ACCEPT' | 'DROP' | 'REJECT' | 'RETURN' | undefined;

function walkChain(rs: Ruleset, table: TableName, chainName: string, ctx: NfContext, st: WalkState): ChainOutcome {
  const chain = rs.tables[table].find((c) => c.name === chainName);
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
    switch (target) {
      case 'ACCEPT':
      case 'DROP':
      case 'REJECT':
      case 'RETURN':
        note(target);
        return target;
      case 'MARK': {
        const or = rule.targetArgs['--or-mark'];
        const xor = rule.targetArgs['--xor-mark'];
        const before = st.packet.mark;
        if (or) st.packet = { ...st.packet, mark: (before | parseInt(or, 16)) >>> 0 };
        if (xor) st.packet = { ...st.packet, mark: (before ^ parseInt(xor, 16)) >>> 0 };
        note(`mark 0x${before.toString(16)} → 0x${st.packet.mark.toString(16)}`);
        break;
      }
      case 'DNAT': {
        const to = rule.targetArgs['--to-destination'] ?? '';
        const [ip, port] = to.split(':');
        st.packet = { ...st.packet, dst: ip!, dport: port ? Number(port) : st.packet.dport };
        st.dnat = { ip: ip!, port: st.packet.dport, rule: step };
        note(`DNAT to ${to}`);
        return 'ACCEPT';
      }
      case 'MASQUERADE': {
        const addr = st.packet.outIface ? ctx.ifaceAddress(st.packet.outIface) : undefined;
        if (addr) {
          st.packet = { ...st.packet, src: addr };
          st.snat = { ip: addr, rule: step };
        }
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
  const st: WalkState = { steps: [], packet, depth: 0 };
  for (const table of hookTables[hook]) {
    if (table === 'nat' && !natWalk) continue;
    if (!builtinChains[table].includes(hook)) continue;
    const res = walkChain(rs, table, hook, ctx, st);
    if (res === 'DROP' || res === 'REJECT') return { packet: st.packet, verdict: res, steps: st.steps, dnat: st.dnat, snat: st.snat };
  }
  // Built-in chains' policy is ACCEPT on kubeadm nodes.
  return { packet: st.packet, verdict: 'ACCEPT', steps: st.steps, dnat: st.dnat, snat: st.snat };
}
