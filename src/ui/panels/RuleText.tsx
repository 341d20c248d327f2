// Rules as text (iptables-save, a pod's capture rules) with the selected hop's walk on it: matched
// rules marked, tested ones shaded, and the rule that acted scrolled into view. One element per
// line; only the lines the hop walked carry a class, so thousands of lines stay cheap.
import { useEffect, useMemo, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import type { RuleStep } from '../../engine/types.ts';
import { focusLine, markRuleLines } from './iptablesLines.ts';

export function RuleText({ text, rules, label, tabIndex }: { text: string; rules: readonly RuleStep[]; label: string; tabIndex?: number }) {
  const { t } = useTranslation();
  const pre = useRef<HTMLPreElement>(null);
  const marks = useMemo(() => markRuleLines(text, rules), [text, rules]);
  const lines = useMemo(() => {
    const matched = t('matched');
    const notMatched = t('notMatched');
    return text.split('\n').map((line, i) => {
      const m = marks.get(i);
      if (!m) return <span key={i}>{line}{'\n'}</span>;
      const what = m.matched ? matched : notMatched;
      const body = (
        <>
          <span className="pp-sr-only">{what}: </span>
          {line}
          {'\n'}
        </>
      );
      return m.matched ? (
        <mark key={i} title={`${what}: ${m.effect}`} aria-description={m.effect} data-rule="matched">
          {body}
        </mark>
      ) : (
        <span key={i} className="pp-ipt-tested" title={`${what}: ${m.effect}`} aria-description={m.effect} data-rule="tested">
          {body}
        </span>
      );
    });
  }, [text, marks, t]);
  useEffect(() => {
    const el = pre.current;
    const line = focusLine(marks);
    const target = line === undefined ? undefined : (el?.children[line] as HTMLElement | undefined);
    if (el && target) el.scrollTop = Math.max(0, target.offsetTop - el.clientHeight / 2);
  }, [marks]);
  return (
    <>
      {marks.size > 0 ? <p className="pp-muted pp-ipt-legend">{t('iptablesHighlight')}</p> : null}
      <pre ref={pre} aria-label={label} tabIndex={tabIndex}>
        {lines}
      </pre>
    </>
  );
}
