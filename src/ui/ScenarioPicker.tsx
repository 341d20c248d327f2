// Loads a built-in scenario into the editor. Picking one replaces the text (it then persists like
// any edit); while the text matches none, the picker says so.
import { useTranslation } from 'react-i18next';
import { defaultScenario } from '../scenarios/default.ts';
import { nodePortScenario } from '../scenarios/nodePort.ts';
import { bookinfoScenario } from '../scenarios/bookinfo.ts';
import { circuitBreakingScenario } from '../scenarios/circuitBreaking.ts';
import { egressGatewayScenario } from '../scenarios/egressGateway.ts';
import { usePodpath } from '../state/store.ts';

const SCENARIOS = [
  { key: 'default', text: defaultScenario },
  { key: 'nodePort', text: nodePortScenario },
  { key: 'bookinfo', text: bookinfoScenario },
  { key: 'circuitBreaking', text: circuitBreakingScenario },
  { key: 'egressGateway', text: egressGatewayScenario },
] as const;

export function ScenarioPicker() {
  const { t } = useTranslation();
  const current = usePodpath((s) => SCENARIOS.find((sc) => sc.text === s.text)?.key ?? '');
  return (
    <label className="pp-scenario">
      {t('scenario')}{' '}
      <select
        value={current}
        onChange={(e) => {
          const sc = SCENARIOS.find((x) => x.key === e.target.value);
          if (sc) usePodpath.getState().loadScenario(sc.text);
        }}
      >
        {current === '' ? (
          <option value="" disabled>
            {t('scenarios.custom')}
          </option>
        ) : null}
        {SCENARIOS.map((sc) => (
          <option key={sc.key} value={sc.key}>
            {t(`scenarios.${sc.key}`)}
          </option>
        ))}
      </select>
    </label>
  );
}
