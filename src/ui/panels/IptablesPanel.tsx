// A node's iptables-save text, as the engine generates it. Asked of the engine only while the
// panel is open: at 50 Services the text is tens of kilobytes per node, and fetching it after
// every edit for a closed panel only kept the worker and the main thread busy.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { usePodpath } from '../../state/store.ts';
import type { EngineClient } from '../../worker/client.ts';

interface TextProps {
  client: EngineClient;
  /** The node picked in the select ('' = the first node); kept by the panel across close/open. */
  node: string;
  setNode: (node: string) => void;
}

function IptablesText({ client, node, setNode }: TextProps) {
  const { t } = useTranslation();
  const nodes = usePodpath((s) => s.good?.snapshot.topology.nodes);
  const goodVersion = usePodpath((s) => s.good?.snapshot.version);
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
    <>
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
    </>
  );
}

export function IptablesPanel({ client }: { client: EngineClient }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [node, setNode] = useState('');
  return (
    <details className="pp-iptables" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>{t('iptables')}</summary>
      {open ? <IptablesText client={client} node={node} setNode={setNode} /> : null}
    </details>
  );
}
