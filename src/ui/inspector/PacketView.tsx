import { useTranslation } from 'react-i18next';
import type { HeaderView } from './packetDiff.ts';

export function PacketView({ title, headers, length }: { title: string; headers: HeaderView[]; length: number }) {
  const { t } = useTranslation();
  return (
    <section className="pp-packet-view" aria-label={title}>
      <h4>
        {title} <span className="pp-muted">({t('bytes', { n: length })})</span>
      </h4>
      {headers.map((h, i) => (
        <div key={i} className={`pp-header pp-header-${h.state}`} role="group" aria-label={h.label}>
          <div className="pp-header-label">
            {h.label}
            {h.state !== 'same' ? <span className="pp-badge">{t(h.state)}</span> : null}
          </div>
          <dl>
            {h.fields.map((f) => (
              <div key={f.name} className="pp-field">
                <dt>{f.name}</dt>
                <dd>
                  {f.state === 'changed' ? (
                    <mark>
                      {f.value}
                      <span className="pp-sr-only"> ({t('changed')})</span>
                    </mark>
                  ) : (
                    f.value
                  )}
                </dd>
              </div>
            ))}
          </dl>
        </div>
      ))}
    </section>
  );
}
