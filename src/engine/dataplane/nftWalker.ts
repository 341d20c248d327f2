// A packet walk through kube-proxy's nftables table, statement by statement, recording every rule
// it tested. Semantics from the nftables documentation (nft(8): base chains run at their hook in
// priority order; jump returns, goto does not; vmap / numgen apply the verdict they find; a chain
// that ends without a verdict returns to its caller, a base chain falls to its policy, accept)
// and from the kernel (net/netfilter/nft_nat.c, nft_masq.c: a NAT statement ends the base chain
// with accept; nat-type chains run only for a connection's first packet, as for iptables' nat).
// The statement shapes are the ones kube-proxy writes (pkg/proxy/nftables/proxier.go).

import type { RuleStep } from '../types.ts';
import { ipInCidr } from '../util/ip.ts';
import type { CtState, Hook, HookResult, NfPacket } from './netfilter.ts';

interface BaseChain {
  type: 'filter' | 'nat';
  hook: string;
  priority: number;
}

interface NftChain {
  base?: BaseChain;
  /** The rule bodies, without "add rule <family> <table> <chain>". */
  rules: string[];
  /** The full statements, as in the ruleset text (for highlighting lines). */
  lines: string[];
}

export interface NftRuleset {
  /** "ip kube-proxy" or "ip6 kube-proxy". */
  table: string;
  sets: Map<string, string[]>;
  /** Verdict maps, indexed by key ("10.96.0.10 . tcp . 53"). */
  maps: Map<string, Map<string, string>>;
  chains: Map<string, NftChain>;
}

const priorityNames: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };

/** Parse `add table|set|map|chain|rule|element <family> <table> …` statements (as `nft -f` reads them). */
export function parseNft(lines: readonly string[]): NftRuleset {
  const rs: NftRuleset = { table: '', sets: new Map(), maps: new Map(), chains: new Map() };
  const chain = (name: string) => {
    let c = rs.chains.get(name);
    if (!c) rs.chains.set(name, (c = { rules: [], lines: [] }));
    return c;
  };
  for (const raw of lines) {
    const l = raw.trim();
    const m = /^add (\w+) (\S+) (\S+) (\S+)\s*(.*)$/.exec(l);
    if (!m) continue;
    const [, kind, family, table, name, rest] = m as unknown as [string, string, string, string, string, string];
    rs.table ||= `${family} ${table}`;
    if (kind === 'set') rs.sets.set(name, rs.sets.get(name) ?? []);
    else if (kind === 'map') rs.maps.set(name, rs.maps.get(name) ?? new Map());
    else if (kind === 'chain') {
      const c = chain(name);
      const b = /type (\w+) hook (\w+) priority ([-\w]+)/.exec(rest);
      if (b) c.base = { type: b[1] as BaseChain['type'], hook: b[2]!, priority: priorityNames[b[3]!] ?? Number(b[3]) };
    } else if (kind === 'rule') {
      const c = chain(name);
      c.rules.push(rest.replace(/\s+comment "[^"]*"$/, ''));
      c.lines.push(l);
    } else if (kind === 'element') {
      const body = /^\{ (.*) \}$/.exec(rest)?.[1] ?? '';
      const sep = body.indexOf(' : ');
      const keyPart = sep < 0 ? body : body.slice(0, sep);
      const k = keyPart.replace(/ comment "[^"]*"/, '').trim();
      const map = rs.maps.get(name);
      if (map) map.set(k, body.slice(sep + 3).trim());
      else rs.sets.set(name, [...(rs.sets.get(name) ?? []), k]);
    }
  }
  return rs;
}

export interface NftContext {
  localIPs: ReadonlySet<string>;
  ctstate: CtState;
  /** Which branches of "numgen random mod n" to follow: one drawn with the seed, or all (the test tracer). */
  numgen(n: number): number[];
  /** The address masquerade uses: the primary address of the outgoing interface. */
  ifaceAddress(iface: string): string | undefined;
}

type Outcome = 'accept' | 'drop' | 'reject' | 'return' | undefined;

interface State {
  rs: NftRuleset;
  ctx: NftContext;
  steps: RuleStep[];
  packet: NfPacket;
  dnat?: HookResult['dnat'];
  /** Every DNAT destination reached (more than one only when numgen follows every branch). */
  dnats: string[];
  snat?: HookResult['snat'];
  depth: number;
}

/** A rule's words; "{ … }" (a set literal or an anonymous vmap) stays one word. */
function words(rule: string): string[] {
  const out: string[] = [];
  const re = /\{[^}]*\}|\S+/g;
  for (let m; (m = re.exec(rule)); ) out.push(m[0]);
  return out;
}

// Named sets are hash tables (or interval trees for prefixes) in the kernel (nft_set_hash.c,
// nft_set_rbtree.c): a lookup, not a scan. Each set is indexed once: addresses in a Set, prefixes apart.
const setIndex = new WeakMap<string[], { exact: Set<string>; prefixes: string[] }>();
function inNamedSet(elements: string[], ip: string): boolean {
  let ix = setIndex.get(elements);
  if (!ix) setIndex.set(elements, (ix = { exact: new Set(elements.filter((e) => !e.includes('/'))), prefixes: elements.filter((e) => e.includes('/')) }));
  return ix.exact.has(ip) || ix.prefixes.some((c) => ipInCidr(ip, c));
}

