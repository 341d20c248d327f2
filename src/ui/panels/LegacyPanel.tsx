// Istio 0.6 objects (RouteRule, Ingress of class "istio") beside what replaced them: the object as
// written on the left, the VirtualService / DestinationRule / Gateway the engine simulates in its
// place on the right (computed in the engine: mesh/legacyView.ts). There only when the text holds
// such objects; a button moves the editor to the object, as a diagnostic does.
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { LegacyTranslation } from '../../engine/mesh/legacyView.ts';
import { usePodpath } from '../../state/store.ts';

const NONE: LegacyTranslation[] = [];

function LegacyObject({ item }: { item: LegacyTranslation }) {
  const { t } = useTranslation();
  const names = { kind: item.kind, name: item.name };
  return (
    <article className="pp-legacy-object" aria-label={t('legacy.object', names)}>
      <h3>{t('legacy.object', names)}</h3>
      {item.diagnostics.length ? (
        <ul className="pp-legacy-notes">
          {item.diagnostics.map((d, i) => (
            <li key={i} className={`pp-diag-${d.severity}`}>
              {d.message} <span className="pp-muted">[{d.code}]</span>
            </li>
          ))}
        </ul>
      ) : null}
      <button type="button" className="pp-legacy-jump" onClick={() => usePodpath.getState().revealLine(item.lines.from)}>
        {t('legacy.jump', item.lines)}
      </button>
      <div className="pp-legacy-columns">
        <div>
          <h4>{t('legacy.original')}</h4>
          <pre tabIndex={0} aria-label={t('legacy.originalLabel', names)}>{item.original}</pre>
        </div>
        <div>
          <h4>{t('legacy.translated')}</h4>
          <pre tabIndex={0} aria-label={t('legacy.translatedLabel', names)}>{item.translated}</pre>
        </div>
      </div>
      {item.untranslated.length ? <p className="pp-legacy-untranslated">{t('legacy.untranslated', { fields: item.untranslated.join(', ') })}</p> : null}
    </article>
  );
}

export function LegacyPanel() {
  const { t } = useTranslation();
  const items = usePodpath((s) => s.good?.snapshot.legacyTranslations ?? NONE);
  const [open, setOpen] = useState(true);
  const id = useId();
  if (!items.length) return null;
  // The disclosure is a button inside the heading (the WAI-ARIA accordion pattern), so the
  // region keeps a real heading.
  return (
    <section className="pp-legacy" aria-label={t('legacy.title')}>
      <h2>
        <button type="button" aria-expanded={open} aria-controls={`${id}-body`} onClick={() => setOpen(!open)}>
          <span aria-hidden="true" className="pp-legacy-caret">{open ? '▾' : '▸'} </span>
          {t('legacy.title')} <span className="pp-count">{items.length}</span>
        </button>
      </h2>
      <div id={`${id}-body`} className="pp-legacy-body" hidden={!open}>
        <p className="pp-muted pp-legacy-intro">{t('legacy.intro')}</p>
        {items.map((item) => (
          <LegacyObject key={`${item.source.doc}:${item.kind}/${item.namespace}/${item.name}`} item={item} />
        ))}
      </div>
    </section>
  );
}
