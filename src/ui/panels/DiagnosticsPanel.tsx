// Errors and warnings with their line; a click moves the editor there.
import { useTranslation } from 'react-i18next';
import { usePodpath } from '../../state/store.ts';

export function DiagnosticsPanel() {
  const { t } = useTranslation();
  const diagnostics = usePodpath((s) => s.diagnostics);
  return (
    <section className="pp-diagnostics" aria-label={t('diagnostics')}>
      <h2>
        {t('diagnostics')} <span className="pp-count">{diagnostics.length}</span>
      </h2>
      {diagnostics.length === 0 ? (
        <p className="pp-muted">{t('noDiagnostics')}</p>
      ) : (
        <ul>
          {diagnostics.map((d, i) => (
            <li key={i} className={`pp-diag pp-diag-${d.severity}`}>
              <button type="button" onClick={() => usePodpath.getState().revealLine(d.line, d.col)}>
                <span className="pp-diag-sev">{t(`severity.${d.severity}`)}</span>{' '}
                <span className="pp-diag-pos">{t('lineCol', { line: d.line, col: d.col })}</span>: {d.message}{' '}
                <span className="pp-muted">[{d.code}]</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
