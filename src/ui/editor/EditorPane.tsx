import { lazy, Suspense } from 'react';
import { useTranslation } from 'react-i18next';

const MonacoEditor = lazy(() => import('./MonacoEditor.tsx'));

export function EditorPane() {
  const { t } = useTranslation();
  return (
    <section className="pp-editor" aria-label={t('editor')}>
      <Suspense fallback={<p className="pp-muted">{t('editorLoading')}</p>}>
        <MonacoEditor />
      </Suspense>
    </section>
  );
}
