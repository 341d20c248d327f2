// Which flow to trace and with which seed (the seed picks the backend; same seed, same trace), and
// the trace they gave as a pcap for Wireshark or tcpdump -r; and the toggle of the view that
// compares the trace with the same flow and seed under another pod network.
import { useTranslation } from 'react-i18next';
import { useCompare } from '../../state/compare.ts';
import { usePodpath } from '../../state/store.ts';
import { downloadTracePcap } from './pcapDownload.ts';

/** The compare view gives the focus back to this button when it closes. */
export const COMPARE_TOGGLE_ID = 'pp-compare-toggle';

export function FlowControls() {
  const { t } = useTranslation();
  const flows = usePodpath((s) => s.flows);
  const selected = usePodpath((s) => s.selectedFlow);
  const seed = usePodpath((s) => s.seed);
  const trace = usePodpath((s) => s.trace);
  const hasSnapshot = usePodpath((s) => s.good !== null);
  const comparing = useCompare((s) => s.open);
  return (
    <div className="pp-flow-controls">
      <label>
        {t('flow')}{' '}
        <select value={selected ?? ''} onChange={(e) => usePodpath.getState().selectFlow(e.target.value)} disabled={flows.length < 2}>
          {flows.map((f) => (
            <option key={f.name} value={f.name}>
              {f.name}: {f.from} → {f.to}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t('seed')}{' '}
        <input
          type="number"
          min={0}
          value={seed}
          onChange={(e) => usePodpath.getState().setSeed(Number(e.target.value))}
          className="pp-seed"
        />
      </label>
      <button type="button" className="pp-download" onClick={() => trace && downloadTracePcap(trace)} disabled={!trace} title={t('downloadPcapHint')}>
        {t('downloadPcap')}
      </button>
      <button
        type="button"
        id={COMPARE_TOGGLE_ID}
        className="pp-download pp-compare-toggle"
        aria-pressed={comparing}
        onClick={() => useCompare.getState().setOpen(!comparing)}
        disabled={!hasSnapshot && !comparing}
        title={t('compare.buttonHint')}
      >
        {t('compare.button')}
      </button>
    </div>
  );
}
