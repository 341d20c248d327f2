// The selected hop: mechanism, rules walked, and the packet before and after, field by field and
// as bytes.
import { useTranslation } from 'react-i18next';
import { ruleBody } from '../../engine/dataplane/nftWalker.ts';
import { usePodpath } from '../../state/store.ts';
import { HexView } from './HexView.tsx';
import { diffPackets, viewPacket } from './packetDiff.ts';
import { PacketView } from './PacketView.tsx';

export function HopDetail() {
  const { t } = useTranslation();
  const hop = usePodpath((s) => s.trace?.hops[s.activeHop]);
  if (!hop) return null;
  const m = hop.mechanism;
  return (
    <article className="pp-hop-detail" aria-label={t('mechanism')}>
      <h3>
        <span className={`pp-dir pp-dir-${hop.direction}`}>{t(hop.direction)}</span> {m.title}
      </h3>
      <p>{m.detail}</p>
      {m.cite ? (
        <p className="pp-cite">
          {t('source')}: <code>{m.cite}</code>
        </p>
      ) : null}
      {m.rules && m.rules.length > 0 ? (
        <table className="pp-rules">
          <caption>{t('rules')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('chain')}</th>
              <th scope="col">{t('ruleNumber')}</th>
              <th scope="col">{t('rule')}</th>
              <th scope="col">{t('result')}</th>
            </tr>
          </thead>
          <tbody>
            {m.rules.map((r, i) => (
              <tr key={i} className={r.matched ? 'is-matched' : undefined}>
                <td>
                  {r.table}/{r.chain}
                </td>
                <td>{r.ruleNumber}</td>
                <td>
                  <code>{ruleBody(r)}</code>
                </td>
                <td>
                  {r.matched ? t('matched') : t('notMatched')}
                  {r.effect ? ` — ${r.effect}` : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <div className="pp-packets">
        <PacketView title={t('packetBefore')} headers={viewPacket(hop.before)} length={hop.before.length} />
        <PacketView title={t('packetAfter')} headers={diffPackets(hop.before, hop.after)} length={hop.after.length} />
      </div>
      <HexView before={hop.before} after={hop.after} />
    </article>
  );
}

export function VerdictView() {
  const { t } = useTranslation();
  const verdict = usePodpath((s) => s.trace?.verdict);
  const traceError = usePodpath((s) => s.traceError);
  if (traceError) return <p role="alert" className="pp-error">{t('traceError', { message: traceError })}</p>;
  if (!verdict) return null;
  return (
    <p className={`pp-verdict pp-verdict-${verdict.kind}`} role="status" aria-label={t('verdict')}>
      <strong>
        {t('verdict')}: {verdict.kind}
      </strong>{' '}
      — {verdict.message}
    </p>
  );
}
