// kube-proxy's nftables test tracer (pkg/proxy/nftables/helpers_test.go, tracePacket), for the
// rule shapes kube-proxy writes: filter-prerouting-pre-dnat (stop on a drop/reject), nat-prerouting,
// the first DNAT replaces the destination, then filter-forward (stop on a verdict) and
// filter-input. "ct state new" always matches; "numgen random mod N vmap {…}" follows every
// endpoint; "fib … type local" is true for the given local IPs; "masq" = a jump to
// mark-for-masquerade was hit. A static analysis of a ruleset, like ruleTracer.ts for iptables.

import { ipInCidr } from '../util/ip.ts';
import type { TracerFlow, TracerResult } from './ruleTracer.ts';

interface NftRuleset {
  sets: Map<string, string[]>;
  maps: Map<string, { key: string; verdict: string }[]>;
  chains: Map<string, string[]>;
}

/** Parse `add set|map|chain|rule|element ip kube-proxy …` statements. */
export function parseNft(lines: string[]): NftRuleset {
  const rs: NftRuleset = { sets: new Map(), maps: new Map(), chains: new Map() };
  for (const raw of lines) {
    const l = raw.trim();
    const m = /^add (\w+) \S+ \S+ (\S+)\s*(.*)$/.exec(l);
    if (!m) continue;
    const [, kind, name, rest] = m as unknown as [string, string, string, string];
    if (kind === 'set') rs.sets.set(name, rs.sets.get(name) ?? []);
    else if (kind === 'map') rs.maps.set(name, rs.maps.get(name) ?? []);
    else if (kind === 'chain') rs.chains.set(name, rs.chains.get(name) ?? []);
    else if (kind === 'rule') {
      if (!rs.chains.has(name)) rs.chains.set(name, []);
      rs.chains.get(name)!.push(rest.replace(/\s+comment "[^"]*"$/, ''));
    } else if (kind === 'element') {
      const body = /^\{ (.*) \}$/.exec(rest)?.[1] ?? '';
      const [keyPart, verdict] = body.split(' : ');
      const key = keyPart!.replace(/ comment "[^"]*"/, '').trim();
      if (rs.maps.has(name)) rs.maps.get(name)!.push({ key, verdict: verdict!.trim() });
      else rs.sets.set(name, [...(rs.sets.get(name) ?? []), key]);
    }
  }
  return rs;
}

interface Pkt { src: string; dst: string; proto: string; dport: number }

function addrMatches(spec: string, ip: string, rs: NftRuleset): boolean {
  if (spec.startsWith('@')) return (rs.sets.get(spec.slice(1)) ?? []).some((e) => addrMatches(e, ip, rs));
  if (spec.startsWith('{')) return spec.replace(/[{}]/g, '').split(',').map((x) => x.trim()).filter(Boolean).some((e) => addrMatches(e, ip, rs));
  return ipInCidr(ip, spec);
}

/** Split a rule into its statements: "ip daddr X", "ip saddr != { … }", "jump y", … */
function tokens(rule: string): string[] {
  const out: string[] = [];
  const re = /\{[^}]*\}|\S+/g;
  for (let m; (m = re.exec(rule)); ) out.push(m[0]);
  return out;
}

