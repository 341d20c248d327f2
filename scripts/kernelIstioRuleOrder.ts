// Step 1 of the Istio kernel check (scripts/kernelIstio.ts): the capture rules loaded as
// istio-iptables loads them, and their order judged by the kernel. The engine writes the restore
// input (captureRestore); it is applied to the pod namespace with `iptables-restore --noflush` (and
// `ip6tables-restore --noflush` for an IPv6 block), then the routing commands
// (captureRouteCommands: TPROXY policy routing, ::6 on lo). The kernel must accept all of it. Then
// `iptables-save` of the namespace must hold exactly the chains the engine's own application of
// that input (restoreNoflush, used by the walker) says they hold, rule for rule and in order — so
// every `-I <chain> <n>` landed where the engine put it. Both sides are normalised by iptables
// itself: the engine's final chains are loaded, as plain -A rules, into a second namespace and
// saved back.
import type { NetfilterTable, Ruleset } from '../src/engine/dataplane/kubeProxyIptables.ts';
import { tableBuiltins } from '../src/engine/dataplane/netfilter.ts';
import { captureRestore, captureRouteCommands, type IstioCaptureConfig } from '../src/engine/istio/captureRules.ts';
import type { CaptureRulesets } from '../src/engine/istio/captureWalk.ts';
import { inNs, inNsInput, stderrOf, type Family, type Lab } from './kernelIstioLab.ts';

// ---------------------------------------------------------------------------------------------
// iptables-save text.

interface SavedRule {
  text: string;
  packets: number;
  target: string;
}
type SavedTable = Map<string, SavedRule[]>; // chain (declaration order) → rules
export type Saved = Map<string, SavedTable>;

export function parseSave(text: string): Saved {
  const out: Saved = new Map();
  let t: SavedTable | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      t = new Map();
      out.set(line.slice(1).trim(), t);
      continue;
    }
    if (!t) continue;
    const c = /^:(\S+) /.exec(line);
    if (c) {
      t.set(c[1]!, []);
      continue;
    }
    const r = /^(?:\[(\d+):\d+\] )?-A (\S+) (.*)$/.exec(line);
    if (!r) continue;
    const targets = [...` ${r[3]}`.matchAll(/ -[jg] (\S+)/g)];
    if (!t.has(r[2]!)) t.set(r[2]!, []);
    t.get(r[2]!)!.push({ text: r[3]!, packets: Number(r[1] ?? 0), target: targets.at(-1)?.[1] ?? '' });
  }
  return out;
}

export const builtinsOf = (table: string) => tableBuiltins[table as NetfilterTable] ?? [];

/** The engine's final chains as iptables-restore input made of -A rules only (no -I, no --noflush). */
function renderEngine(rs: Ruleset): string {
  let out = '';
  for (const [table, chains] of Object.entries(rs.tables)) {
    if (!chains || !chains.some((c) => c.rules.length || !builtinsOf(table).includes(c.name))) continue;
    out += `*${table}\n`;
    for (const c of chains) out += builtinsOf(table).includes(c.name) ? `:${c.name} ACCEPT [0:0]\n` : `:${c.name} - [0:0]\n`;
    for (const c of chains) for (const r of c.rules) out += `-A ${c.name} ${r}\n`;
    out += 'COMMIT\n';
  }
  return out;
}

