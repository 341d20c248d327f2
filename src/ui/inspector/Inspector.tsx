import { useTranslation } from 'react-i18next';
import { Playback } from '../playback/Playback.tsx';
import { FlowControls } from './FlowControls.tsx';
import { HopDetail, VerdictView } from './HopDetail.tsx';
import { HopList } from './HopList.tsx';

export function Inspector() {
  const { t } = useTranslation();
  return (
    <section className="pp-inspector" aria-label={t('inspector')}>
      <div className="pp-inspector-top">
        <FlowControls />
        <Playback />
        <VerdictView />
      </div>
      <div className="pp-inspector-body">
        <HopList />
        <HopDetail />
      </div>
    </section>
  );
}
