import { describe, expect, it } from 'vitest';
import type { RuleStep } from '../../engine/types.ts';
import { focusLine, markRuleLines } from './iptablesLines.ts';

const text = [
  '*filter',
  ':FORWARD ACCEPT [0:0]',
  '-A FORWARD -j KUBE-FORWARD',
  'COMMIT',
  '*nat',
  '-A FORWARD -j KUBE-FORWARD',
  '-A KUBE-SERVICES -d 10.96.0.1 -j KUBE-SVC-A',
  '-A KUBE-SEP-X -j DNAT --to-destination 10.244.2.2:80',
  'COMMIT',
].join('\n');

const step = (table: RuleStep['table'], t: string, matched: boolean, effect: string): RuleStep => ({
  table,
  chain: t.split(' ')[1]!,
  ruleNumber: 1,
  text: t,
  matched,
  effect,
});

describe('markRuleLines', () => {
  it('marks lines equal to a step within the same table section only', () => {
    const marks = markRuleLines(text, [
      step('nat', '-A KUBE-SERVICES -d 10.96.0.1 -j KUBE-SVC-A', false, 'no match'),
      step('nat', '-A KUBE-SEP-X -j DNAT --to-destination 10.244.2.2:80', true, 'DNAT to 10.244.2.2:80'),
      step('filter', '-A FORWARD -j KUBE-FORWARD', true, 'jump KUBE-FORWARD'),
    ]);
    expect([...marks.keys()].sort()).toEqual([2, 6, 7]);
    expect(marks.get(2)).toEqual({ matched: true, effect: 'jump KUBE-FORWARD', order: 2 });
    expect(marks.get(6)).toEqual({ matched: false, effect: 'no match', order: 0 });
    expect(marks.get(7)).toEqual({ matched: true, effect: 'DNAT to 10.244.2.2:80', order: 1 });
    // the view goes to the walk's last matched rule
    expect(focusLine(marks)).toBe(2);
    // the same text in *nat was not walked
    expect(marks.has(5)).toBe(false);
  });

  it('marks nftables statements of the step\'s table, matched by the whole line', () => {
    const nft = [
      '# kube-proxy (nftables mode) ruleset on node-2, as nft -f input',
      'add chain ip kube-proxy services',
      'add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips',
      'add rule ip6 kube-proxy services ip6 daddr . meta l4proto . th dport vmap @service-ips',
      'add rule ip kube-proxy endpoint-X meta l4proto tcp dnat to 10.244.2.2:80',
    ].join('\n');
    const s = (t: string, effect: string): RuleStep => ({ table: 'ip kube-proxy', chain: t.split(' ')[4]!, ruleNumber: 1, text: t, matched: true, effect });
    const marks = markRuleLines(nft, [s('add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips', 'goto service-A'), s('add rule ip kube-proxy endpoint-X meta l4proto tcp dnat to 10.244.2.2:80', 'DNAT to 10.244.2.2:80')]);
    expect([...marks.keys()].sort()).toEqual([2, 4]);
    expect(focusLine(marks)).toBe(4);
  });

  it('returns nothing without rules', () => {
    expect(markRuleLines(text, []).size).toBe(0);
  });
});
