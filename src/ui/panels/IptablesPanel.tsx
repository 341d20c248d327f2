// A node's iptables-save text, as the engine generates it.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { usePodpath } from '../../state/store.ts';
import type { EngineClient } from '../../worker/client.ts';

export function IptablesPanel({ client }: { client: EngineClient }) {
  const { t } = useTranslation();
  const nodes = usePodpath((s) => s.good?.snapshot.topology.nodes);
  const goodVersion = usePodpath((s) => s.good?.snapshot.version);
  const [node, setNode] = useState('');
  const [text, setText] = useState('');
  const current = node || nodes?.[0]?.name || '';

  useEffect(() => {
    if (!current) return;
    let live = true;
    void client.iptablesSave(current).then((r) => {
      if (live) setText(r.ok ? r.value : r.error);
    });
    return () => {
      live = false;
    };
  }, [client, current, goodVersion]);

  return (
    <details className="pp-iptables">
      <summary>{t('iptables')}</summary>
      <label>
        {t('node')}{' '}
        <select value={current} onChange={(e) => setNode(e.target.value)}>
          {(nodes ?? []).map((n) => (
            <option key={n.name} value={n.name}>
              {n.name}
            </option>
          ))}
        </select>
      </label>
      <pre aria-label={`${t('iptables')} ${current}`}>{text}</pre>
    </details>
  );
}
