// The selected hop's frame as bytes: the frame after the hop, marked against the one before, and
// the one before behind a disclosure. A table (offset as row header, hex, ASCII) rather than a
// <pre>, so a screen reader can walk it row by row and announce each row's offset.
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
// The module itself, not the engine's index: the inspector needs only the encoder.
import { encodePacket } from '../../engine/packet/bytes.ts';
import type { Packet } from '../../engine/types.ts';
import type { ByteState, HexRow, HexSegment } from './hexView.ts';
import { countStates, hexRows, markAfter, markBefore } from './hexView.ts';

/** Marked runs get <mark> (and their state as a description) in the hex column only; the ASCII
 *  column repeats the colour without it, so a screen reader does not hear every mark twice. */
function Segments({ segments, announce }: { segments: HexSegment[]; announce: boolean }) {
  const { t } = useTranslation();
  const parts = segments.map((s, i) => {
    if (s.state === 'same') return s.text;
    const className = `pp-hex-${s.state}`;
    return announce ? (
      <mark key={i} className={className} aria-description={t(s.state)} data-state={s.state}>
        {s.text}
      </mark>
    ) : (
      <span key={i} className={className}>
        {s.text}
      </span>
    );
  });
  return <>{parts}</>;
}

function HexTable({ label, rows }: { label: string; rows: HexRow[] }) {
  return (
    <table className="pp-hex" aria-label={label}>
      <tbody>
        {rows.map((r) => (
          <tr key={r.offset}>
            <th scope="row">{r.offset}</th>
            <td className="pp-hex-bytes">
              <Segments segments={r.hex} announce />
            </td>
            <td className="pp-hex-ascii">
              <Segments segments={r.ascii} announce={false} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function HexView({ before, after }: { before: Packet; after: Packet }) {
  const { t } = useTranslation();
  const dump = useMemo(() => {
    const b = encodePacket(before);
    const a = encodePacket(after);
    const afterStates = markAfter(b, a);
    const beforeStates = markBefore(b, a);
    return {
      after: { rows: hexRows(a, afterStates), n: a.length, count: countStates(afterStates) },
      before: { rows: hexRows(b, beforeStates), n: b.length, count: countStates(beforeStates) },
    };
  }, [before, after]);
  const summary = (d: { n: number; count: Record<ByteState, number> }, extra: 'added' | 'removed') =>
    t('hexSummary', { n: d.n, changed: d.count.changed, extra: d.count[extra], extraLabel: t(extra) });

  return (
    <div className="pp-hex-view">
      <h4>
        {t('hexAfter')} <span className="pp-muted">({summary(dump.after, 'added')})</span>
      </h4>
      <HexTable label={t('hexAfter')} rows={dump.after.rows} />
      <details className="pp-hex-before">
        <summary>
          {t('hexBefore')} <span className="pp-muted">({summary(dump.before, 'removed')})</span>
        </summary>
        <HexTable label={t('hexBefore')} rows={dump.before.rows} />
      </details>
    </div>
  );
}