function inSpec(spec: string, ip: string, rs: NftRuleset): boolean {
  if (spec.startsWith('@')) return inNamedSet(rs.sets.get(spec.slice(1)) ?? [], ip);
  if (spec.startsWith('{')) return spec.slice(1, -1).split(',').map((x) => x.trim()).filter(Boolean).some((e) => inSpec(e, ip, rs));
  return ipInCidr(ip, spec);
}

const field = (p: NfPacket, f: string) => (f === 'saddr' ? p.src : p.dst);

/**
 * Evaluate one rule. Returns the outcome of its verdict (undefined: the rule did not match or its
 * statements did not end the chain) and fills in the step's `matched` and `effect`.
 */
function evalRule(body: string, step: RuleStep, st: State): Outcome {
  const t = words(body);
  const p = () => st.packet;
  for (let i = 0; i < t.length; ) {
    const w = t[i]!;
    if (w === 'ct' && t[i + 1] === 'state') {
      if (!t[i + 2]!.replace(/[{}]/g, '').split(',').map((s) => s.trim().toUpperCase()).includes(st.ctx.ctstate)) return undefined;
      i += 3;
    } else if ((w === 'ip' || w === 'ip6') && (t[i + 1] === 'daddr' || t[i + 1] === 'saddr')) {
      const v = field(p(), t[i + 1]!);
      if (t[i + 2] === '.') {
        // "ip daddr . meta l4proto . th dport vmap @map"
        step.matched = true;
        return vmap(`${v} . ${p().proto} . ${p().dport}`, t[i + 9]!, step, st);
      }
      const neg = t[i + 2] === '!=';
      const spec = t[i + (neg ? 3 : 2)]!;
      if (inSpec(spec, v, st.rs) === neg) return undefined;
      i += neg ? 4 : 3;
    } else if (w === 'meta' && t[i + 1] === 'l4proto' && t[i + 2] === '.') {
      // "meta l4proto . th dport vmap @service-nodeports"
      step.matched = true;
      return vmap(`${p().proto} . ${p().dport}`, t[i + 6]!, step, st);
    } else if (w === 'meta' && t[i + 1] === 'l4proto') {
      if (t[i + 2] !== p().proto) return undefined;
      i += 3;
    } else if ((w === 'tcp' || w === 'udp' || w === 'th') && t[i + 1] === 'dport') {
      if ((w !== 'th' && w !== p().proto) || Number(t[i + 2]) !== p().dport) return undefined;
      i += 3;
    } else if (w === 'fib') {
      // "fib saddr type local"
      if (!st.ctx.localIPs.has(field(p(), t[i + 1]!))) return undefined;
      i += 4;
    } else if (w === 'mark' && t[i + 1] === 'and') {
      // "mark and 0x4000 == 0"
      const eq = t[i + 3] === '==' ? 4 : 3;
      if (((p().mark & parseInt(t[i + 2]!, 16)) >>> 0) !== Number(t[i + eq])) return undefined;
      i += eq + 1;
    } else if (w === 'mark' && t[i + 1] === 'set') {
      // "mark set mark or 0x4000" / "mark set mark xor 0x4000"
      const before = p().mark;
      const v = parseInt(t[i + 4]!, 16);
      st.packet = { ...p(), mark: (t[i + 3] === 'xor' ? before ^ v : before | v) >>> 0 };
      step.matched = true;
      step.effect = `mark 0x${before.toString(16)} → 0x${st.packet.mark.toString(16)}`;
      i += 5;
    } else if (w === 'update') {
      // "update @affinity-… { ip saddr }": remembers the client for session affinity (not replayed here).
      step.matched = true;
      step.effect = `${t[i + 1]} += ${p().src}`;
      i += 3;
    } else if (w === 'numgen') {
      // "numgen random mod N vmap { 0 : goto a , 1 : goto b }"
      const n = Number(t[i + 3]);
      const branches = t[i + 5]!.slice(1, -1).split(' , ').map((b) => b.trim());
      step.matched = true;
      let out: Outcome;
      const picks = st.ctx.numgen(n);
      const effects: string[] = [];
      for (const k of picks) {
        const b = branches.find((x) => x.startsWith(`${k} : `));
        if (!b) continue;
        const v = b.slice(b.indexOf(' : ') + 3);
        effects.push(`numgen ${k} of ${n} → ${v}`);
        step.effect = effects.join('; ');
        out = verdict(v, st) ?? out;
      }
      if (!picks.length) step.effect = 'numgen: no branch';
      return out;
    } else if (w === 'dnat') {
      // "dnat to 10.244.1.2:80" / "dnat to [fd00::2]:80"
      const to = t[i + 2]!;
      const c = to.lastIndexOf(':');
      const addr = to.slice(0, c).replace(/^\[|\]$/g, '');
      const port = Number(to.slice(c + 1));
      st.dnats.push(to);
      st.dnat ??= { ip: addr, port, rule: step };
      st.packet = { ...p(), dst: addr, dport: port };
      step.matched = true;
      step.effect = `DNAT to ${to}`;
      return 'accept';
    } else if (w === 'masquerade') {
      const addr = p().outIface ? st.ctx.ifaceAddress(p().outIface!) : undefined;
      if (addr) {
        st.packet = { ...p(), src: addr };
        st.snat = { ip: addr, rule: step };
      }
      step.matched = true;
      step.effect = `masquerade${t[i + 1] === 'fully-random' ? ' fully-random' : ''}: source becomes ${addr ?? '?'}`;
      return 'accept';
    } else {
      step.matched = true;
      const v = t.slice(i).join(' ');
      step.effect = v;
      return verdict(v, st);
    }
  }
  step.matched = true;
  if (step.effect === 'no match') step.effect = 'matched';
  return undefined;
}

