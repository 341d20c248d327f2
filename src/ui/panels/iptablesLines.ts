// Which lines of an iptables-save text a hop's rule walk touched. Pure (unit-tested in Node).
import type { RuleStep } from '../../engine/types.ts';

export interface LineMark {
  matched: boolean;
  /** The effects of the steps on this line, e.g. "DNAT to 10.244.2.2:80". */
  effect: string;
  /** Position in the walk of the last step on this line (the walk's last matched rule is what acted). */
  order: number;
}

/**
 * For each line of `text` (split on "\n"), the mark of the rule steps whose `text` equals the line
 * within the same table section (`*nat` … `COMMIT`), or an nftables `add rule <family> <table> …`
 * line of the step's table. A line tested more than once is matched when
 * any of its steps matched. Returns a sparse map: line index → mark.
 */
export function markRuleLines(text: string, rules: readonly RuleStep[]): Map<number, LineMark> {
  const out = new Map<number, LineMark>();
  if (rules.length === 0) return out;
  const wanted = new Map<string, { steps: RuleStep[]; order: number }>();
  rules.forEach((r, order) => {
    const key = `${r.table}\n${r.text}`;
    const entry = wanted.get(key);
    if (entry) {
      entry.steps.push(r);
      entry.order = order;
    } else wanted.set(key, { steps: [r], order });
  });
  let table = '';
  text.split('\n').forEach((line, i) => {
    if (line.startsWith('*')) table = line.slice(1).trim();
    else if (line === 'COMMIT') table = '';
    else if ((table && line.startsWith('-A ')) || line.startsWith('add rule ')) {
      // nftables statements name their table themselves: "add rule ip kube-proxy <chain> …".
      const key = line.startsWith('add rule ') ? `${line.split(' ', 4).slice(2).join(' ')}\n${line}` : `${table}\n${line}`;
      const entry = wanted.get(key);
      if (!entry) return;
      const effects = [...new Set(entry.steps.map((s) => s.effect))];
      out.set(i, { matched: entry.steps.some((s) => s.matched), effect: effects.join('; '), order: entry.order });
    }
  });
  return out;
}

/** The line to bring into view: the last matched rule of the walk (the one that acted), else the first tested. */
export function focusLine(marks: Map<number, LineMark>): number | undefined {
  let best: [number, LineMark] | undefined;
  for (const [i, m] of marks) {
    if (!best || (m.matched && (!best[1].matched || m.order > best[1].order))) best = [i, m];
  }
  return best?.[0];
}
