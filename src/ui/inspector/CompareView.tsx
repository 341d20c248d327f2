// "Compare pod networks": two hop lists side by side for the same flow and seed. Left, the main
// trace (the text's own pod network); right, the trace compareSync.ts gets for the same text
// rewritten for another pod network. Hops whose kind of mechanism the other side lacks are marked:
// that is where the two pod networks take the packet different ways.
import type { KeyboardEvent } from 'react';
import { memo, useEffect, useMemo, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import type { Hop, Trace } from '../../engine/types.ts';
import { CNI_CHOICES, type CniChoiceKey } from '../../scenarios/cniDocs.ts';
import { compareTarget, useCompare } from '../../state/compare.ts';
import { usePodpath } from '../../state/store.ts';
import { differentBackendNodes, kindsOnlyHere } from './compareHops.ts';
import { COMPARE_TOGGLE_ID } from './FlowControls.tsx';

interface RowProps {
  index: number;
  direction: Hop['direction'];
  kind: string;
  title: string;
  /** Set when the other side has no hop of this kind in this direction: says what it lacks. */
  difference: string | undefined;
}

const CompareRow = memo(function CompareRow({ index, direction, kind, title, difference }: RowProps) {
  const { t } = useTranslation();
  return (
    <li className={`pp-cmp-hop pp-hop-${direction}${difference ? ' is-different' : ''}`} aria-description={difference} title={difference}>
      <span className="pp-cmp-n">{index + 1}</span>
      <span className={`pp-cmp-dir pp-dir-${direction}`} title={t(direction)}>
        <span aria-hidden="true">{direction === 'request' ? '→' : '←'}</span>
        <span className="pp-sr-only">{t(direction)}</span>
      </span>
      <span className="pp-cmp-diff" aria-hidden="true">
        {difference ? '≠' : ''}
      </span>
      <code className="pp-cmp-kind">{kind}</code>
      <span className="pp-cmp-title">{title}</span>
    </li>
  );
});

interface ColumnProps {
  label: string;
  otherLabel: string;
  isCurrent: boolean;
  trace: Trace | null;
  /** Per hop: does the other side lack its kind? */
  marks: boolean[];
  /** The trace shown answers an older question (flow, seed or text) and a newer one is on its way. */
  busy: boolean;
  error: string | null;
}

function CompareColumn({ label, otherLabel, isCurrent, trace, marks, busy, error }: ColumnProps) {
  const { t } = useTranslation();
  return (
    <div className="pp-cmp-col" aria-busy={busy}>
      <h3 className="pp-cmp-head">
        {label}
        {isCurrent ? <span className="pp-cmp-tag">{t('compare.current')}</span> : null}
      </h3>
      {error ? (
        <p role="alert" className="pp-error">
          {t('compare.failed', { cni: label, message: error })}
        </p>
      ) : !trace ? (
        <p className="pp-muted">{t('compare.tracing')}</p>
      ) : (
        <>
          <p className={`pp-cmp-summary pp-verdict-${trace.verdict.kind}`}>
            <strong>{trace.verdict.kind}</strong> · {t('compare.hopCount', { count: trace.hops.length })}
            {trace.backend ? ` · ${t('compare.backend', { pod: trace.backend.podId.split('/').pop(), node: trace.backend.node })}` : ''}
            {busy ? <span className="pp-muted"> · {t('compare.updating')}</span> : null}
          </p>
          <ol className="pp-cmp-hops" aria-label={t('compare.hopsWith', { cni: label })} tabIndex={0}>
            {trace.hops.map((h, i) => (
              <CompareRow
                key={i}
                index={i}
                direction={h.direction}
                kind={h.mechanism.kind}
                title={h.mechanism.title}
                difference={marks[i] ? t('compare.onlyHere', { other: otherLabel, kind: h.mechanism.kind, direction: t(h.direction) }) : undefined}
              />
            ))}
          </ol>
        </>
      )}
    </div>
  );
}

export function CompareView() {
  const { t } = useTranslation();
  const good = usePodpath((s) => s.good);
  const flows = usePodpath((s) => s.flows);
  const selectedFlow = usePodpath((s) => s.selectedFlow);
  const seed = usePodpath((s) => s.seed);
  const trace = usePodpath((s) => s.trace);
  const traceError = usePodpath((s) => s.traceError);
  const chosen = useCompare((s) => s.chosen);
  const result = useCompare((s) => s.result);
  const error = useCompare((s) => s.error);
  const target = useMemo(() => compareTarget({ good, flows, selectedFlow, seed }, chosen), [good, flows, selectedFlow, seed, chosen]);
  const side = result?.trace ?? null;
  const [leftMarks, rightMarks] = useMemo(
    () => (trace && side ? [kindsOnlyHere(trace.hops, side.hops), kindsOnlyHere(side.hops, trace.hops)] : [[], []]),
    [trace, side],
  );
  const picker = useRef<HTMLSelectElement>(null);

  // Opening the view moves the focus into it; closing gives it back to the toggle.
  useEffect(() => picker.current?.focus(), []);
  const close = () => {
    useCompare.getState().setOpen(false);
    document.getElementById(COMPARE_TOGGLE_ID)?.focus();
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      close();
    }
  };

  const current = target?.current;
  const other = target?.other;
  const leftLabel = current ? t(`cni.${current}`) : '';
  // The right column is labelled with the pod network the engine read from the rewritten text.
  const rightCni = result?.cni ?? other;
  const rightLabel = rightCni ? t(`cni.${rightCni}`) : '';
  const backends = trace && side ? differentBackendNodes(trace, side) : null;
  const leftBusy = !!trace && (trace.seed !== seed || trace.flow.name !== selectedFlow);

  return (
    <section className="pp-compare" aria-labelledby="pp-compare-title" onKeyDown={onKeyDown}>
      <div className="pp-compare-bar">
        <h2 id="pp-compare-title">{t('compare.title')}</h2>
        <label>
          {t('compare.with')}{' '}
          <select ref={picker} value={other ?? ''} disabled={!target} onChange={(e) => useCompare.getState().choose(e.target.value as CniChoiceKey)}>
            {CNI_CHOICES.filter((c) => c !== current).map((c) => (
              <option key={c} value={c}>
                {t(`cni.${c}`)}
              </option>
            ))}
          </select>
        </label>
        <span className="pp-cmp-legend">
          <span className="pp-cmp-diff" aria-hidden="true">
            ≠
          </span>{' '}
          {t('compare.legend')}
        </span>
        <button type="button" className="pp-download" onClick={close}>
          {t('compare.close')}
        </button>
      </div>
      {!target ? (
        <p className="pp-muted">{t('noTrace')}</p>
      ) : (
        <>
          {backends ? (
            <p className="pp-cmp-note" role="note">
              {t([current, rightCni].some((c) => c?.startsWith('cilium')) ? 'compare.differentBackendsCilium' : 'compare.differentBackends', {
                mine: backends.mine,
                cni: leftLabel,
                otherNode: backends.other,
                other: rightLabel,
              })}
              {backends.oneStaysOnNode ? <strong> {t('compare.oneStaysOnNode')}</strong> : null}
            </p>
          ) : null}
          <div className="pp-compare-cols">
            <CompareColumn label={leftLabel} otherLabel={rightLabel} isCurrent trace={trace} marks={leftMarks} busy={leftBusy} error={traceError} />
            <CompareColumn
              label={rightLabel}
              otherLabel={leftLabel}
              isCurrent={false}
              trace={side}
              marks={rightMarks}
              busy={result !== null && result.key !== target.key}
              error={error ? error.message : null}
            />
          </div>
        </>
      )}
    </section>
  );
}
