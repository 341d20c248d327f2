import { useTranslation } from 'react-i18next';
import { usePodpath } from '../../state/store.ts';

export function StatusBar() {
  const { t } = useTranslation();
  const status = usePodpath((s) => s.status);
  const workerError = usePodpath((s) => s.workerError);
  return (
    <div className="pp-status-line">
      <p role="status" className={`pp-status pp-status-${status}`}>
        {t(`status.${status}`)}
      </p>
      {workerError ? (
        <p role="alert" className="pp-error">
          {t('workerError', { message: workerError })}
        </p>
      ) : null}
    </div>
  );
}