function vmap(k: string, ref: string, step: RuleStep, st: State): Outcome {
  const v = st.rs.maps.get(ref.slice(1))?.get(k);
  if (v === undefined) {
    step.matched = false;
    step.effect = `${ref}: no element ${k}`;
    return undefined;
  }
  step.effect = `${ref}[${k}] → ${v}`;
  return verdict(v, st);
}

/** Apply a verdict statement: accept, drop, reject, return, jump <chain>, goto <chain>. */
function verdict(v: string, st: State): Outcome {
  const [kw, target] = v.split(/\s+/) as [string, string | undefined];
  if (kw === 'accept' || kw === 'drop' || kw === 'reject' || kw === 'return') return kw;
  if ((kw === 'jump' || kw === 'goto') && target) {
    const r = runChain(target, st);
    // A jumped-to chain that ends (or returns) gives control back to the rule after the jump;
    // a goto never comes back: the calling chain ends here too.
    if (kw === 'goto') return r === 'return' || r === undefined ? 'return' : r;
    return r === 'return' ? undefined : r;
  }
  return undefined;
}

function runChain(name: string, st: State): Outcome {
  const chain = st.rs.chains.get(name);
  if (!chain || st.depth > 32) return undefined;
  st.depth++;
  try {
    for (let i = 0; i < chain.rules.length; i++) {
      const step: RuleStep = { table: st.rs.table, chain: name, ruleNumber: i + 1, text: chain.lines[i]!, matched: false, effect: 'no match' };
      st.steps.push(step);
      const r = evalRule(chain.rules[i]!, step, st);
      if (r) return r;
    }
    return undefined;
  } finally {
    st.depth--;
  }
}

const hookNames: Record<Hook, string> = { PREROUTING: 'prerouting', INPUT: 'input', FORWARD: 'forward', OUTPUT: 'output', POSTROUTING: 'postrouting' };

const baseCache = new WeakMap<NftRuleset, Map<Hook, [string, BaseChain][]>>();

/** The base chains registered at a hook, in priority order (found once per ruleset and hook). */
export function baseChains(rs: NftRuleset, hook: Hook): [string, BaseChain][] {
  let byHook = baseCache.get(rs);
  if (!byHook) baseCache.set(rs, (byHook = new Map()));
  let list = byHook.get(hook);
  if (!list) byHook.set(hook, (list = [...rs.chains].filter(([, c]) => c.base?.hook === hookNames[hook]).map(([n, c]) => [n, c.base!] as [string, BaseChain]).sort((a, b) => a[1].priority - b[1].priority)));
  return list;
}

export interface NftHookResult extends HookResult {
  /** Every DNAT destination reached (several only when every numgen branch was followed). */
  dnats: string[];
}

/**
 * Run one hook's base chains. `natWalk` is false for packets of an existing connection: nat-type
 * chains are skipped (conntrack applies the binding instead).
 */
export function runNftHook(rs: NftRuleset, hook: Hook, packet: NfPacket, ctx: NftContext, natWalk: boolean): NftHookResult {
  const st: State = { rs, ctx, steps: [], packet, dnats: [], depth: 0 };
  for (const [name, base] of baseChains(rs, hook)) {
    if (base.type === 'nat' && !natWalk) continue;
    const r = runChain(name, st);
    if (r === 'drop' || r === 'reject') return { packet: st.packet, verdict: r === 'drop' ? 'DROP' : 'REJECT', steps: st.steps, dnat: st.dnat, snat: st.snat, dnats: st.dnats };
  }
  return { packet: st.packet, verdict: 'ACCEPT', steps: st.steps, dnat: st.dnat, snat: st.snat, dnats: st.dnats };
}

/** A rule step's text without the "add rule <table> <chain> " an nftables statement starts with. */
export function ruleBody(r: RuleStep): string {
  const prefix = `add rule ${r.table} ${r.chain} `;
  return r.text.startsWith(prefix) ? r.text.slice(prefix.length) : r.text;
}