/** The first difference between two saved states (tables holding rules or own chains; built-in declarations aside). */
function layoutDifference(kernel: Saved, engine: Saved): string | undefined {
  const used = (s: Saved) =>
    new Set([...s].filter(([name, t]) => [...t].some(([c, rules]) => rules.length || !builtinsOf(name).includes(c))).map(([name]) => name));
  const [kt, et] = [used(kernel), used(engine)];
  for (const name of new Set([...kt, ...et])) {
    if (!kt.has(name)) return `table ${name}: the engine has rules in it, the kernel none`;
    if (!et.has(name)) return `table ${name}: the kernel has rules in it, the engine none`;
    const [k, e] = [kernel.get(name)!, engine.get(name)!];
    const own = (t: SavedTable) => [...t.keys()].filter((c) => !builtinsOf(name).includes(c)).sort().join(' ');
    if (own(k) !== own(e)) return `table ${name}: the kernel has chains {${own(k)}}, the engine {${own(e)}}`;
    for (const chain of new Set([...k.keys(), ...e.keys()])) {
      const [kr, er] = [k.get(chain) ?? [], e.get(chain) ?? []];
      for (let i = 0; i < Math.max(kr.length, er.length); i++) {
        if (kr[i]?.text !== er[i]?.text) return `${name} ${chain} rule ${i + 1}: the kernel holds ${JSON.stringify(kr[i]?.text ?? '(nothing)')}, the engine ${JSON.stringify(er[i]?.text ?? '(nothing)')}`;
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------

/**
 * Load the case's capture rules into `pod` and compare iptables-save with the engine's chains.
 * The state iptables-save gives, per family; undefined when the kernel refused the input (the
 * failure has been reported).
 */
export function loadCaptureRules(lab: Lab, pod: string, tag: string, cfg: IstioCaptureConfig, rulesets: CaptureRulesets, label: string, fail: (msg: string) => void): Record<Family, Saved> | undefined {
  const restore = captureRestore(cfg);
  try {
    inNsInput(pod, restore.ipv4, 'iptables-restore', '--noflush');
  } catch (e) {
    fail(`${label}: the kernel refused the IPv4 restore input: ${stderrOf(e)}`);
    return undefined;
  }
  if (restore.ipv6) {
    try {
      inNsInput(pod, restore.ipv6, 'ip6tables-restore', '--noflush');
    } catch (e) {
      fail(`${label}: the kernel refused the IPv6 restore input: ${stderrOf(e)}`);
      return undefined;
    }
  }
  for (const cmd of captureRouteCommands(cfg)) {
    try {
      inNs(pod, ...cmd.split(/\s+/));
    } catch (e) {
      fail(`${label}: "${cmd}" failed: ${stderrOf(e)}`);
      return undefined;
    }
  }
  const saved: Record<Family, Saved> = { '4': parseSave(inNs(pod, 'iptables-save')), '6': parseSave(inNs(pod, 'ip6tables-save')) };
  // The engine's chains, normalised by iptables in a namespace of their own.
  const ref = lab.ns(`${tag}-ref`);
  const rendered: Record<Family, string> = { '4': renderEngine(rulesets.ipv4), '6': renderEngine(rulesets.ipv6) };
  const layoutProblems: string[] = [];
  const count = (s: Saved) => [...s.values()].flatMap((t) => [...t.values()]).reduce((n, r) => n + r.length, 0);
  for (const fam of ['4', '6'] as Family[]) {
    let engineSaved: Saved = new Map();
    if (rendered[fam]) {
      try {
        inNsInput(ref, rendered[fam], fam === '6' ? 'ip6tables-restore' : 'iptables-restore');
        engineSaved = parseSave(inNs(ref, fam === '6' ? 'ip6tables-save' : 'iptables-save'));
      } catch (e) {
        layoutProblems.push(`IPv${fam}: the engine's final chains do not load as -A rules: ${stderrOf(e)}`);
        continue;
      }
    }
    const d = layoutDifference(saved[fam], engineSaved);
    if (d) layoutProblems.push(`IPv${fam} ${d}`);
  }
  if (layoutProblems.length) fail(`${label}: iptables-save after the --noflush load differs from the engine's ruleset: ${layoutProblems.join('; ')}`);
  else {
    const n4 = count(saved['4']);
    const n6 = count(saved['6']);
    console.log(`ok   ${label}: the kernel accepted the restore input${restore.ipv6 ? ' (IPv4 and IPv6)' : ''}${captureRouteCommands(cfg).length ? ' and the route commands' : ''}; iptables-save holds the engine's ${n4}${restore.ipv6 ? ` + ${n6}` : ''} rules, chain by chain in order`);
  }
  return saved;
}