export function traceNft(lines: string[], flow: TracerFlow, localIPs: string[]): TracerResult {
  const rs = parseNft(lines);
  const locals = new Set(localIPs);
  const outputs: string[] = [];
  let masq = false;
  let pkt: Pkt = { src: flow.src, dst: flow.dst, proto: flow.proto, dport: flow.dport };

  // Returns a terminal verdict string when the chain ended the packet's traversal.
  const run = (chain: string, depth = 0): string | undefined => {
    const rules = rs.chains.get(chain);
    if (!rules || depth > 32) return undefined;
    for (const rule of rules) {
      const r = evalRule(rule, depth);
      if (r === 'return') return undefined;
      if (r) return r;
    }
    return undefined;
  };

  const verdict = (v: string, depth: number): string | undefined => {
    const [kw, target] = v.split(/\s+/);
    if (kw === 'drop') return (outputs.push('DROP'), 'drop');
    if (kw === 'reject') return (outputs.push('REJECT'), 'reject');
    if (kw === 'accept') return 'accept';
    if (kw === 'return') return 'return';
    if (kw === 'jump') {
      if (target === 'mark-for-masquerade') {
        masq = true;
        return undefined;
      }
      const r = run(target!, depth + 1);
      return r === 'return' ? undefined : r;
    }
    if (kw === 'goto') return run(target!, depth + 1) ?? 'goto-end';
    return undefined;
  };

  const evalRule = (rule: string, depth: number): string | undefined => {
    const t = tokens(rule);
    for (let i = 0; i < t.length; ) {
      const w = t[i]!;
      if (w === 'ct' && t[i + 1] === 'state') {
        i += 3; // "ct state new": only new connections are traced
      } else if ((w === 'ip' || w === 'ip6') && (t[i + 1] === 'daddr' || t[i + 1] === 'saddr')) {
        const field = t[i + 1] === 'daddr' ? pkt.dst : pkt.src;
        // "ip daddr . meta l4proto . th dport vmap @map"
        if (t[i + 2] === '.' && t.slice(i + 3, i + 8).join(' ') === 'meta l4proto . th dport' && t[i + 8] === 'vmap') {
          const key = `${field} . ${pkt.proto} . ${pkt.dport}`;
          const hit = (rs.maps.get(t[i + 9]!.slice(1)) ?? []).find((e) => e.key === key);
          return hit ? verdict(hit.verdict, depth) : undefined;
        }
        const neg = t[i + 2] === '!=';
        const spec = t[i + (neg ? 3 : 2)]!;
        if (addrMatches(spec, field, rs) === neg) return undefined;
        i += neg ? 4 : 3;
      } else if (w === 'meta' && t[i + 1] === 'l4proto' && t[i + 2] === '.' && t[i + 5] === 'vmap') {
        // "meta l4proto . th dport vmap @service-nodeports"
        const key = `${pkt.proto} . ${pkt.dport}`;
        const hit = (rs.maps.get(t[i + 6]!.slice(1)) ?? []).find((e) => e.key === key);
        return hit ? verdict(hit.verdict, depth) : undefined;
      } else if (w === 'meta' && t[i + 1] === 'l4proto' && t[i + 3] === 'dnat') {
        if (t[i + 2] !== pkt.proto) return undefined;
        outputs.push(t[i + 5]!);
        return 'dnat';
      } else if (w === 'fib') {
        const ip = t[i + 1] === 'saddr' ? pkt.src : pkt.dst;
        if (!locals.has(ip)) return undefined;
        i += 4; // "fib saddr type local"
      } else if (w === 'numgen') {
        // "numgen random mod N vmap { 0 : goto a , 1 : goto b }": follow every branch.
        const body = t[i + 5]!.replace(/[{}]/g, '');
        // Branches are "<n> : goto <chain>"; chain names may hold ':' (IPv6 endpoints).
        for (const branch of body.split(' , ')) verdict(branch.slice(branch.indexOf(' : ') + 3).trim(), depth);
        return outputs.length ? 'dnat' : undefined;
      } else if (w === 'update' || w === 'mark' || w === 'masquerade') {
        return undefined; // no effect on the traced outcome
      } else {
        return verdict(t.slice(i).join(' '), depth);
      }
    }
    return undefined;
  };

  const pre = run('filter-prerouting-pre-dnat');
  if (pre === 'drop' || pre === 'reject') return { output: outputs.join(', '), masq };
  run('nat-prerouting');
  const first = outputs[0];
  if (first && first.includes(':') && first !== 'DROP' && first !== 'REJECT') pkt = { ...pkt, dst: first.slice(0, first.lastIndexOf(':')).replace(/^\[|\]$/g, '') };
  const fwd = run('filter-forward');
  if (!(fwd === 'drop' || fwd === 'reject')) run('filter-input');
  return { output: outputs.join(', '), masq };
}
