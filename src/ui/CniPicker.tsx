// Switches the pod network: writes the object the chosen CNI is configured by (flannel's
// kube-flannel-cfg ConfigMap, or a Calico IPPool) into the text, replacing the current one. The
// diagram (tunnel devices appear or vanish) and the trace follow from the text like any edit.
import { useTranslation } from 'react-i18next';
import { CNI_CHOICES, cniChoiceOf, withCni, type CniChoiceKey } from '../scenarios/cniDocs.ts';
import { usePodpath } from '../state/store.ts';

export function CniPicker() {
  const { t } = useTranslation();
  const settings = usePodpath((s) => s.good?.snapshot.topology.settings);
  const current = settings ? cniChoiceOf(settings.cni) : '';
  return (
    <label className="pp-scenario">
      {t('podNetwork')}{' '}
      <select
        value={current}
        disabled={!settings}
        onChange={(e) => {
          const s = usePodpath.getState();
          s.setText(withCni(s.text, e.target.value as CniChoiceKey, settings?.podCIDR));
        }}
      >
        {CNI_CHOICES.map((c) => (
          <option key={c} value={c}>
            {t(`cni.${c}`)}
          </option>
        ))}
      </select>
    </label>
  );
}
