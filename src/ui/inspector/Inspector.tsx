import { useTranslation } from 'react-i18next';
import { useCompare } from '../../state/compare.ts';
import { Playback } from '../playback/Playback.tsx';
import { CompareView } from './CompareView.tsx';
import { FlowControls } from './FlowControls.tsx';
import { HopDetail, VerdictView } from './HopDetail.tsx';
import { HopList } from './HopList.tsx';

export function Inspector() {
  const { t } = useTranslation();
  const comparing = useCompare((s) => s.open);
  return (
    <section className="pp-inspector" aria-label={t('inspector')}>
      <div className="pp-inspector-top">
        <FlowControls />
        <Playback />
        <VerdictView />
      </div>
      {comparing ? (
        <CompareView />
      ) : (
        <div className="pp-inspector-body">
          <HopList />
          <HopDetail />
        </div>
      )}
    </section>
  );
}
