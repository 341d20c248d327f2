import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import type { Language } from '../state/store.ts';
import { usePodpath } from '../state/store.ts';

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  const language = usePodpath((s) => s.language);
  useEffect(() => {
    void i18n.changeLanguage(language);
    document.documentElement.lang = language;
  }, [i18n, language]);
  return (
    <label className="pp-lang">
      {t('language')}{' '}
      <select value={language} onChange={(e) => usePodpath.getState().setLanguage(e.target.value as Language)}>
        <option value="en">English</option>
        <option value="ja">日本語</option>
      </select>
    </label>
  );
}
